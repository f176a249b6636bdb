// chat/connection: the per-connection actor, driven through a fake frame sink
// and a fake chat server. This is where not_subscribed and rate_limited are
// decided, after everything parse_request decides.

#include <atomic>
#include <doctest/doctest.h>

#include <mutex>

#include <nlohmann/json.hpp>

#include "actor_fixture.hpp"
#include "chat/connection.hpp"
#include "recording_sink.hpp"

using namespace std::chrono_literals;
using chat::test::actor_fixture;
using chat::test::eventually;
using chat::test::recording_sink;
using nlohmann::json;

namespace {

/// What the fake chat server was asked.
struct server_log {
  std::mutex mtx;
  std::vector<std::string> published; ///< texts
  std::vector<bool> may_publish;
  std::vector<std::string> unsubscribed;
  std::vector<std::string> relayed; ///< "typing:room:user:start" / "read:room:user:id"
};

const std::int64_t ack_ts = 1763556074139022;

/// Answers subscribes with one history message per room, and publishes with
/// a fresh id; a client_id "dup" is answered as a retry, and a publish
/// without budget is refused, as the real chat server does.
caf::behavior fake_chat_server(caf::event_based_actor* self, std::shared_ptr<server_log> log) {
  auto next = std::make_shared<int>(0);
  return {
    [=](chat::subscribe_atom, std::uint64_t seq, const std::vector<std::string>& rooms,
        const std::map<std::string, std::string>&, const chat::cluster::member& who) {
      std::vector<chat::room_snapshot> out;
      for (const auto& r : rooms) {
        if (r == "held")
          return; // a chat server that dies before it answers
        out.push_back({r, {who.user}, {chat::message{r, "h-" + r, "old", "hi", "", 0}}, false});
      }
      self->send(who.actor, chat::subscribed_atom::value, seq, out);
    },
    [=](chat::unsubscribe_atom, const std::vector<std::string>& rooms, const caf::actor&) {
      std::lock_guard<std::mutex> guard{log->mtx};
      log->unsubscribed.insert(log->unsubscribed.end(), rooms.begin(), rooms.end());
    },
    [=](chat::publish_atom, std::uint64_t seq, const chat::message& m, const caf::actor& conn, bool may_publish) {
      {
        std::lock_guard<std::mutex> guard{log->mtx};
        log->published.push_back(m.text);
        log->may_publish.push_back(may_publish);
      }
      auto answer = [&](chat::publish_result r) { self->send(conn, chat::published_atom::value, seq, r); };
      if (m.client_id == "hold")
        return; // a chat server that dies before it answers
      if (m.client_id == "dup")
        answer({"orig-id", ack_ts - 1, true, false});
      else if (m.client_id == "sent") // as the real one does when it knows the connection's sink
        answer({"id-sent", ack_ts, false, false, false, true});
      else if (!may_publish)
        answer({"", 0, false, true});
      else
        answer({"id-" + std::to_string(++*next), ack_ts, false, false});
    },
    [=](chat::typing_atom, const std::string& room, const std::string& user, bool start) {
      std::lock_guard<std::mutex> guard{log->mtx};
      log->relayed.push_back("typing:" + room + ":" + user + ":" + (start ? "start" : "stop"));
    },
    [=](chat::inbox_atom, const chat::cluster::member& who, std::weak_ptr<chat::frame_sink>) {
      if (who.user == "held")
        return; // a chat server that dies before it answers
      self->send(who.actor, chat::inboxed_atom::value,
                 chat::protocol::frame_ptr{std::make_shared<const std::string>(chat::protocol::inbox_frame({}))});
    },
    [=](chat::read_atom, const std::string& room, const std::string& user, const std::string& id, const caf::actor&) {
      std::lock_guard<std::mutex> guard{log->mtx};
      log->relayed.push_back("read:" + room + ":" + user + ":" + id);
    },
  };
}

struct connection_fixture : actor_fixture {
  std::shared_ptr<recording_sink> sink = std::make_shared<recording_sink>();
  std::shared_ptr<server_log> log = std::make_shared<server_log>();
  std::shared_ptr<chat::node_stats> stats = std::make_shared<chat::node_stats>();
  caf::actor server;
  caf::actor conn;
  std::size_t read_pos = 0;

