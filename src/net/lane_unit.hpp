#pragma once

#include <cstddef>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <caf/abstract_actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/execution_unit.hpp>
#include <caf/message.hpp>
#include <caf/resumable.hpp>

namespace chat::net {

/// Runs on an I/O lane's thread the actors that its sessions wake.
///
/// A session hands each inbound frame to its connection actor. Sent the
/// usual way, that wakes a CAF scheduler thread for every message a client
/// sends; told through its lane's unit, an actor the frame wakes runs on the
/// lane, right after the handler that read the frame, and the frame is
/// parsed where it was read (as the floor does). CAF runs an actor on the
/// execution unit that woke it, one unit at a time, so the same actor still
/// runs on the scheduler when something else wakes it.
///
/// Only the actors that `tell` wakes run here: whatever an actor running
/// here wakes in turn goes to the scheduler, so no other actor's work lands
/// on an I/O thread. Everything but `release` runs on the lane's thread.
class lane_unit : public caf::execution_unit {
public:
  lane_unit(caf::actor_system& sys, boost::asio::io_context& ioc);
  ~lane_unit() override;

  /// `msg` to `to`, anonymously, as `caf::anon_send` would.
  void tell(caf::abstract_actor& to, caf::message msg);

  void exec_later(caf::resumable* job) override;

  /// After the lane's thread stopped: the actors still waiting to run here
  /// go to the scheduler, so that none is left never to run again.
  void release();

private:
  /// To run on the lane, after what is queued already.
  void queue(caf::resumable* job);
  void run_ready();

  boost::asio::io_context& ioc_;
  std::size_t max_throughput_;
  bool telling_ = false;                 ///< inside tell: a job to exec_later is the actor told
  std::vector<caf::resumable*> ready_;   ///< woken by tell, each holding a reference
  std::vector<caf::resumable*> running_; ///< the batch run_ready works off
};

} // namespace chat::net
