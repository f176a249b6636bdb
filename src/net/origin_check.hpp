#pragma once

// Which browser pages may open /ws, and which peer URLs a page may be sent
// to. Pure, so every rule is unit tested.
//
// A cross-site page can open a WebSocket to any host its user can reach
// (WebSockets are not bound by the same-origin policy); the Origin header
// a browser sets is the only thing that tells us whose page it is.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chat::net {

/// "scheme://host[:port]" with scheme and host lowercased and the port
/// always explicit (80 for http/ws, 443 for https/wss); a trailing path is
/// dropped. nullopt for anything that is not an http(s)/ws(s) URL with a host.
std::optional<std::string> normalize_origin(std::string_view url);

/// May a request with this Origin header (nullopt: none sent) and Host
/// header upgrade? No Origin: yes (not a browser). `allowed` empty: only the
/// request's own origin (http or ws, Host with port 80 when omitted).
/// Otherwise only the listed origins, or any with "*": an explicit list does
/// not also admit "same origin", since a DNS-rebinding page is same origin
/// by Host.
bool origin_allowed(const std::optional<std::string_view>& origin, std::string_view host,
                    const std::vector<std::string>& allowed);

/// May a page of this node be sent to `url` (a peer's --public-url)? Only
/// when its origin is listed in `allowed` or `allowed` holds "*": a peer's
/// URL is the peer's word, and with the default rule no page of ours could
/// open a WebSocket there anyway.
bool peer_url_allowed(std::string_view url, const std::vector<std::string>& allowed);

} // namespace chat::net