  connection_fixture() {
    server = keep(sys.spawn(fake_chat_server, log));
    sys.registry().put(chat::registry_name::chat_server, caf::actor_cast<caf::strong_actor_ptr>(server));
  }

  ~connection_fixture() { sys.registry().erase(chat::registry_name::chat_server); }

  chat::connection_config config(std::vector<std::string> rooms, double rate = 1000, double burst = 1000) {
    chat::connection_config cc;
    cc.node = "n1";
    cc.session = "s1";
    cc.user = "ann";
    cc.rooms = std::move(rooms);
    cc.limits = chat::protocol::limits_info{65536, 10, 3, rate, burst, 4194304};
    return cc;
  }

  void connect(chat::connection_config cc) {
    conn = keep(sys.spawn(chat::connection, std::move(cc), std::weak_ptr<chat::frame_sink>(sink), stats));
  }

  void send(const json& frame) { send(frame.dump()); }
  void send(const std::string& text) {
    caf::anon_send(conn, chat::frame_atom::value, chat::protocol::frame_ptr{std::make_shared<const std::string>(text)},
                   chat::local_proof{});
  }

  /// The next frame the connection sent; fails after a timeout.
  json next() {
    if (!eventually([&] { return sink->count() > read_pos; })) {
      FAIL_CHECK("no frame from the connection");
      return json::object();
    }
    return json::parse(sink->frames()[read_pos++]);
  }

  /// True when no frame beyond those read arrives within `wait`.
  bool nothing_more(std::chrono::milliseconds wait = 100ms) {
    std::this_thread::sleep_for(wait);
    return sink->count() == read_pos;
  }

  /// Past the welcome and the one room's frames, a publish the fake chat
  /// server keeps without answering (client_id "hold"), once it has it.
  void send_held_publish() {
    REQUIRE(next()["type"] == "welcome");
    REQUIRE(next()["type"] == "inbox");
    next();
    next();
    send(json{{"type", "message"}, {"room", "lobby"}, {"text", "held"}, {"client_id", "hold"}});
    REQUIRE(eventually([&] {
      std::lock_guard<std::mutex> guard{log->mtx};
      return log->published.size() == 1;
    }));
  }

  void check_error(const json& f, const std::string& code, const json& ref) {
    CHECK(f["type"] == "error");
    CHECK(f["code"] == code);
    CHECK(f["ref"] == ref);
  }
};

json message(const std::string& room, const std::string& text, const json& client_id = nullptr) {
  json j{{"type", "message"}, {"room", room}, {"text", text}};
  if (!client_id.is_null())
    j["client_id"] = client_id;
  return j;
}

} // namespace

TEST_CASE_FIXTURE(connection_fixture,
                  "connection: welcome, the inbox, then subscribed and history for the rooms at connect") {
  connect(config({"lobby", "b"}));
  auto w = next();
  CHECK(w["type"] == "welcome");
  CHECK(w["user"] == "ann");
  CHECK(w["node"] == "n1");
  CHECK(w["session"] == "s1");
  CHECK(w["limits"]["max_text_chars"] == 10);
  auto inbox = next();
  CHECK(inbox["type"] == "inbox");
  CHECK(inbox["conversations"] == json::array());
  for (const char* room : {"lobby", "b"}) {
    auto s = next();
    CHECK(s["type"] == "subscribed");
    CHECK(s["room"] == room);
    CHECK(s["members"] == json::array({"ann"}));
    auto h = next();
    CHECK(h["type"] == "history");
    CHECK(h["room"] == room);
    CHECK(h["messages"].size() == 1);
    CHECK(h["gap"] == false);
  }
  CHECK(nothing_more());
}

TEST_CASE_FIXTURE(connection_fixture, "connection: parse errors come back as error frames") {
  connect(config({}));
  REQUIRE(next()["type"] == "welcome");
  REQUIRE(next()["type"] == "inbox");
  send(std::string("{nope"));
  check_error(next(), "bad_json", nullptr);
  send(json{{"type", "Message"}});
  check_error(next(), "bad_request", "Message");
  send(message("lobby", "01234567890", "c1")); // 11 > max_text_chars
  check_error(next(), "too_large", "c1");
  CHECK(stats->bad_frames == 3);
  std::lock_guard<std::mutex> guard{log->mtx};
  CHECK(log->published.empty());
}

