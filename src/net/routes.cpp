#include "net/routes.hpp"

#include <chrono>
#include <thread>

#include <caf/scheduler/abstract_coordinator.hpp>
#include <nlohmann/json.hpp>

#include "chat/clock.hpp"
#include "chat/messages.hpp"
#include "net/history_query.hpp"
#include "net/metrics_page.hpp"
#include "net/origin_check.hpp"
#include "net/profile_routes.hpp"
#include "net/upgrade.hpp"
#include "net/websocket_session.hpp"
#include "protocol/frames.hpp"
#include "protocol/names.hpp"
#include "protocol/token.hpp"

std::string_view web_asset(std::string_view name);

namespace chat::net {

namespace http = boost::beast::http;
using nlohmann::json;

namespace {

http_response reply(const http_request& req, http::status status, std::string_view content_type, std::string body);

} // namespace

http_response json_reply(const http_request& req, http::status status, const json& body) {
  return reply(req, status, "application/json", protocol::dump(body));
}

std::variant<protocol::token_claims, http_response> checked_token(server_context& ctx, const http_request& req) {
  std::optional<std::string_view> authorization;
  if (auto h = req.find(http::field::authorization); h != req.end())
    authorization = h->value();
  auto token = token_from(req.target(), authorization);
  if (token.empty())
    return json_error(req, http::status::unauthorized, "unauthorized",
                      "a token is required (?token= or Authorization: Bearer)");
  auto claims = protocol::verify_token(token, ctx.cfg.auth_secret, wall_micros() / 1000000);
  if (!claims)
    return json_error(req, http::status::unauthorized, "unauthorized", "invalid or expired token");
  return std::move(*claims);
}

namespace {

http_response reply(const http_request& req, http::status status, std::string_view content_type, std::string body) {
  http_response res{status, req.version()};
  res.set(http::field::server, "chatd");
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

http_response asset(const http_request& req, std::string_view name, std::string_view type) {
  auto body = web_asset(name);
  if (body.empty())
    return json_error(req, http::status::not_found, "not_found", "asset missing from this build");
  return reply(req, http::status::ok, type, std::string(body));
}

json cluster_json(server_context& ctx) {
  auto info = ctx.stats->cluster();
  json peers = json::array();
  for (const auto& p : info.peers) {
    json peer{{"node", p.node}, {"node_id", p.node_id}, {"addr", p.addr}};
    // A peer's URL is the peer's word; pages fail over to what is listed
    // here, so only URLs whose origin this node allows are passed on.
    if (peer_url_allowed(p.url, ctx.cfg.allowed_origins))
      peer["url"] = p.url;
    peers.push_back(std::move(peer));
  }
  // DM rooms and inboxes say who writes to whom and who is online: never in
  // a public view.
  for (auto it = info.group_sizes.begin(); it != info.group_sizes.end();) {
    bool hide = private_group(it->first) || (!room_of(it->first).empty() && rooms_hidden(ctx));
    it = hide ? info.group_sizes.erase(it) : std::next(it);
  }
  return {{"node", ctx.cfg.node_name},
          {"node_id", to_string(ctx.sys.node())},
          {"url", ctx.cfg.public_url},
          {"cluster_addr", ctx.cfg.advertise_addr + ":" + std::to_string(ctx.cfg.cluster_port)},
          {"ready", ctx.stats->ready.load()},
          {"draining", ctx.stats->draining.load()},
          {"peers", std::move(peers)},
          {"groups", info.group_sizes}};
}

/// With an auth secret: a refusal unless the request carries a valid token
/// (?token= or Authorization: Bearer) that allows `room`; a DM room only to
/// a token of one of its two users. Without a secret, DM rooms are not
/// served here at all: there is no user to check.
std::optional<http_response> refuse_reader(server_context& ctx, const http_request& req, const std::string& room) {
  if (ctx.cfg.auth_secret.empty()) {
    if (protocol::is_dm_room(room))
      return json_error(req, http::status::forbidden, "forbidden",
                        "direct messages are served over HTTP only with tokens (--auth-secret)");
    return std::nullopt;
  }
  auto checked = checked_token(ctx, req);
  if (auto* refusal = std::get_if<http_response>(&checked))
    return std::move(*refusal);
  const auto* claims = &std::get<protocol::token_claims>(checked);
  if (!protocol::may_hold(claims->sub, room))
    return json_error(req, http::status::forbidden, "forbidden", "a conversation of two other users");
  if (claims->rooms && !claims->rooms->count(room) && !protocol::own_dm_room(claims->sub, room))
    return json_error(req, http::status::forbidden, "forbidden", "the token does not allow this room");
  return std::nullopt;
}

http_response room_history(server_context& ctx, const http_request& req, const std::string& room) {
  if (auto no = refuse_reader(ctx, req, room))
    return std::move(*no);
  if (!protocol::valid_room(room))
    return json_error(req, http::status::bad_request, "bad_request", "invalid room name");
  auto query = parse_history_query(req.target());
  if (!query.error.empty())
    return json_error(req, http::status::bad_request, "bad_request", query.error);
  if (!query.before) {
    json arr = json::array();
    for (const auto& m : ctx.store->window(room))
      arr.push_back(protocol::message_json(m));
    return json_reply(req, http::status::ok, arr);
  }
  // Scrollback, as the WebSocket `history` request answers it.
  const auto& before = *query.before;
  auto page = ctx.store->before(room, before, query.limit);
  if (!page.found)
    return json_error(req, http::status::not_found, "not_found", "no such message in this room's history here");
  json arr = json::array();
  for (const auto& m : page.messages)
    arr.push_back(protocol::message_json(m));
  return json_reply(req, http::status::ok,
                    {{"room", room}, {"before", before}, {"messages", std::move(arr)}, {"more", page.more}});
}

#ifdef CHAT_FAULT_HOOKS
http_response debug(server_context& ctx, const http_request& req, std::string_view path) {
  if (!ctx.cfg.debug_endpoints)
    return json_error(req, http::status::not_found, "not_found", "no such path");
  if (req.method() != http::verb::post)
    return json_error(req, http::status::method_not_allowed, "bad_request", "use POST");
  if (path == "/debug/crash/chat_server") {
    auto cs = lookup<chat_server_actor>(ctx.sys, registry_name::chat_server);
    if (!cs)
      return json_error(req, http::status::service_unavailable, "internal", "no chat server right now");
    if (parse_query(req.target())["when"] == "next_publish") {
      caf::anon_send(cs, crash_on_publish_atom::value, local_proof{});
      return json_reply(req, http::status::ok, {{"crashes", "chat_server"}, {"when", "next_publish"}});
    }
    caf::anon_send(cs, crash_atom::value, local_proof{});
    return json_reply(req, http::status::ok, {{"crashed", "chat_server"}});
  }
  if (path == "/debug/stall/actors") {
    // Occupies every CAF scheduler thread for ms milliseconds: a node whose
    // actors are swamped, for the /healthz test.
    auto q = parse_query(req.target());
    long ms = 0;
    try {
      ms = std::stol(q["ms"]);
    } catch (const std::exception&) {}
    if (ms < 1 || ms > 30000)
      return json_error(req, http::status::bad_request, "bad_request", "ms must be 1 to 30000");
    auto workers = ctx.sys.scheduler().num_workers();
    for (std::size_t i = 0; i < workers; ++i)
      ctx.sys.spawn([ms](caf::event_based_actor* self) {
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        self->quit();
      });
    return json_reply(req, http::status::ok, {{"stalled", workers}, {"ms", ms}});
  }
  const std::string_view prefix = "/debug/crash/session/";
  if (path.substr(0, prefix.size()) == prefix) {
    auto s = ctx.sessions.find(std::string(path.substr(prefix.size())));
    if (!s)
      return json_error(req, http::status::not_found, "not_found", "no such session");
    caf::anon_send(s->actor(), crash_atom::value, local_proof{});
    return json_reply(req, http::status::ok, {{"crashed", s->id()}});
  }
  return json_error(req, http::status::not_found, "not_found", "no such path");
}
#endif

} // namespace

http_response json_error(const http_request& req, http::status status, const std::string& code,
                         const std::string& message) {
  auto res = json_reply(req, status, {{"error", code}, {"message", message}});
  return res;
}

http_response health_response(server_context& ctx, const http_request& req, const std::string& error) {
  if (!error.empty())
    return json_reply(req, http::status::service_unavailable,
                      {{"error", "unhealthy"}, {"message", error}, {"node", ctx.cfg.node_name}});
  return json_reply(req, http::status::ok, {{"status", "ok"}, {"node", ctx.cfg.node_name}});
}

namespace {

http_response readiness(server_context& ctx, const http_request& req) {
  // A node whose store fails writes can ack nothing: send no one there.
  bool writable = ctx.stats->store_writable;
  bool ready = ctx.stats->ready && !ctx.stats->draining && writable;
  return json_reply(req, ready ? http::status::ok : http::status::service_unavailable,
                    {{"ready", ready},
                     {"draining", ctx.stats->draining.load()},
                     {"store_writable", writable},
                     {"node", ctx.cfg.node_name}});
}

/// What an operator reads: never on the public port, since it names
/// addresses inside the cluster and, with --metrics-per-room, rooms.
http_response admin_request(server_context& ctx, const http_request& req, std::string_view path) {
#ifdef CHAT_FAULT_HOOKS
  if (path.substr(0, 7) == "/debug/")
    return debug(ctx, req, path);
#endif
  if (req.method() != http::verb::get && req.method() != http::verb::head)
    return json_error(req, http::status::method_not_allowed, "bad_request", "only GET is served here");
  if (path == "/healthz")
    return health_response(ctx, req, "not probed");
  if (path == "/readyz")
    return readiness(ctx, req);
  if (path == "/metrics")
    return reply(req, http::status::ok, "text/plain; version=0.0.4; charset=utf-8", metrics_text(ctx));
  if (path == "/api/cluster")
    return json_reply(req, http::status::ok, cluster_json(ctx));
  return json_error(req, http::status::not_found, "not_found", "no such path on the admin port");
}

/// What pages need to fail over: node names and the URLs browsers reach
/// them at, nothing about the cluster's own addresses.
json public_cluster_json(server_context& ctx) {
  auto full = cluster_json(ctx);
  json peers = json::array();
  for (const auto& p : full["peers"]) {
    json peer{{"node", p["node"]}};
    if (p.contains("url"))
      peer["url"] = p["url"];
    peers.push_back(std::move(peer));
  }
  return {{"node", full["node"]}, {"url", full["url"]}, {"ready", full["ready"]}, {"peers", std::move(peers)}};
}

} // namespace

http_response handle_request(server_context& ctx, const http_request& req, port_role role) {
  auto path = target_path(req.target());
  if (role == port_role::admin_port)
    return admin_request(ctx, req, path);
  const std::string_view users = "/api/users/";
  const std::string_view profile_tail = "/profile";
  if (path.size() > users.size() + profile_tail.size() && path.substr(0, users.size()) == users
      && path.substr(path.size() - profile_tail.size()) == profile_tail)
    return profile_route(ctx, req,
                         percent_decode(path.substr(users.size(), path.size() - users.size() - profile_tail.size())));
  bool get = req.method() == http::verb::get || req.method() == http::verb::head;
  if (!get)
    return json_error(req, http::status::method_not_allowed, "bad_request", "only GET is served here");
  if (path == "/" || path == "/index.html")
    return asset(req, "index.html", "text/html; charset=utf-8");
  if (path == "/app.js")
    return asset(req, "app.js", "text/javascript; charset=utf-8");
  if (path == "/style.css")
    return asset(req, "style.css", "text/css; charset=utf-8");
  if (path == "/healthz") // answered by http_session after a round trip through the chat server
    return health_response(ctx, req, "not probed");
  if (path == "/readyz")
    return readiness(ctx, req);
  if (path == "/api/cluster") {
    // Pages read the other nodes' URLs from here, possibly across origins.
    auto res = json_reply(req, http::status::ok, public_cluster_json(ctx));
    res.set(http::field::access_control_allow_origin, "*");
    return res;
  }
  const std::string_view rooms = "/api/rooms/";
  const std::string_view tail = "/history";
  if (path.size() > rooms.size() + tail.size() && path.substr(0, rooms.size()) == rooms
      && path.substr(path.size() - tail.size()) == tail)
    // A client may escape the ':' of a name (dm:A:B) as %3A.
    return room_history(ctx, req, percent_decode(path.substr(rooms.size(), path.size() - rooms.size() - tail.size())));
  if (path == "/ws")
    return json_error(req, http::status::bad_request, "bad_request", "WebSocket upgrade required");
  return json_error(req, http::status::not_found, "not_found", "no such path");
}

} // namespace chat::net
