#pragma once

// Counters and the cluster view that HTTP threads read (/metrics,
// /api/cluster, /readyz) while actors write them. Plain atomics, plus one
// mutex for the few structured values.

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "base/node_metrics.hpp"

namespace chat {

struct peer_info {
  std::string node;    ///< node name, once its chat server is known
  std::string node_id; ///< CAF node id
  std::string addr;    ///< host:port discovery reached it at
  std::string url;     ///< where browsers reach it (its --public-url)
};

struct cluster_info {
  std::vector<peer_info> peers;
  std::map<std::string, std::size_t> group_sizes;
};

struct node_stats {
  std::atomic<std::int64_t> connections{0};
  std::atomic<std::int64_t> messages_in{0};       ///< frames accepted from clients
  std::atomic<std::int64_t> published{0};         ///< messages this node originated
  std::atomic<std::int64_t> deliveries{0};        ///< frames queued to local connections
  std::atomic<std::int64_t> frames_out{0};        ///< frames written to sockets
  std::atomic<std::int64_t> drops_rate{0};        ///< publishes refused by the rate limit
  std::atomic<std::int64_t> drops_slow{0};        ///< connections closed as slow consumers
  std::atomic<std::int64_t> bad_frames{0};        ///< frames answered with an error
  std::atomic<std::int64_t> node_msgs_out{0};     ///< chat messages sent to other nodes
  std::atomic<std::int64_t> node_msgs_in{0};      ///< chat messages received from other nodes
  std::atomic<std::int64_t> restarts{0};          ///< supervised child restarts
  std::atomic<std::int64_t> chat_restarts{0};     ///< chat server restarts
  std::atomic<std::int64_t> peer_msgs_refused{0}; ///< peer messages dropped as invalid or unexpected
  std::atomic<std::int64_t> peers_dropped{0};     ///< peers cut off for not answering replicates
  std::atomic<std::int64_t> rooms_evicted{0};     ///< idle rooms forgotten to stay under the room bound
  std::atomic<std::int64_t> queued_bytes{0};      ///< outgoing bytes queued on all sessions, not yet written
  std::atomic<bool> resolved{false};              ///< discovery finished its first round
  std::atomic<bool> ready{false};
  std::atomic<bool> draining{false};
  std::atomic<bool> store_writable{true}; ///< false while the history store fails writes
  node_metrics metrics;                   ///< histograms and counters by reason

  cluster_info cluster() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return cluster_;
  }

  void set_cluster(cluster_info info) {
    std::lock_guard<std::mutex> guard{mtx_};
    cluster_ = std::move(info);
  }

private:
  mutable std::mutex mtx_;
  cluster_info cluster_;
};

} // namespace chat