TEST_CASE_FIXTURE(connection_fixture, "connection: ping is answered with pong echoing t") {
  connect(config({}));
  REQUIRE(next()["type"] == "welcome");
  REQUIRE(next()["type"] == "inbox");
  send(json{{"type", "ping"}, {"t", {{"k", 1}}}});
  auto p = next();
  CHECK(p["type"] == "pong");
  CHECK(p["t"] == json{{"k", 1}});
  send(json{{"type", "ping"}});
  CHECK(next()["t"].is_null());
}

TEST_CASE_FIXTURE(connection_fixture, "connection: not_subscribed, after the frame's own errors") {
  connect(config({"lobby"}));
  REQUIRE(next()["type"] == "welcome");
  REQUIRE(next()["type"] == "inbox");
  next();
  next();
  send(message("other", "hi"));
  check_error(next(), "not_subscribed", "message");
  send(message("other", "hi", "c9"));
  check_error(next(), "not_subscribed", "c9");
  send(json{{"type", "typing"}, {"room", "other"}, {"state", "start"}});
  check_error(next(), "not_subscribed", "typing");
  send(json{{"type", "read"}, {"room", "other"}, {"id", "x"}});
  check_error(next(), "not_subscribed", "read");
  SUBCASE("too_large wins over not_subscribed") {
    send(message("other", "01234567890"));
    check_error(next(), "too_large", "message");
  }
  SUBCASE("bad_request wins over not_subscribed") {
    send(json{{"type", "typing"}, {"room", "other"}, {"state", "maybe"}});
    check_error(next(), "bad_request", "typing");
  }
  std::lock_guard<std::mutex> guard{log->mtx};
  CHECK(log->published.empty());
  CHECK(log->relayed.empty());
}

TEST_CASE_FIXTURE(connection_fixture, "connection: a publish is acked with the server's id and ts") {
  connect(config({"lobby"}));
  REQUIRE(next()["type"] == "welcome");
  REQUIRE(next()["type"] == "inbox");
  next();
  next();
  send(message("lobby", "hello", "c1"));
  auto a = next();
  CHECK(a["type"] == "ack");
  CHECK(a["client_id"] == "c1");
  CHECK(a["id"] == "id-1");
  CHECK(a["room"] == "lobby");
  CHECK(a["ts"] == "2025-11-19T12:41:14.139022Z");
  send(message("lobby", "again"));
  auto b = next();
  CHECK(b["client_id"].is_null());
  CHECK(b["id"] == "id-2");

  SUBCASE("its own message is never echoed back") {
    auto frame = std::make_shared<const std::string>("{\"type\":\"message\",\"id\":\"id-1\"}");
    caf::anon_send(conn, chat::deliver_atom::value, std::string("lobby"), std::string("id-1"), frame);
    CHECK(nothing_more());
  }
  SUBCASE("another's message is delivered once") {
    auto frame = std::make_shared<const std::string>("{\"type\":\"message\",\"id\":\"x-1\"}");
    caf::anon_send(conn, chat::deliver_atom::value, std::string("lobby"), std::string("x-1"), frame);
    caf::anon_send(conn, chat::deliver_atom::value, std::string("lobby"), std::string("x-1"), frame);
    CHECK(next()["id"] == "x-1");
    CHECK(nothing_more());
  }
  SUBCASE("a message already sent in history is not delivered again") {
    auto frame = std::make_shared<const std::string>("{\"type\":\"message\",\"id\":\"h-lobby\"}");
    caf::anon_send(conn, chat::deliver_atom::value, std::string("lobby"), std::string("h-lobby"), frame);
    CHECK(nothing_more());
  }
  SUBCASE("a message for a room not held is dropped") {
    auto frame = std::make_shared<const std::string>("{\"type\":\"message\",\"id\":\"y-1\"}");
    caf::anon_send(conn, chat::deliver_atom::value, std::string("elsewhere"), std::string("y-1"), frame);
    caf::anon_send(conn, chat::push_atom::value, std::string("elsewhere"), frame);
    CHECK(nothing_more());
  }
}

