#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "chat/seen_ids.hpp"
#include "protocol/frames.hpp"
#include "protocol/message.hpp"

namespace chat {

struct room_snapshot;

/// Where a connection's frames go (the WebSocket session, or a test double),
/// and the rooms the connection holds with the ids already sent in each.
///
/// The rooms live here, beside the socket's queue, rather than in the
/// connection actor, so that a fan-out shard can hand a room's message
/// straight to the sink: one hand-off per delivery less (no CAF message to
/// the connection actor, no scheduling of it). The connection actor changes
/// the rooms; shards and the connection actor deliver. Each check and the
/// send it allows happen under one lock, so nothing is sent for a room after
/// its `unsubscribed`, and no id twice.
class frame_sink {
public:
  virtual ~frame_sink() = default;

  // -- the transport: thread-safe, never blocking ------------------------------

  virtual void send(protocol::frame_ptr frame) = 0;
  virtual void close(std::uint16_t code, std::string reason) = 0;
  /// The connection actor finished one inbound frame: a session that paused
  /// reading at its bound of frames in flight may read again.
  virtual void frame_done() = 0;

  // -- the rooms held: any thread ---------------------------------------------

  /// The connection holds `room` from now on (true when it did not before).
  bool hold(const std::string& room, std::size_t seen_per_room);
  /// It no longer does (true when it did): nothing more is sent for it.
  bool release(const std::string& room);
  bool holds(const std::string& room) const;
  std::size_t rooms_held() const;

  /// A room's message, sent unless the room is not held or the id was sent.
  void deliver(const std::string& room, const std::string& id, const protocol::frame_ptr& frame);
  /// A room's other frame (typing, presence, a read receipt), sent while the
  /// room is held.
  void push(const std::string& room, const protocol::frame_ptr& frame);
  /// The client has `id` in `room` another way (its own message's ack).
  void mark_sent(const std::string& room, const std::string& id);
  /// A subscribe's answer for one room: `subscribed`, then the history, its
  /// ids marked sent; nothing when the room was released meanwhile.
  void open(const std::string& room, const std::vector<message>& history, const protocol::frame_ptr& subscribed,
            const protocol::frame_ptr& history_frame);

private:
  /// Held only for a map lookup and a queue push: a spin lock keeps the
  /// per-connection cost at one byte (a std::mutex is 40, paid by every idle
  /// connection).
  class spin_lock {
  public:
    void lock();
    void unlock() { flag_.clear(std::memory_order_release); }

  private:
    std::atomic_flag flag_ = ATOMIC_FLAG_INIT;
  };

  mutable spin_lock lock_;
  std::map<std::string, seen_ids> rooms_; ///< guarded by lock_
};

/// A subscribe's answer, each of its rooms opened on `sink` (frame_sink::open).
void open_rooms(frame_sink& sink, const std::vector<room_snapshot>& snaps);

} // namespace chat
