#pragma once

#include <vector>

namespace chat {

/// What a transport wakes (an I/O thread) to take what was sent to it.
class waker {
public:
  virtual void wake() = 0;

protected:
  ~waker() = default;
};

/// While one is open on a thread, the wake-ups that this thread's sends to
/// frame sinks would cost wait until the outermost one closes: a message's
/// local fan-out and its sender's ack reach each I/O thread as one batch.
/// Without it, an I/O thread on an idle core wakes at the first frame,
/// takes it, sleeps, and is woken again by the next one a few microseconds
/// later (measured: two extra wake-ups per message on small rooms).
class wake_batch {
public:
  wake_batch();
  ~wake_batch();
  wake_batch(const wake_batch&) = delete;
  wake_batch& operator=(const wake_batch&) = delete;

  /// For a transport about to wake `w`: true when a batch is open on this
  /// thread and will wake `w` when it closes; false when it must wake now.
  static bool hold(waker& w);
};

} // namespace chat