TEST_CASE_FIXTURE(connection_fixture,
                  "connection: a publish the chat server acked itself is not acked again, and spent its budget") {
  connect(config({"lobby"}, 0.001, 1));
  REQUIRE(next()["type"] == "welcome");
  REQUIRE(next()["type"] == "inbox");
  next();
  next();
  send(message("lobby", "acked", "sent"));
  REQUIRE(eventually([&] {
    std::lock_guard<std::mutex> guard{log->mtx};
    return log->published.size() == 1;
  }));
  CHECK(nothing_more());
  send(message("lobby", "over", "c2"));
  check_error(next(), "rate_limited", "c2");
  // Done, not in flight: a chat server that dies now owes it nothing.
  caf::anon_send_exit(server, caf::exit_reason::kill);
  CHECK(nothing_more(300ms));
}

TEST_CASE_FIXTURE(connection_fixture, "connection: the rate limit refuses past the burst") {
  connect(config({"lobby"}, 0.001, 2));
  REQUIRE(next()["type"] == "welcome");
  REQUIRE(next()["type"] == "inbox");
  next();
  next();
  send(message("lobby", "1"));
  send(message("lobby", "2"));
  send(message("lobby", "3", "c3"));
  CHECK(next()["type"] == "ack");
  CHECK(next()["type"] == "ack");
  check_error(next(), "rate_limited", "c3");
  CHECK(stats->drops_rate == 1);
  std::lock_guard<std::mutex> guard{log->mtx};
  CHECK(log->may_publish == std::vector<bool>{true, true, false});
}

TEST_CASE_FIXTURE(connection_fixture, "connection: a deduplicated retry costs no rate budget") {
  connect(config({"lobby"}, 0.001, 1));
  REQUIRE(next()["type"] == "welcome");
  REQUIRE(next()["type"] == "inbox");
  next();
  next();
  send(message("lobby", "first try", "dup"));
  auto a = next();
  CHECK(a["type"] == "ack");
  CHECK(a["id"] == "orig-id");
  CHECK(a["client_id"] == "dup");
  send(message("lobby", "new"));
  CHECK(next()["type"] == "ack"); // the token came back
  send(message("lobby", "newer"));
  check_error(next(), "rate_limited", "message");
}

TEST_CASE_FIXTURE(connection_fixture,
                  "connection: a publish the chat server dies with gets an error and its budget back") {
  connect(config({"lobby"}, 0.001, 1));
  send_held_publish();
  CHECK(nothing_more());
  caf::anon_send_exit(server, caf::exit_reason::kill);
  check_error(next(), "internal", "hold");
  SUBCASE("a publish to a chat server that is already gone gets the same error") {
    send(message("lobby", "again", "c1"));
    check_error(next(), "internal", "c1");
  }
  // The one token of the burst came back: the retry is accepted (by the
  // restarted chat server, registered as the supervisor does).
  auto restarted = keep(sys.spawn(fake_chat_server, log));
  sys.registry().erase(chat::registry_name::chat_server);
  sys.registry().put(chat::registry_name::chat_server, caf::actor_cast<caf::strong_actor_ptr>(restarted));
  send(message("lobby", "retry", "c2"));
  auto a = next();
  CHECK(a["type"] == "ack");
  CHECK(a["client_id"] == "c2");
}

TEST_CASE_FIXTURE(connection_fixture,
                  "connection: a subscribe the chat server dies with gets an error, and its rooms are not held") {
  connect(config({}));
  REQUIRE(next()["type"] == "welcome");
  REQUIRE(next()["type"] == "inbox");
  send(json{{"type", "subscribe"}, {"rooms", {"held"}}});
  CHECK(nothing_more());
  caf::anon_send_exit(server, caf::exit_reason::kill);
  check_error(next(), "internal", "subscribe");
  // Not held: a message to it is not_subscribed, not sent to a chat server.
  send(message("held", "hi", "c1"));
  check_error(next(), "not_subscribed", "c1");
}

TEST_CASE_FIXTURE(connection_fixture, "connection: an inbox the chat server dies with gets an error with ref inbox") {
  auto cc = config({});
  cc.user = "held";
  connect(std::move(cc));
  REQUIRE(next()["type"] == "welcome");
  CHECK(nothing_more());
  caf::anon_send_exit(server, caf::exit_reason::kill);
  check_error(next(), "internal", "inbox");
  CHECK(nothing_more());
}

