#include "net/metrics_page.hpp"

#include <prometheus/text_serializer.h>

#include "base/build_info.hpp"
#include "base/process_metrics.hpp"
#include "chat/messages.hpp"
#include "protocol/names.hpp"

namespace chat::net {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using labels = std::vector<ClientMetric::Label>;

/// Values that live elsewhere (atomics the hot path bumps, the cluster view,
/// the store) made into families when scraped; a series with the name of
/// the previous one joins its family.
class families {
public:
  void gauge(const char* name, const char* help, double value, labels l = {}) {
    add(name, help, MetricType::Gauge, std::move(l)).gauge.value = value;
  }

  void counter(const char* name, const char* help, double value) {
    add(name, help, MetricType::Counter, {}).counter.value = value;
  }

  std::vector<MetricFamily>& all() { return out_; }

private:
  ClientMetric& add(const char* name, const char* help, MetricType type, labels l) {
    if (out_.empty() || out_.back().name != name)
      out_.push_back(MetricFamily{name, help, type, {}});
    auto& m = out_.back().metric.emplace_back();
    m.label = std::move(l);
    return m;
  }

  std::vector<MetricFamily> out_;
};

/// Per-room series: asked for, and room names not hidden.
bool per_room(const server_context& ctx) { return ctx.cfg.metrics_per_room && !rooms_hidden(ctx); }

void node_counters(families& f, const node_stats& s) {
  f.counter("chat_messages_in_total", "Frames received from clients.", s.messages_in);
  f.counter("chat_messages_published_total", "Chat messages this node originated.", s.published);
  f.counter("chat_deliveries_total", "Frames handed to local connections by chat servers.", s.deliveries);
  f.counter("chat_messages_out_total", "Frames written to WebSocket clients.", s.frames_out);
  f.counter("chat_drops_rate_limited_total", "Publishes refused by the rate limit.", s.drops_rate);
  f.counter("chat_drops_slow_consumer_total", "Connections closed as slow consumers.", s.drops_slow);
  f.counter("chat_bad_frames_total", "Client frames answered with an error.", s.bad_frames);
  f.counter("chat_node_messages_out_total", "Replicate batches sent to other nodes' chat servers.", s.node_msgs_out);
  f.counter("chat_node_messages_in_total", "Chat messages received from other nodes' chat servers.", s.node_msgs_in);
  f.counter("chat_restarts_total", "Supervised actor restarts.", s.restarts);
  f.counter("chat_server_restarts_total", "Chat server restarts.", s.chat_restarts);
  f.counter("chat_peer_messages_refused_total", "Peer messages dropped as invalid or not from a known peer.",
            s.peer_msgs_refused);
  f.counter("chat_peers_dropped_total", "Peers disconnected for leaving replicates unanswered (time or bytes).",
            s.peers_dropped);
  f.counter("chat_rooms_evicted_total",
            "Idle rooms dropped from memory to stay under --max-node-rooms (from disk too without --data-dir).",
            s.rooms_evicted);
}

void node_gauges(families& f, const node_stats& s, const cluster_info& info, std::size_t rooms) {
  f.gauge("chat_connections", "Open WebSocket connections.", s.connections);
  f.gauge("chat_rooms", "Rooms whose history this node holds in memory (with --data-dir the rest is on disk).",
          static_cast<double>(rooms));
  f.gauge("chat_queued_bytes", "Outgoing bytes queued on all connections, not yet written.", s.queued_bytes);
  f.gauge("chat_cluster_peers", "Peer nodes this node sees.", static_cast<double>(info.peers.size()));
  f.gauge("chat_ready", "1 when /readyz answers 200.", s.ready && !s.draining && s.store_writable ? 1 : 0);
  f.gauge("chat_store_writable", "0 while the history store fails writes (publishes get error internal).",
          s.store_writable ? 1 : 0);
  f.gauge("chat_build_info", "1, labelled with the version and the commit of this binary.", 1,
          {{"version", build_version}, {"commit", build_commit}});
}

/// Without --metrics-per-room one series each: rooms are user-created, so a
/// series per room would grow without bound.
void room_gauges(families& f, server_context& ctx, const cluster_info& info,
                 const std::map<std::string, std::size_t>& sizes) {
  const char* history_help = "Messages kept in rooms' history windows in memory.";
  if (per_room(ctx)) {
    // DM room names say who writes to whom: not even here.
    for (const auto& [room, n] : sizes)
      if (!protocol::is_dm_room(room))
        f.gauge("chat_history_messages", history_help, static_cast<double>(n), {{"room", room}});
  } else {
    std::size_t total = 0;
    for (const auto& [room, n] : sizes)
      total += n;
    f.gauge("chat_history_messages", history_help, static_cast<double>(total));
  }
  for (const auto& [group, n] : info.group_sizes)
    if (!private_group(group) && (room_of(group).empty() || per_room(ctx)))
      f.gauge("chat_group_members", "Members of a process group, cluster-wide.", static_cast<double>(n),
              {{"group", group}});
}

} // namespace

std::string metrics_text(server_context& ctx) {
  auto info = ctx.stats->cluster();
  auto sizes = ctx.store->sizes();
  families f;
  node_gauges(f, *ctx.stats, info, sizes.size());
  node_counters(f, *ctx.stats);
  room_gauges(f, ctx, info, sizes);
  auto out = std::move(f.all());
  for (auto& fam : ctx.stats->metrics.registry().Collect())
    out.push_back(std::move(fam));
  for (auto& fam : process_metrics())
    out.push_back(std::move(fam));
  return prometheus::TextSerializer().Serialize(out);
}

} // namespace chat::net
