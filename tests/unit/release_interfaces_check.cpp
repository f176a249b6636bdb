// The typed interfaces as a release build (CHAT_FAULT_HOOKS off, the
// Dockerfile's build) sees them: no actor accepts the fault hooks' crash
// messages. Tests are built with the hooks on, so interfaces_test.cpp can
// only check the hooked side; this file undefines the macro before the
// headers and checks the other side in every test build. Compile-only: a
// broken assertion fails the build of unit_tests, nothing runs.
//
// Why this may share a program with code built with the hooks: the macro
// changes, in chat/messages.hpp, only the two alias declarations
// chat_server_actor and connection_actor. An alias has no linkage and is no
// definition the one-definition rule governs, and no inline function or
// class in the headers included here names them, so each type this file
// instantiates (caf::typed_actor<...> of the base interfaces) is the same
// type with the same definition as in every other file. Headers whose
// classes change with the macro (chat/chat_server.hpp: a member of
// chat_server_state; net/websocket_session.hpp: a connection_actor member)
// must never be included here: two different definitions of one class in
// one program would be an ODR violation.

#undef CHAT_FAULT_HOOKS

#include <type_traits>

#include <caf/all.hpp>

#include "chat/messages.hpp"
#include "cluster/messages.hpp"

namespace {

using namespace chat;

/// Whether a message (Ts...) matches one of the handle's signatures.
template <class Handle, class... Ts>
constexpr bool accepts = caf::response_type<typename Handle::signatures, Ts...>::valid;

/// Neither the crash atom the hooks take (with the local_proof only this
/// process can make) nor the bare atom a peer can send.
template <class Handle>
constexpr bool takes_no_crash() {
  bool hooked = accepts<Handle, crash_atom, local_proof> || accepts<Handle, crash_on_publish_atom, local_proof>;
  bool bare = accepts<Handle, crash_atom> || accepts<Handle, crash_on_publish_atom>;
  return !hooked && !bare;
}

// The release interfaces are the base ones, nothing added.
static_assert(std::is_same_v<chat_server_actor, chat_server_base>);
static_assert(std::is_same_v<connection_actor, connection_base>);

static_assert(takes_no_crash<chat_server_actor>());
static_assert(takes_no_crash<connection_actor>());
static_assert(takes_no_crash<pg_scope_actor>());
static_assert(takes_no_crash<pg_watcher_actor>());
static_assert(takes_no_crash<profile_store_actor>());
static_assert(takes_no_crash<fanout_shard_actor>());

// The rest of each interface is still there: the assertions above look at
// the real interfaces, not at types the #undef emptied.
static_assert(accepts<chat_server_actor, replicate_batch_atom, std::uint64_t, std::vector<replicate_item>>);
static_assert(accepts<chat_server_actor, health_atom>);
static_assert(accepts<connection_actor, frame_atom, protocol::frame_ptr, local_proof>);
static_assert(accepts<connection_actor, closed_atom, local_proof>);
static_assert(accepts<pg_scope_actor, pg_sync_atom, caf::actor, cluster::group_map>);
static_assert(accepts<profile_store_actor, profile_put_atom, profile, local_proof>);

} // namespace
