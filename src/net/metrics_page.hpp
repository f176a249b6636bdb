#pragma once

#include <string>

#include "net/server_context.hpp"

namespace chat::net {

/// /metrics on the admin port: the Prometheus text exposition (version
/// 0.0.4) of the node's counters and gauges, its histograms and labelled
/// counters (node_metrics), the process_* metrics and chat_build_info,
/// written by prometheus-cpp's serializer.
std::string metrics_text(server_context& ctx);

} // namespace chat::net
