// base/node_metrics and base/process_metrics: what /metrics is made of.

#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <set>
#include <string>

#include "base/node_metrics.hpp"
#include "base/process_metrics.hpp"

using namespace chat;

namespace {

const prometheus::MetricFamily* find(const std::vector<prometheus::MetricFamily>& fams, const std::string& name) {
  auto it = std::find_if(fams.begin(), fams.end(), [&](const auto& f) { return f.name == name; });
  return it == fams.end() ? nullptr : &*it;
}

/// The value of the counter series of `name` labelled `label`=`value`.
double counter(const node_metrics& m, const std::string& name, const std::string& label, const std::string& value) {
  auto fams = m.registry().Collect();
  auto* f = find(fams, name);
  REQUIRE(f != nullptr);
  for (const auto& s : f->metric)
    for (const auto& l : s.label)
      if (l.name == label && l.value == value)
        return s.counter.value;
  FAIL("no series " << name << "{" << label << "=" << value << "}");
  return -1;
}

} // namespace

TEST_CASE("node_metrics: every close reason has its own series from the start, and counts only its own closes") {
  node_metrics m;
  const close_reason all[] = {close_reason::client,   close_reason::network,        close_reason::idle_timeout,
                              close_reason::too_big,  close_reason::slow_consumer,  close_reason::token_expired,
                              close_reason::shutdown, close_reason::internal_error, close_reason::policy};
  std::set<std::string> names;
  for (auto r : all) {
    names.insert(to_string(r));
    CHECK(counter(m, "chat_connections_closed_total", "reason", to_string(r)) == 0);
  }
  CHECK(names.size() == std::size(all));
  m.connection_closed(close_reason::slow_consumer);
  m.connection_closed(close_reason::slow_consumer);
  m.connection_closed(close_reason::client);
  CHECK(counter(m, "chat_connections_closed_total", "reason", "slow_consumer") == 2);
  CHECK(counter(m, "chat_connections_closed_total", "reason", "client") == 1);
  CHECK(counter(m, "chat_connections_closed_total", "reason", "network") == 0);
}

TEST_CASE("node_metrics: refusals by code and discovery errors by kind") {
  node_metrics m;
  CHECK(counter(m, "chat_upgrade_refusals_total", "code", "overloaded") == 0);
  m.upgrade_refused("overloaded");
  m.upgrade_refused("unauthorized");
  m.upgrade_refused("unauthorized");
  CHECK(counter(m, "chat_upgrade_refusals_total", "code", "overloaded") == 1);
  CHECK(counter(m, "chat_upgrade_refusals_total", "code", "unauthorized") == 2);
  m.discovery_error("resolve");
  CHECK(counter(m, "chat_discovery_errors_total", "kind", "resolve") == 1);
  CHECK(counter(m, "chat_discovery_errors_total", "kind", "connect") == 0);
}

TEST_CASE("node_metrics: latency histograms in seconds, with buckets from half a millisecond to five seconds") {
  node_metrics m;
  m.publish_ack_seconds.Observe(0.002);
  m.publish_ack_seconds.Observe(7);
  auto fams = m.registry().Collect();
  auto* f = find(fams, "chat_publish_ack_seconds");
  REQUIRE(f != nullptr);
  CHECK(f->type == prometheus::MetricType::Histogram);
  const auto& h = f->metric.at(0).histogram;
  CHECK(h.sample_count == 2);
  CHECK(h.sample_sum == doctest::Approx(7.002));
  REQUIRE(h.bucket.size() == 14); // 13 bounds and +Inf
  CHECK(h.bucket.front().upper_bound == doctest::Approx(0.0005));
  CHECK(h.bucket.front().cumulative_count == 0);
  CHECK(h.bucket[12].upper_bound == doctest::Approx(5));
  CHECK(h.bucket[12].cumulative_count == 1); // 7 s is only in +Inf
  CHECK(h.bucket.back().cumulative_count == 2);
  for (const char* name : {"chat_replication_rtt_seconds", "chat_delivery_lag_seconds"})
    CHECK(find(fams, name) != nullptr);
}

TEST_CASE("process_metrics: the standard process_* families with this process's values") {
  auto fams = process_metrics();
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
                           "process_open_fds", "process_max_fds", "process_start_time_seconds"})
    REQUIRE_MESSAGE(find(fams, name) != nullptr, name);
  auto value = [&](const char* name) {
    const auto& m = find(fams, name)->metric.at(0);
    return find(fams, name)->type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
  };
  CHECK(find(fams, "process_cpu_seconds_total")->type == prometheus::MetricType::Counter);
  CHECK(value("process_resident_memory_bytes") > 1 << 20);
  CHECK(value("process_virtual_memory_bytes") >= value("process_resident_memory_bytes"));
  // The fds this test opens show up.
  auto before = value("process_open_fds");
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  fams = process_metrics();
  CHECK(value("process_open_fds") == before + 2);
  close(fds[0]);
  close(fds[1]);
  CHECK(value("process_open_fds") < value("process_max_fds"));
  auto now = static_cast<double>(time(nullptr));
  CHECK(value("process_start_time_seconds") > now - 3600);
  CHECK(value("process_start_time_seconds") <= now + 1);
}
