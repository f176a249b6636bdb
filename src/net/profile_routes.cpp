#include "net/profile_routes.hpp"

#include <algorithm>

#include "chat/clock.hpp"
#include "chat/messages.hpp"
#include "protocol/names.hpp"
#include "protocol/time_format.hpp"
#include "protocol/token.hpp"

namespace chat::net {

namespace http = boost::beast::http;
using nlohmann::json;

namespace {

json profile_json(const profile& p) {
  return {{"user", p.user},
          {"name", p.name},
          {"status", p.status},
          {"updated", p.ts > 0 ? json(protocol::format_ts(p.ts)) : json(nullptr)}};
}

/// With an auth secret only a token of `user` may write their profile.
std::optional<http_response> refuse_writer(server_context& ctx, const http_request& req, const std::string& user) {
  if (ctx.cfg.auth_secret.empty())
    return std::nullopt;
  auto checked = checked_token(ctx, req);
  if (auto* refusal = std::get_if<http_response>(&checked))
    return std::move(*refusal);
  if (std::get<protocol::token_claims>(checked).sub != user)
    return json_error(req, http::status::forbidden, "forbidden", "only your own profile can be written");
  return std::nullopt;
}

http_response write_profile(server_context& ctx, const http_request& req, const std::string& user) {
  if (auto no = refuse_writer(ctx, req, user))
    return std::move(*no);
  auto body = parse_profile_body(req.body());
  if (!body.error.empty())
    return json_error(req, http::status::bad_request, body.error, body.message);
  profile p{user, std::move(body.name), std::move(body.status), 0, ctx.cfg.node_name};
  // Later than what this node holds even if the wall clock went back:
  // the write is the newest here, and last writer wins on every node.
  p.ts = std::max(wall_micros(), ctx.store->profile_of(user).ts + 1);
  if (ctx.store->merge_profile(p) == history_store::mark_result::failed)
    return json_error(req, http::status::service_unavailable, "internal", "the profile was not stored, try again");
  if (auto ps = lookup<profile_store_actor>(ctx.sys, registry_name::profile_store))
    caf::anon_send(ps, profile_put_atom::value, p, local_proof{});
  return json_reply(req, http::status::ok, profile_json(p));
}

} // namespace

http_response profile_route(server_context& ctx, const http_request& req, const std::string& user) {
  if (!protocol::valid_user(user))
    return json_error(req, http::status::bad_request, "bad_request", "invalid user name");
  if (req.method() == http::verb::get || req.method() == http::verb::head)
    return json_reply(req, http::status::ok, profile_json(ctx.store->profile_of(user)));
  if (req.method() == http::verb::put)
    return write_profile(ctx, req, user);
  return json_error(req, http::status::method_not_allowed, "bad_request", "use GET or PUT");
}

} // namespace chat::net
