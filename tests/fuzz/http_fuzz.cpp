// HTTP requests as http_session reads them: Beast's request_parser with a
// string body and our 64 KiB body limit, fed in chunks of the size the first
// byte picks (as they arrive from a socket). Then the pure part of our
// routing: upgrade detection, target_path and, for /ws, check_upgrade.
// A request that parsed must serialize and parse back to the same request
// (with room for the header to grow: Beast writes "name: value" where the
// request may have had "name:value", so a header just under the limit can
// come back just over it).
// Requests with a Transfer-Encoding are only parsed, not round-tripped:
// Beast accepts one whose last coding is not chunked (the body is then
// empty; http_session answers 400) and adds chunked trailers to the header
// fields, so the written form is not the one that was read.

#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "fuzz_check.hpp"
#include "net/upgrade.hpp"

namespace beast = boost::beast;
namespace http = beast::http;
using request = http::request<http::string_body>;

namespace {

constexpr std::size_t body_limit = 64 * 1024; // as http_session::do_read

constexpr std::uint32_t header_limit = 16 * 1024; // as http_session

// Feeds `bytes` to a fresh parser `chunk` bytes at a time, then EOF.
bool parse(std::string_view bytes, std::size_t chunk, request& out, bool& chunked,
           std::uint32_t max_header = header_limit) {
  http::request_parser<http::string_body> parser;
  parser.body_limit(body_limit);
  parser.header_limit(max_header);
  beast::error_code ec;
  std::size_t have = 0; // bytes the parser has been shown (it may not consume all)
  std::size_t used = 0;
  while (!parser.is_done()) {
    have = std::min(bytes.size(), have + chunk);
    auto n = parser.put(boost::asio::buffer(bytes.data() + used, have - used), ec);
    used += n;
    if (ec == http::error::need_more)
      ec = {};
    if (ec)
      return false;
    if (!parser.is_done() && have == bytes.size() && (n == 0 || used == bytes.size())) {
      if (!parser.got_some())
        return false; // a read that got nothing is end_of_stream, as in async_read
      parser.put_eof(ec);
      if (ec || !parser.is_done())
        return false;
    }
  }
  FUZZ_CHECK(parser.get().body().size() <= body_limit);
  chunked = parser.chunked();
  out = parser.release();
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1)
    return 0;
  std::size_t chunk = data[0] == 0 ? 1 << 20 : data[0];
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  request req;
  bool chunked = false;
  if (!parse(bytes, chunk, req, chunked))
    return 0;

  auto path = chat::net::target_path(req.target());
  if (beast::websocket::is_upgrade(req) && path == "/ws") {
    chat::net::upgrade_rules rules;
    auto checked = chat::net::check_upgrade(req.target(), rules, 1700000000);
    (void)checked;
  }

  if (req.count(http::field::transfer_encoding))
    return 0;
  // What we parsed, Beast writes back in a form that parses the same.
  std::string wire;
  {
    http::request_serializer<http::string_body> sr{req};
    beast::error_code ec;
    do {
      sr.next(ec, [&](beast::error_code&, const auto& buffers) {
        for (auto b : beast::buffers_range_ref(buffers))
          wire.append(static_cast<const char*>(b.data()), b.size());
        sr.consume(beast::buffer_bytes(buffers));
      });
    } while (!ec && !sr.is_done());
    FUZZ_CHECK(!ec);
  }
  request again;
  bool again_chunked = false;
  FUZZ_CHECK(parse(wire, wire.size(), again, again_chunked, static_cast<std::uint32_t>(wire.size())));
  FUZZ_CHECK(again_chunked == chunked);
  FUZZ_CHECK(again.method_string() == req.method_string());
  FUZZ_CHECK(again.target() == req.target());
  FUZZ_CHECK(again.version() == req.version());
  FUZZ_CHECK(again.body() == req.body());
  return 0;
}
