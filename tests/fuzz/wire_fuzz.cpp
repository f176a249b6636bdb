// Client frames: parse_request never throws, refuses with an error frame that
// is valid JSON, and every frame it accepts re-serializes to a frame that
// parses to the same request.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_check.hpp"
#include "protocol/frames.hpp"
#include "protocol/names.hpp"
#include "protocol/wire.hpp"

using namespace chat::protocol;
using nlohmann::json;

namespace {

json to_json(const request& r) {
  struct visitor {
    json operator()(const subscribe_req& s) const {
      json j{{"type", "subscribe"}, {"rooms", s.rooms}};
      if (!s.since.empty())
        j["since"] = s.since;
      return j;
    }
    json operator()(const unsubscribe_req& u) const { return {{"type", "unsubscribe"}, {"rooms", u.rooms}}; }
    json operator()(const message_req& m) const {
      json j{{"type", "message"}, {"room", m.room}, {"text", m.text}};
      if (m.client_id)
        j["client_id"] = *m.client_id;
      return j;
    }
    json operator()(const typing_req& t) const {
      return {{"type", "typing"}, {"room", t.room}, {"state", t.start ? "start" : "stop"}};
    }
    json operator()(const read_req& r) const { return {{"type", "read"}, {"room", r.room}, {"id", r.id}}; }
    json operator()(const history_req& h) const {
      return {{"type", "history"}, {"room", h.room}, {"before", h.before}, {"limit", h.limit}};
    }
    json operator()(const ping_req& p) const { return {{"type", "ping"}, {"t", p.t}}; }
  };
  return std::visit(visitor{}, r);
}

bool same(const request& a, const request& b) {
  if (a.index() != b.index())
    return false;
  // The serialized form is canonical, so equal requests serialize alike.
  return to_json(a) == to_json(b);
}

void check_accepted(const request& r, const parse_limits& limits) {
  if (auto* m = std::get_if<message_req>(&r)) {
    FUZZ_CHECK(valid_room(m->room));
    FUZZ_CHECK(!m->text.empty() && code_points(m->text) <= limits.max_text_chars);
    FUZZ_CHECK(!m->client_id || (!m->client_id->empty() && code_points(*m->client_id) <= 64));
  } else if (auto* s = std::get_if<subscribe_req>(&r)) {
    for (const auto& room : s->rooms)
      FUZZ_CHECK(valid_room(room));
    for (const auto& [room, id] : s->since)
      FUZZ_CHECK(valid_room(room));
  } else if (auto* u = std::get_if<unsubscribe_req>(&r)) {
    for (const auto& room : u->rooms)
      FUZZ_CHECK(valid_room(room));
  } else if (auto* t = std::get_if<typing_req>(&r)) {
    FUZZ_CHECK(valid_room(t->room));
  } else if (auto* rd = std::get_if<read_req>(&r)) {
    FUZZ_CHECK(valid_room(rd->room) && !rd->id.empty());
  } else if (auto* h = std::get_if<history_req>(&r)) {
    FUZZ_CHECK(valid_room(h->room) && !h->before.empty() && h->before.size() <= max_id_bytes);
    FUZZ_CHECK(h->limit >= 1 && h->limit <= max_history_limit);
  } else if (auto* p = std::get_if<ping_req>(&r)) {
    FUZZ_CHECK(json::accept(pong_frame(p->t)));
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view frame(reinterpret_cast<const char*>(data), size);
  parse_limits limits;
  auto parsed = parse_request(frame, limits);
  if (auto* err = std::get_if<wire_error>(&parsed)) {
    FUZZ_CHECK(!err->message.empty());
    FUZZ_CHECK(json::accept(error_frame(err->code, err->message, err->ref)));
    return 0;
  }
  const auto& req = std::get<request>(parsed);
  check_accepted(req, limits);
  FUZZ_CHECK(json::accept(error_frame(error_code::internal, "x", ref_of(req))));
  auto again = parse_request(to_json(req).dump(), limits);
  FUZZ_CHECK(std::holds_alternative<request>(again));
  FUZZ_CHECK(same(req, std::get<request>(again)));
  return 0;
}