TEST_CASE_FIXTURE(connection_fixture,
                  "connection: an answer to a subscribe or an inbox counts only from the chat server asked") {
  auto cc = config({});
  cc.user = "held";
  connect(std::move(cc));
  REQUIRE(next()["type"] == "welcome");
  send(json{{"type", "subscribe"}, {"rooms", {"held"}}});
  CHECK(nothing_more());
  // Subscribe number 1 and the inbox, answered by an actor that is not the chat server.
  caf::anon_send(conn, chat::subscribed_atom::value, std::uint64_t{1},
                 std::vector<chat::room_snapshot>{{"held", {"x"}, {}, false}});
  caf::anon_send(
    conn, chat::inboxed_atom::value,
    chat::protocol::frame_ptr{std::make_shared<const std::string>(R"({"type":"inbox","conversations":[]})")});
  CHECK(nothing_more());
}

TEST_CASE_FIXTURE(connection_fixture,
                  "connection: an answer to a publish counts only from the chat server that has it") {
  connect(config({"lobby"}));
  send_held_publish();
  // Publish number 1, answered by an actor that is not the chat server.
  caf::anon_send(conn, chat::published_atom::value, std::uint64_t{1},
                 chat::publish_result{"forged", ack_ts, false, false});
  CHECK(nothing_more());
}

TEST_CASE_FIXTURE(connection_fixture, "connection: not_subscribed costs no rate budget") {
  connect(config({"lobby"}, 0.001, 1));
  REQUIRE(next()["type"] == "welcome");
  REQUIRE(next()["type"] == "inbox");
  next();
  next();
  send(message("other", "x"));
  check_error(next(), "not_subscribed", "message");
  send(message("lobby", "x"));
  CHECK(next()["type"] == "ack");
}

TEST_CASE_FIXTURE(connection_fixture, "connection: subscribe, unsubscribe, typing and read") {
  connect(config({}));
  REQUIRE(next()["type"] == "welcome");
  REQUIRE(next()["type"] == "inbox");
  send(json{{"type", "subscribe"}, {"rooms", {"a", "b"}}});
  CHECK(next()["room"] == "a");
  CHECK(next()["type"] == "history");
  CHECK(next()["room"] == "b");
  CHECK(next()["type"] == "history");
  SUBCASE("more than max_rooms is too_many_rooms") {
    send(json{{"type", "subscribe"}, {"rooms", {"a", "c", "d"}}}); // 4 > 3
    check_error(next(), "too_many_rooms", "subscribe");
    send(json{{"type", "subscribe"}, {"rooms", {"a", "c"}}}); // 3 is fine
    CHECK(next()["type"] == "subscribed");
  }
  SUBCASE("typing and read are relayed") {
    send(json{{"type", "typing"}, {"room", "a"}, {"state", "start"}});
    send(json{{"type", "read"}, {"room", "b"}, {"id", "m1"}});
    CHECK(eventually([&] {
      std::lock_guard<std::mutex> guard{log->mtx};
      return log->relayed.size() == 2;
    }));
    std::lock_guard<std::mutex> guard{log->mtx};
    CHECK(log->relayed == std::vector<std::string>{"typing:a:ann:start", "read:b:ann:m1"});
  }
  SUBCASE("unsubscribe answers every room, tells the server only of held ones") {
    send(json{{"type", "unsubscribe"}, {"rooms", {"a", "zz"}}});
    auto u1 = next();
    auto u2 = next();
    CHECK(u1["type"] == "unsubscribed");
    CHECK(u1["room"] == "a");
    CHECK(u2["room"] == "zz");
    send(message("a", "x"));
    check_error(next(), "not_subscribed", "message");
    std::lock_guard<std::mutex> guard{log->mtx};
    CHECK(log->unsubscribed == std::vector<std::string>{"a"});
  }
}

TEST_CASE_FIXTURE(connection_fixture, "connection: a token's rooms restrict subscribe") {
  auto cc = config({});
  cc.allowed_rooms = std::make_shared<const std::set<std::string>>(std::set<std::string>{"a"});
  connect(cc);
  REQUIRE(next()["type"] == "welcome");
  REQUIRE(next()["type"] == "inbox");
  send(json{{"type", "subscribe"}, {"rooms", {"a", "b"}}});
  check_error(next(), "unauthorized", "subscribe");
  send(message("a", "x"));
  check_error(next(), "not_subscribed", "message"); // nothing was subscribed
  send(json{{"type", "subscribe"}, {"rooms", {"a"}}});
  CHECK(next()["type"] == "subscribed");
}
