#include "base/node_metrics.hpp"

namespace chat {

namespace {

using prometheus::Histogram;

/// Seconds, from half a millisecond (a publish on one idle node) to five
/// seconds (past the replicate timeout's default of two).
Histogram::BucketBoundaries latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
}

Histogram& histogram(prometheus::Registry& r, const std::string& name, const std::string& help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(r).Add({}, latency_buckets());
}

prometheus::Counter& counter(prometheus::Registry& r, const std::string& name, const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
}

prometheus::Family<prometheus::Counter>& labelled(prometheus::Registry& r, const std::string& name,
                                                  const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}

constexpr close_reason all_close_reasons[] = {
  close_reason::client,   close_reason::network,        close_reason::idle_timeout,
  close_reason::too_big,  close_reason::slow_consumer,  close_reason::token_expired,
  close_reason::shutdown, close_reason::internal_error, close_reason::policy,
};

} // namespace

const char* to_string(close_reason r) {
  switch (r) {
  case close_reason::client: return "client";
  case close_reason::network: return "network";
  case close_reason::idle_timeout: return "idle_timeout";
  case close_reason::too_big: return "too_big";
  case close_reason::slow_consumer: return "slow_consumer";
  case close_reason::token_expired: return "token_expired";
  case close_reason::shutdown: return "shutdown";
  case close_reason::internal_error: return "internal_error";
  case close_reason::policy: return "policy";
  }
  return "policy";
}

node_metrics::node_metrics()
  : registry_(std::make_shared<prometheus::Registry>()),
    publish_ack_seconds(histogram(*registry_, "chat_publish_ack_seconds",
                                  "From a publish frame's arrival to its ack (stored here and on a peer).")),
    replication_rtt_seconds(histogram(*registry_, "chat_replication_rtt_seconds",
                                      "From a replicate batch sent to a peer's chat server to its answer.")),
    delivery_lag_seconds(
      histogram(*registry_, "chat_delivery_lag_seconds",
                "From a message's timestamp (its origin node's clock) to its hand-off to this node's connections.")),
    connections_opened(counter(*registry_, "chat_connections_opened_total", "WebSocket connections accepted.")),
    peers_up(counter(*registry_, "chat_peer_up_total", "Peer nodes that came up (connected).")),
    peers_down(counter(*registry_, "chat_peer_down_total", "Peer nodes that went down (disconnected).")),
    closed_(labelled(*registry_, "chat_connections_closed_total", "WebSocket connections ended, by reason.")),
    refused_(labelled(*registry_, "chat_upgrade_refusals_total",
                      "WebSocket upgrades refused, by the error code of the answer.")),
    discovery_(labelled(*registry_, "chat_discovery_errors_total",
                        "Discovery failures: resolve (DNS), unreachable (TCP probe), connect (cluster "
                        "handshake), handshake (the peer's group scope).")) {
  // Every series from the start, so that rate() sees the first event.
  for (auto r : all_close_reasons)
    closed_.Add({{"reason", to_string(r)}});
  for (const char* code : {"bad_request", "unauthorized", "forbidden", "too_many_rooms", "draining", "overloaded"})
    refused_.Add({{"code", code}});
  for (const char* kind : {"resolve", "unreachable", "connect", "handshake"})
    discovery_.Add({{"kind", kind}});
}

void node_metrics::connection_closed(close_reason why) { closed_.Add({{"reason", to_string(why)}}).Increment(); }

void node_metrics::upgrade_refused(const std::string& code) { refused_.Add({{"code", code}}).Increment(); }

void node_metrics::discovery_error(const std::string& kind) { discovery_.Add({{"kind", kind}}).Increment(); }

} // namespace chat
