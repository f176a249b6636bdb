#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "chat/wake_batch.hpp"
#include "net/lane_unit.hpp"
#include "protocol/frames.hpp"

namespace chat::net {

/// What an outbox hands its frames to: a WebSocket session, or a test double.
/// Called only on the I/O thread that owns the target.
class outbox_target {
public:
  virtual ~outbox_target() = default;
  virtual void deliver(protocol::frame_ptr frame) = 0;
  virtual void end(std::uint16_t code, std::string reason) = 0;
};

/// Frames bound for the sessions of one I/O thread. Any thread may push; the
/// first push of a batch posts one handler, which hands the whole batch to its
/// sessions in push order. A fan-out that reaches hundreds of sessions thus
/// wakes each I/O thread once instead of once per frame.
class frame_outbox : public chat::waker {
public:
  explicit frame_outbox(boost::asio::io_context& ioc) : ioc_(ioc) {}

  void push(std::shared_ptr<outbox_target> to, protocol::frame_ptr frame);
  /// A close goes the frames' way, so it never overtakes one sent before it.
  void push_close(std::shared_ptr<outbox_target> to, std::uint16_t code, std::string reason);
  /// Drains run so far (each one wake-up of the I/O thread); for tests.
  std::size_t drains() const { return drains_; }

  /// Posts the drain (at once, or when the pusher's chat::wake_batch closes).
  void wake() override;

private:
  struct item {
    std::shared_ptr<outbox_target> to;
    protocol::frame_ptr frame; ///< null for a close
    std::uint16_t code = 0;
    std::string reason;
  };
  void add(item it);
  void drain();

  boost::asio::io_context& ioc_;
  std::mutex mtx_;
  std::vector<item> pending_;  ///< guarded by mtx_
  bool scheduled_ = false;     ///< guarded by mtx_: a drain is posted and has not yet taken pending_
  std::vector<item> draining_; ///< the drain's own, on the I/O thread
  std::atomic<std::size_t> drains_{0};
};

/// The node's I/O threads, each with its own io_context: a socket and
/// everything done with it stay on one thread, so sessions need no strand and
/// a thread's frames can be handed over in batches (frame_outbox).
class io_lanes {
public:
  /// With `actors`, each lane has a lane_unit that runs the actors its
  /// sessions wake (actors_of).
  explicit io_lanes(std::size_t threads, caf::actor_system* actors = nullptr);
  ~io_lanes();

  /// The lane for the next accepted connection (round robin).
  boost::asio::io_context& next();
  /// The first lane: the listener, the signals, the drain timers.
  boost::asio::io_context& main() { return lanes_.front()->ioc; }
  /// The outbox of the lane that runs `ioc`.
  frame_outbox& outbox_of(const boost::asio::io_context& ioc);
  /// The actor unit of the lane that runs `ioc`; null without an actor system.
  lane_unit* actors_of(const boost::asio::io_context& ioc);

  void start();
  /// Stops every lane and joins its thread; queued handlers stay queued until
  /// the lanes are destroyed, and the actors waiting to run on a lane go to
  /// CAF's scheduler.
  void stop();

private:
  struct lane {
    boost::asio::io_context ioc{1};
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{ioc.get_executor()};
    frame_outbox outbox{ioc};
    std::unique_ptr<lane_unit> actors;
    std::thread thread;
  };
  lane& lane_of(const boost::asio::io_context& ioc);
  std::vector<std::unique_ptr<lane>> lanes_;
  std::size_t next_ = 0; ///< only the listener's lane picks
};

} // namespace chat::net
