#include "net/io_lanes.hpp"

#include <pthread.h>

#include <string>

#include <boost/asio/post.hpp>

namespace chat::net {

void frame_outbox::push(std::shared_ptr<outbox_target> to, protocol::frame_ptr frame) {
  add(item{std::move(to), std::move(frame), 0, {}});
}

void frame_outbox::push_close(std::shared_ptr<outbox_target> to, std::uint16_t code, std::string reason) {
  add(item{std::move(to), nullptr, code, std::move(reason)});
}

void frame_outbox::add(item it) {
  bool post = false;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    pending_.push_back(std::move(it));
    post = !scheduled_;
    scheduled_ = true;
  }
  if (post && !chat::wake_batch::hold(*this))
    wake();
}

void frame_outbox::wake() {
  boost::asio::post(ioc_, [this] { drain(); });
}

void frame_outbox::drain() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    draining_.swap(pending_);
    scheduled_ = false;
  }
  ++drains_;
  for (auto& it : draining_) {
    if (it.frame)
      it.to->deliver(std::move(it.frame));
    else
      it.to->end(it.code, std::move(it.reason));
  }
  // Keeps the capacity: the next batch of this size allocates nothing.
  draining_.clear();
}

io_lanes::io_lanes(std::size_t threads, caf::actor_system* actors) {
  for (std::size_t i = 0; i < std::max<std::size_t>(1, threads); ++i) {
    lanes_.push_back(std::make_unique<lane>());
    if (actors)
      lanes_.back()->actors = std::make_unique<lane_unit>(*actors, lanes_.back()->ioc);
  }
}

io_lanes::~io_lanes() { stop(); }

boost::asio::io_context& io_lanes::next() {
  auto& l = *lanes_[next_];
  next_ = (next_ + 1) % lanes_.size();
  return l.ioc;
}

io_lanes::lane& io_lanes::lane_of(const boost::asio::io_context& ioc) {
  for (auto& l : lanes_)
    if (&l->ioc == &ioc)
      return *l;
  return *lanes_.front(); // not reached: every socket runs on a lane
}

frame_outbox& io_lanes::outbox_of(const boost::asio::io_context& ioc) { return lane_of(ioc).outbox; }

lane_unit* io_lanes::actors_of(const boost::asio::io_context& ioc) { return lane_of(ioc).actors.get(); }

void io_lanes::start() {
  for (std::size_t i = 0; i < lanes_.size(); ++i) {
    auto& l = *lanes_[i];
    l.thread = std::thread([&ioc = l.ioc] { ioc.run(); });
    // Named for top and perf: a thread otherwise inherits its creator's
    // name, and the lanes showed up as a second "caf.multiplexer".
    auto name = "chat.io" + std::to_string(i);
    pthread_setname_np(l.thread.native_handle(), name.c_str());
  }
}

void io_lanes::stop() {
  for (auto& l : lanes_)
    l->ioc.stop();
  for (auto& l : lanes_)
    if (l->thread.joinable())
      l->thread.join();
  for (auto& l : lanes_)
    if (l->actors)
      l->actors->release();
}

} // namespace chat::net
