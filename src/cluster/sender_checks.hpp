#pragma once

// What an actor that peers can address checks about who sent a message.
// CAF lets any connected node send to an actor whose handle it has seen
// (group members, chat servers) or whose registered name it guesses, and
// claim nothing about itself beyond its node: these are the checks that
// remain meaningful.

#include <caf/all.hpp>

namespace chat {

/// Carried by every message that only this process may send (a session's
/// frames, fault hooks). It has no serializer, so no peer node can build a
/// message that holds one: such a message from the network never matches.
struct local_proof {};

} // namespace chat

namespace chat::cluster {

/// True when the current message comes from an actor on this node.
inline bool from_this_node(caf::local_actor* self) {
  const auto& s = self->current_sender();
  return s && s->node() == self->node();
}

/// True when the current message really comes from `who`.
inline bool sent_by(caf::local_actor* self, const caf::actor& who) {
  const auto& s = self->current_sender();
  return who && s && caf::actor_cast<caf::actor_addr>(s) == who.address();
}

/// A real down message comes from the actor that went down; anyone else
/// could forge one naming a peer scope or a local connection.
inline bool genuine(caf::local_actor* self, const caf::down_msg& dm) {
  const auto& s = self->current_sender();
  return s && caf::actor_cast<caf::actor_addr>(s) == dm.source;
}

/// Messages nobody asked for are dropped without a word: CAF's defaults print
/// each unexpected message to stderr (a log flood) and end the actor on an
/// error message that answers no request of ours (anyone can send one).
template <class Actor>
void drop_strays(Actor* self) {
  self->set_default_handler(caf::drop);
  self->set_error_handler([](caf::error&) {});
}

} // namespace chat::cluster

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chat::local_proof)
