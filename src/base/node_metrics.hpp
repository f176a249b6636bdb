#pragma once

// What the node measures through prometheus-cpp: latency histograms and
// counters by reason or code. They are touched per publish, per replicate
// batch, per message and per connection event, rarely enough that the
// library's locks cost nothing beside a delivery; per-frame counts stay
// plain atomics in node_stats.

#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace chat {

/// Why a WebSocket connection ended (the `reason` label).
enum class close_reason {
  client,         ///< the client sent a close frame
  network,        ///< the TCP connection broke without one
  idle_timeout,   ///< no answer to our pings
  too_big,        ///< a frame over --max-frame-bytes
  slow_consumer,  ///< its queue, or the node's, was full
  token_expired,  ///< its token's exp passed
  shutdown,       ///< the node stopped or drained
  internal_error, ///< its connection actor died
  policy,         ///< closed by the server for another reason
};

const char* to_string(close_reason r);

class node_metrics {
  // First: everything below is registered in it.
  std::shared_ptr<prometheus::Registry> registry_;

public:
  node_metrics();
  node_metrics(const node_metrics&) = delete;
  node_metrics& operator=(const node_metrics&) = delete;

  /// Everything below, for the /metrics route.
  const prometheus::Registry& registry() const { return *registry_; }

  /// From a publish frame's arrival at its connection to the ack sent back.
  prometheus::Histogram& publish_ack_seconds;
  /// From a replicate batch sent to a peer's chat server to its answer.
  prometheus::Histogram& replication_rtt_seconds;
  /// From a message's timestamp (set by the node it was published on) to its
  /// hand-off to this node's connections; across nodes it includes their
  /// clocks' difference.
  prometheus::Histogram& delivery_lag_seconds;

  prometheus::Counter& connections_opened;
  prometheus::Counter& peers_up;
  prometheus::Counter& peers_down;

  void connection_closed(close_reason why);
  /// `code` is the error code of the refusal's JSON body.
  void upgrade_refused(const std::string& code);
  /// `kind`: resolve, unreachable, connect, handshake.
  void discovery_error(const std::string& kind);

private:
  prometheus::Family<prometheus::Counter>& closed_;
  prometheus::Family<prometheus::Counter>& refused_;
  prometheus::Family<prometheus::Counter>& discovery_;
};

} // namespace chat
