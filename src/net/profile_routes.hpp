#pragma once

#include <string>

#include "net/routes.hpp"

namespace chat::net {

/// GET and PUT /api/users/USER/profile: a user's display name and status
/// (docs/protocol.md, "Profiles"). A PUT is stored here at once and handed
/// to the profile store, which sends it to every other node.
http_response profile_route(server_context& ctx, const http_request& req, const std::string& user);

} // namespace chat::net
