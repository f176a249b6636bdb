#pragma once

// The process_* metrics every Prometheus client exports (CPU seconds,
// resident and virtual memory, open and maximum fds, start time), read from
// /proc and getrusage when /metrics is scraped.

#include <vector>

#include <prometheus/metric_family.h>

namespace chat {

std::vector<prometheus::MetricFamily> process_metrics();

} // namespace chat
