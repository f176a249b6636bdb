#include "net/session_stream.hpp"

namespace chat::net {

text_frame_header text_header(std::size_t payload_size) {
  text_frame_header h;
  h.bytes[0] = 0x81; // FIN, text
  if (payload_size < 126) {
    h.bytes[1] = static_cast<unsigned char>(payload_size);
    h.size = 2;
  } else if (payload_size <= 0xffff) {
    h.bytes[1] = 126;
    h.bytes[2] = static_cast<unsigned char>(payload_size >> 8);
    h.bytes[3] = static_cast<unsigned char>(payload_size);
    h.size = 4;
  } else {
    h.bytes[1] = 127;
    for (int i = 0; i < 8; ++i)
      h.bytes[2 + i] = static_cast<unsigned char>(static_cast<std::uint64_t>(payload_size) >> (8 * (7 - i)));
    h.size = 10;
  }
  return h;
}

std::size_t session_stream::write_now(const text_frame_header& head, const protocol::frame_ptr& frame,
                                      boost::beast::error_code& ec) {
  std::array<boost::asio::const_buffer, 2> bufs{boost::asio::buffer(head.bytes.data(), head.size),
                                                boost::asio::buffer(*frame)};
  // The socket is in non-blocking mode (the session sets it): a full send
  // buffer answers would_block at once instead of waiting.
  auto n = next_layer().write_some(bufs, ec);
  if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again)
    ec = {};
  return n;
}

std::array<boost::asio::const_buffer, 2> session_stream::rest::buffers(std::size_t sent) const {
  if (sent < head.size)
    return {boost::asio::buffer(head.bytes.data() + sent, head.size - sent), boost::asio::buffer(*frame)};
  auto off = sent - head.size;
  return {boost::asio::const_buffer{}, boost::asio::buffer(frame->data() + off, frame->size() - off)};
}

} // namespace chat::net
