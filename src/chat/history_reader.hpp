#pragma once

#include <memory>

#include <caf/all.hpp>

#include "chat/history_store.hpp"

namespace chat {

/// Answers scrollback requests (history_atom, room, before id, limit) with a
/// `scrollback`. Spawned detached: a read may wait on the disk, and no
/// actor that serves live traffic may.
caf::behavior history_reader(caf::event_based_actor* self, std::shared_ptr<history_store> store);

} // namespace chat
