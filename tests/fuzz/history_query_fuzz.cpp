// What the HTTP API reads from a request target and its Authorization
// header: parse_history_query (GET /api/rooms/ROOM/history?before=&limit=)
// and token_from (?token= or Authorization: Bearer). Input: the target, then
// optionally '\n' and the Authorization header's value.
// Invariants: an accepted query has a before of 1 to 128 bytes and a limit
// of 1 to 100 (50 when not given; none without before), equal to what the
// query said, and written back as a target it parses the same again; a
// refusal has a message and no half-read result; a token is the query's
// `token` when present, else exactly what follows "Bearer ", and reads back
// the same from either place.

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz_check.hpp"
#include "net/history_query.hpp"
#include "net/upgrade.hpp"
#include "protocol/frames.hpp"
#include "protocol/wire.hpp"

using namespace chat;

namespace {

/// Every byte but the unreserved ones as %XX: what percent_decode undoes.
std::string percent_encode(const std::string& s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xf]);
    }
  }
  return out;
}

/// The refusal's body (json_error) is JSON whatever the query held, and says something.
bool json_error_is_json(const std::string& message) {
  return !message.empty() && nlohmann::json::accept(protocol::dump({{"error", "bad_request"}, {"message", message}}));
}

/// `limit` as the query wrote it, if it is 1 to 3 decimal digits.
std::optional<std::size_t> small_number(const std::string& v) {
  if (v.empty() || v.size() > 3 || v.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoul(v);
}

void check_history_query(const std::string& target) {
  auto query = net::parse_history_query(target);
  auto q = net::parse_query(target);
  auto before = q.find("before");
  auto limit = q.find("limit");

  if (!query.error.empty()) {
    FUZZ_CHECK(!query.before);
    FUZZ_CHECK(json_error_is_json(query.error));
    bool bad_before = before != q.end() && (before->second.empty() || before->second.size() > protocol::max_id_bytes);
    std::optional<std::size_t> n;
    if (limit != q.end())
      n = small_number(limit->second);
    bool bad_limit = limit != q.end() && (!n || *n < 1 || *n > protocol::max_history_limit);
    FUZZ_CHECK((before == q.end() && limit != q.end()) || bad_before || bad_limit);
    return;
  }

  if (!query.before) {
    FUZZ_CHECK(before == q.end() && limit == q.end());
    return;
  }
  FUZZ_CHECK(before != q.end() && *query.before == before->second);
  FUZZ_CHECK(!query.before->empty() && query.before->size() <= protocol::max_id_bytes);
  FUZZ_CHECK(query.limit >= 1 && query.limit <= protocol::max_history_limit);
  if (limit == q.end())
    FUZZ_CHECK(query.limit == 50);
  else
    FUZZ_CHECK(small_number(limit->second) == query.limit);

  // Written back as a target (the page's own scrollback request), it reads the same.
  auto again = net::parse_history_query("/api/rooms/r/history?limit=" + std::to_string(query.limit)
                                        + "&before=" + percent_encode(*query.before));
  FUZZ_CHECK(again.error.empty());
  FUZZ_CHECK(again.before == query.before);
  FUZZ_CHECK(again.limit == query.limit);
}

void check_token(const std::string& target, std::optional<std::string_view> authorization) {
  auto token = net::token_from(target, authorization);
  auto q = net::parse_query(target);
  if (auto it = q.find("token"); it != q.end()) {
    FUZZ_CHECK(token == it->second); // the query wins, even when empty
    return;
  }
  if (token.empty())
    return;
  // Only from "Bearer TOKEN", in any case, and exactly the rest.
  FUZZ_CHECK(authorization && authorization->size() == token.size() + 7);
  auto scheme = std::string(authorization->substr(0, 7));
  for (auto& c : scheme)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  FUZZ_CHECK(scheme == "bearer ");
  FUZZ_CHECK(authorization->substr(7) == token);
  // The same token read back from either place.
  FUZZ_CHECK(net::token_from("/api", "Bearer " + token) == token);
  FUZZ_CHECK(net::token_from("/api?token=" + percent_encode(token), std::nullopt) == token);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  auto nl = input.find('\n');
  std::string target = input.substr(0, nl);
  std::optional<std::string> header;
  if (nl != std::string::npos)
    header = input.substr(nl + 1);
  check_history_query(target);
  check_token(target, header ? std::optional<std::string_view>(*header) : std::nullopt);
  return 0;
}
