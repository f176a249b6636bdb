// The WebSocket upgrade's target: target_path, parse_query and check_upgrade
// never throw; what check_upgrade lets through obeys the rules; what it
// refuses becomes a JSON error body that is valid JSON.
// The first byte picks the rules (token or not, room limit); "$T" in the
// target is replaced by a valid token, so the signed path is reached too.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz_check.hpp"
#include "net/upgrade.hpp"
#include "protocol/frames.hpp"
#include "protocol/names.hpp"
#include "protocol/token.hpp"

using namespace chat;

namespace {

constexpr std::string_view secret = "fuzz-secret";
constexpr std::int64_t now_s = 1700000000;

const std::string& valid_token() {
  static const std::string t =
    protocol::sign_token(R"({"sub":"ann","exp":1900000000,"rooms":["lobby","a","b:c"]})", secret);
  return t;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1)
    return 0;
  net::upgrade_rules rules;
  rules.max_rooms = (data[0] & 0x0f) + 1;
  if (data[0] & 0x10)
    rules.auth_secret = std::string(secret);
  std::string target(reinterpret_cast<const char*>(data) + 1, size - 1);
  for (auto at = target.find("$T"); at != std::string::npos; at = target.find("$T", at + valid_token().size()))
    target.replace(at, 2, valid_token());

  auto path = net::target_path(target);
  FUZZ_CHECK(path.find('?') == std::string_view::npos);
  FUZZ_CHECK(target.compare(0, path.size(), path) == 0);
  for (const auto& [key, value] : net::parse_query(target))
    FUZZ_CHECK(!key.empty());

  auto checked = net::check_upgrade(target, rules, now_s);
  if (auto* no = std::get_if<net::upgrade_refusal>(&checked)) {
    FUZZ_CHECK(no->status == 400 || no->status == 401 || (no->status == 403 && no->code == "forbidden"));
    FUZZ_CHECK(!no->code.empty() && !no->message.empty());
    // The body http_session sends: must be JSON whatever bytes the query held.
    auto body = protocol::dump({{"error", no->code}, {"message", no->message}});
    FUZZ_CHECK(nlohmann::json::accept(body));
    return 0;
  }
  const auto& ok = std::get<net::upgrade_ok>(checked);
  FUZZ_CHECK(protocol::valid_user(ok.user));
  FUZZ_CHECK(ok.rooms.size() <= rules.max_rooms);
  FUZZ_CHECK(std::set<std::string>(ok.rooms.begin(), ok.rooms.end()).size() == ok.rooms.size());
  for (const auto& r : ok.rooms) {
    FUZZ_CHECK(protocol::valid_room(r));
    FUZZ_CHECK(protocol::may_hold(ok.user, r));
    FUZZ_CHECK(!ok.allowed_rooms || ok.allowed_rooms->count(r) || protocol::own_dm_room(ok.user, r));
  }
  if (!rules.auth_secret.empty())
    FUZZ_CHECK(ok.allowed_rooms && ok.user == "ann");
  else
    FUZZ_CHECK(!ok.allowed_rooms);
  return 0;
}
