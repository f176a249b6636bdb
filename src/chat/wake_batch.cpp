#include "chat/wake_batch.hpp"

namespace chat {

namespace {

thread_local int open_batches = 0;
thread_local std::vector<waker*> held;

} // namespace

wake_batch::wake_batch() { ++open_batches; }

wake_batch::~wake_batch() {
  if (--open_batches > 0)
    return;
  // A wake is a post to an I/O thread: it never opens a batch of its own.
  for (auto* w : held)
    w->wake();
  held.clear();
}

bool wake_batch::hold(waker& w) {
  if (open_batches == 0)
    return false;
  held.push_back(&w);
  return true;
}

} // namespace chat
