#include "net/history_query.hpp"

#include <boost/algorithm/string/predicate.hpp>

#include "net/upgrade.hpp"
#include "protocol/wire.hpp"

namespace chat::net {

history_query parse_history_query(std::string_view target) {
  history_query out;
  auto q = parse_query(target);
  auto before = q.find("before");
  auto limit_arg = q.find("limit");
  if (before == q.end()) {
    if (limit_arg != q.end())
      out.error = "limit needs before=ID";
    return out;
  }
  if (before->second.empty() || before->second.size() > protocol::max_id_bytes) {
    out.error = "before must be a message id";
    return out;
  }
  out.before = before->second;
  if (limit_arg != q.end()) {
    const auto& v = limit_arg->second;
    // At most 3 digits: stoul cannot throw.
    if (v.empty() || v.size() > 3 || v.find_first_not_of("0123456789") != std::string::npos || std::stoul(v) < 1
        || std::stoul(v) > protocol::max_history_limit) {
      out.before.reset();
      out.error = "limit must be an integer from 1 to " + std::to_string(protocol::max_history_limit);
      return out;
    }
    out.limit = std::stoul(v);
  }
  return out;
}

std::string token_from(std::string_view target, std::optional<std::string_view> authorization) {
  auto q = parse_query(target);
  if (auto it = q.find("token"); it != q.end())
    return it->second;
  if (authorization && authorization->size() > 7 && boost::algorithm::istarts_with(*authorization, "bearer "))
    return std::string(authorization->substr(7));
  return {};
}

} // namespace chat::net
