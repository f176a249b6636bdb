#pragma once

#include <caf/all.hpp>

namespace chat::cluster {

/// The one actor a node publishes on its cluster port. It never restarts, so
/// its handle stays valid for peers; asked with (pg_peer), it answers with the
/// node's current process-group scope, which may have been restarted.
/// Asked with (peer_addr), it answers with the node's public URL, which
/// /api/cluster lists for every peer.
caf::behavior portal(caf::event_based_actor* self, std::string public_url);

} // namespace chat::cluster
