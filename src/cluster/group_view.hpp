#pragma once

#include <map>
#include <string>
#include <vector>

#include "cluster/member.hpp"

namespace chat::cluster {

using group_map = std::map<std::string, std::vector<member>>;

/// Group name -> members, with set semantics per group (an actor is in a
/// group once). Both the scope's cluster-wide view and each reader's mirror
/// are one of these.
class group_view {
public:
  /// False when the actor already was a member.
  bool add(const std::string& group, const member& m);

  /// False when the actor was not a member.
  bool remove(const std::string& group, const caf::actor& a);

  const std::vector<member>& members(const std::string& group) const;

  const group_map& groups() const { return groups_; }

  bool contains(const std::string& group, const caf::actor& a) const;

private:
  group_map groups_;
};

} // namespace chat::cluster
