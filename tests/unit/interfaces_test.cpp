// The typed interfaces of the chat server, the connection actor and the
// group scope (chat/messages.hpp, cluster/messages.hpp): what each accepts,
// and what it must not. Checked at compile time, reported as test cases.

#include <doctest/doctest.h>

#include <caf/all.hpp>

#include "chat/messages.hpp"

namespace {

using namespace chat;
using strings = std::vector<std::string>;
using since = std::map<std::string, std::string>;

/// Whether a message (Ts...) matches one of the handle's signatures.
template <class Handle, class... Ts>
constexpr bool accepts = caf::response_type<typename Handle::signatures, Ts...>::valid;

/// Whether a handle of type From converts to To (From speaks all of To; the
/// other way round fails inside CAF's converting constructor, which this
/// trait cannot see).
template <class To, class From>
constexpr bool speaks = std::is_convertible_v<From, To>;

} // namespace

TEST_CASE("chat_server_actor: connections, peers' chat servers, the scope and discovery") {
  // A subscribe is numbered and answered by a plain message (subscribed), as a publish is.
  static_assert(accepts<chat_server_actor, subscribe_atom, std::uint64_t, strings, since, cluster::member>);
  static_assert(std::is_same_v<caf::response_type_t<chat_server_actor::signatures, subscribe_atom, std::uint64_t,
                                                    strings, since, cluster::member>,
                               caf::detail::type_list<void>>);
  static_assert(!accepts<chat_server_actor, subscribe_atom, strings, since, cluster::member>);
  static_assert(accepts<chat_server_actor, publish_atom, std::uint64_t, message, caf::actor, bool>);
  static_assert(accepts<chat_server_actor, replicate_batch_atom, std::uint64_t, std::vector<replicate_item>>);
  static_assert(accepts<chat_server_actor, resolved_atom, std::vector<caf::node_id>>);
  static_assert(speaks<pg_watcher_actor, chat_server_actor>);
  // What belongs to other actors, or is shaped differently, does not compile.
  static_assert(!accepts<chat_server_actor, frame_atom, protocol::frame_ptr, local_proof>);
  static_assert(!accepts<chat_server_actor, publish_atom, std::uint64_t, message, caf::actor>);
  static_assert(!accepts<chat_server_actor, pg_join_atom, std::string, cluster::member>);
  CHECK(accepts<chat_server_actor, health_atom>);
  CHECK_FALSE(accepts<chat_server_actor, typing_atom, std::string, std::string, bool, caf::actor>);
}

TEST_CASE("connection_actor: its session, the chat server and the fan-out shards") {
  static_assert(accepts<connection_actor, frame_atom, protocol::frame_ptr, local_proof>);
  static_assert(accepts<connection_actor, deliver_atom, std::string, std::string, protocol::frame_ptr>);
  static_assert(accepts<connection_actor, published_atom, std::uint64_t, publish_result>);
  static_assert(accepts<connection_actor, subscribed_atom, std::uint64_t, std::vector<room_snapshot>>);
  // A session's frame without its local_proof is not a message it takes.
  static_assert(!accepts<connection_actor, frame_atom, protocol::frame_ptr>);
  static_assert(!accepts<connection_actor, subscribe_atom, strings, since, cluster::member>);
  CHECK(accepts<connection_actor, closed_atom, local_proof>);
  CHECK_FALSE(accepts<connection_actor, closed_atom>);
}

TEST_CASE("pg_scope_actor: the local API and the pg peer protocol") {
  static_assert(accepts<pg_scope_actor, pg_join_atom, std::string, cluster::member>);
  static_assert(std::is_same_v<caf::response_type_t<pg_scope_actor::signatures, pg_watch_atom, caf::actor>,
                               caf::detail::type_list<cluster::group_map, std::vector<caf::node_id>>>);
  static_assert(accepts<pg_scope_actor, pg_sync_atom, caf::actor, cluster::group_map>);
  static_assert(!accepts<pg_scope_actor, pg_sync_atom, cluster::group_map>);
  static_assert(!accepts<pg_scope_actor, publish_atom, std::uint64_t, message, caf::actor, bool>);
  CHECK(accepts<pg_scope_actor, pg_rleave_atom, caf::actor, std::string, std::vector<caf::actor>>);
}

TEST_CASE("chat_server_actor and connection_actor: the inbox of protocol 1.1") {
  static_assert(
    std::is_same_v<
      caf::response_type_t<chat_server_actor::signatures, inbox_atom, cluster::member, std::weak_ptr<frame_sink>>,
      caf::detail::type_list<void>>);
  static_assert(accepts<connection_actor, inboxed_atom, protocol::frame_ptr>);
  static_assert(accepts<chat_server_actor, read_atom, std::string, std::string, std::string, caf::actor>);
  static_assert(accepts<chat_server_actor, read_mark_atom, read_mark>);
  static_assert(
    std::is_same_v<caf::response_type_t<chat_server_actor::signatures, read_marks_atom, std::string, std::string>,
                   caf::detail::type_list<std::vector<read_mark>>>);
  static_assert(accepts<connection_actor, notify_atom, protocol::frame_ptr>);
  CHECK_FALSE(accepts<chat_server_actor, read_atom, std::string, std::string, std::string>);
}

TEST_CASE("profile_store_actor: this node's HTTP side, peers' profile stores and the scope") {
  static_assert(accepts<profile_store_actor, profile_put_atom, profile, local_proof>);
  static_assert(!accepts<profile_store_actor, profile_put_atom, profile>); // never from a peer
  static_assert(accepts<profile_store_actor, profile_merge_atom, profile>);
  static_assert(std::is_same_v<caf::response_type_t<profile_store_actor::signatures, profile_pull_atom, std::string>,
                               caf::detail::type_list<std::vector<profile>>>);
  static_assert(speaks<pg_watcher_actor, profile_store_actor>);
  CHECK_FALSE(accepts<profile_store_actor, publish_atom, std::uint64_t, message, caf::actor, bool>);
}

TEST_CASE("fault hooks are in the interfaces of test builds only") {
#ifdef CHAT_FAULT_HOOKS
  static_assert(accepts<chat_server_actor, crash_atom, local_proof>);
  static_assert(accepts<connection_actor, crash_atom, local_proof>);
  CHECK(accepts<chat_server_actor, crash_on_publish_atom, local_proof>);
#else
  static_assert(!accepts<chat_server_actor, crash_atom, local_proof>);
  static_assert(!accepts<connection_actor, crash_atom, local_proof>);
  CHECK_FALSE(accepts<chat_server_actor, crash_on_publish_atom, local_proof>);
#endif
}
