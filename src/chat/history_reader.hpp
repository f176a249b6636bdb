#pragma once

#include <memory>

#include <caf/all.hpp>

#include "chat/history_store.hpp"

namespace chat {

/// Reads the history store for others: scrollback requests (history_atom,
/// room, before id, limit) with a `scrollback`; for the chat server, this
/// node's marks and the pages of a peer's pull. Spawned detached: a read may
/// wait on the disk, and a pull scans every room, and no actor that serves
/// live traffic may.
caf::behavior history_reader(caf::event_based_actor* self, std::shared_ptr<history_store> store);

} // namespace chat
