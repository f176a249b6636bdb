#include "net/lane_unit.hpp"

#include <boost/asio/post.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/message_id.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

namespace chat::net {

lane_unit::lane_unit(caf::actor_system& sys, boost::asio::io_context& ioc)
  : caf::execution_unit(&sys), ioc_(ioc), max_throughput_(sys.scheduler().max_throughput()) {}

lane_unit::~lane_unit() { release(); }

void lane_unit::tell(caf::abstract_actor& to, caf::message msg) {
  telling_ = true;
  to.enqueue(caf::make_mailbox_element(nullptr, caf::make_message_id(), {}, std::move(msg)), this);
  telling_ = false;
}

void lane_unit::exec_later(caf::resumable* job) {
  if (!telling_) {
    system().scheduler().enqueue(job);
    return;
  }
  queue(job);
}

void lane_unit::queue(caf::resumable* job) {
  ready_.push_back(job);
  // One handler for all the actors queued before it runs.
  if (ready_.size() == 1)
    boost::asio::post(ioc_, [this] { run_ready(); });
}

void lane_unit::run_ready() {
  running_.swap(ready_);
  for (auto* job : running_) {
    switch (job->resume(this, max_throughput_)) {
    case caf::resumable::resume_later: queue(job); break; // its throughput spent: after the others
    case caf::resumable::done:
    case caf::resumable::awaiting_message: intrusive_ptr_release(job); break;
    case caf::resumable::shutdown_execution_unit: break; // only the scheduler's own jobs say this
    }
  }
  running_.clear();
}

void lane_unit::release() {
  for (auto* job : ready_)
    system().scheduler().enqueue(job);
  ready_.clear();
}

} // namespace chat::net
