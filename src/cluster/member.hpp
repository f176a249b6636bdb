#pragma once

#include <string>

#include <caf/actor.hpp>

namespace chat::cluster {

/// A group member: the actor, and the user it speaks for (presence needs it;
/// plain `pg` would carry only the pid).
struct member {
  caf::actor actor;
  std::string user;
};

inline bool operator==(const member& a, const member& b) { return a.actor == b.actor; }

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member& x) {
  return f(x.actor, x.user);
}

} // namespace chat::cluster
