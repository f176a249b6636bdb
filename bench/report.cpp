// chat_bench_report: medians of several load generator runs, chatd beside
// the floor, as a table (markdown) and JSON; optionally a gnuplot data file.
//
//   chat_bench_report [--out summary.json] [--dat plot.dat] [--md table.md] run1.json run2.json ...
//
// Runs are grouped by their "scenario" field (one variant: a scenario, a rate
// of the sweep, a placement). Within a group the i-th "chat" run is paired
// with the i-th "floor" run (the script runs them back to back), the ratio is
// taken per pair and the median of those ratios is reported: on a shared,
// noisy machine a ratio of two neighbouring runs is steadier than either.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

using nlohmann::json;

namespace {

double median(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
  if (v.empty())
    return NAN;
  std::sort(v.begin(), v.end());
  auto n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double num(const json& j, std::initializer_list<const char*> path) {
  const json* p = &j;
  for (auto k : path) {
    if (!p->is_object() || !p->contains(k))
      return NAN;
    p = &(*p)[k];
  }
  return p->is_number() ? p->get<double>() : NAN;
}

std::string f(double v, int prec) {
  if (std::isnan(v))
    return "-";
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

json jnum(double v) { return std::isnan(v) ? json(nullptr) : json(v); }

struct variant {
  std::vector<json> chat, floor;
};

} // namespace

int main(int argc, char** argv) {
  std::string out_path, dat_path, md_path;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--out" && i + 1 < argc)
      out_path = argv[++i];
    else if (a == "--dat" && i + 1 < argc)
      dat_path = argv[++i];
    else if (a == "--md" && i + 1 < argc)
      md_path = argv[++i];
    else
      files.push_back(a);
  }
  std::sort(files.begin(), files.end());
  std::map<std::string, variant> groups;
  std::vector<std::string> order;
  for (const auto& path : files) {
    std::ifstream in(path);
    json j = json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      std::cerr << "chat_bench_report: skipping " << path << " (not JSON)\n";
      continue;
    }
    auto key = j.value("scenario", std::string("?"));
    if (!groups.count(key))
      order.push_back(key);
    (j.value("label", std::string()) == "floor" ? groups[key].floor : groups[key].chat).push_back(j);
  }

  json summary = json::array();
  std::string md;
  std::string dat = "# offered_deliveries_per_s chat_p50_ms chat_p90_ms chat_p99_ms floor_p50_ms floor_p90_ms "
                    "floor_p99_ms chat_us_per_delivery floor_us_per_delivery ratio\n";
  bool fanout_header = false, idle_header = false;
  for (const auto& key : order) {
    auto& g = groups[key];
    const auto& any = g.chat.empty() ? g.floor.front() : g.chat.front();
    if (any.value("mode", std::string()) == "idle") {
      auto per = [](const std::vector<json>& runs, const char* k) {
        std::vector<double> v;
        for (const auto& r : runs)
          v.push_back(num(r, {k}));
        return median(v);
      };
      std::vector<double> ratios;
      for (std::size_t i = 0; i < std::min(g.chat.size(), g.floor.size()); ++i)
        ratios.push_back(num(g.chat[i], {"rss_kib_per_connection"}) / num(g.floor[i], {"rss_kib_per_connection"}));
      double c = per(g.chat, "rss_kib_per_connection"), fl = per(g.floor, "rss_kib_per_connection");
      double conns = per(g.chat, "connections");
      json s{{"scenario", key},
             {"mode", "idle"},
             {"runs", g.chat.size()},
             {"connections", jnum(conns)},
             {"chat_rss_kib_per_connection", jnum(c)},
             {"chat_rss_kib_per_connection_last_stage", jnum(per(g.chat, "rss_kib_per_connection_last_stage"))},
             {"floor_rss_kib_per_connection", jnum(fl)},
             {"ratio", jnum(median(ratios))},
             {"capped_by", g.chat.empty() ? "" : g.chat.front().value("capped_by", "")}};
      summary.push_back(s);
      if (!idle_header) {
        md += "\n| scenario | runs | connections | chatd KiB/conn | (last stage) | floor KiB/conn | ratio |\n"
              "|---|---|---|---|---|---|---|\n";
        idle_header = true;
      }
      md += "| " + key + " | " + std::to_string(g.chat.size()) + " | " + f(conns, 0) + " | " + f(c, 2) + " | " +
            f(per(g.chat, "rss_kib_per_connection_last_stage"), 2) + " | " + f(fl, 2) + " | " + f(median(ratios), 1) +
            "x |\n";
      continue;
    }
    auto med = [](const std::vector<json>& runs, std::initializer_list<const char*> path) {
      std::vector<double> v;
      for (const auto& r : runs)
        v.push_back(num(r, path));
      return median(v);
    };
    auto total = [](const std::vector<json>& runs, const char* k) {
      double t = 0;
      for (const auto& r : runs)
        t += r.value(k, 0.0);
      return t;
    };
    std::vector<double> ratios;
    for (std::size_t i = 0; i < std::min(g.chat.size(), g.floor.size()); ++i)
      ratios.push_back(num(g.chat[i], {"server_cpu", "us_per_delivery"}) /
                       num(g.floor[i], {"server_cpu", "us_per_delivery"}));
    double ratio = median(ratios);
    auto side = [&](const std::vector<json>& runs) {
      return json{{"runs", runs.size()},
                  {"sent", jnum(med(runs, {"sent"}))},
                  {"acked", jnum(med(runs, {"acked"}))},
                  {"delivered", jnum(med(runs, {"delivered"}))},
                  {"lost_total", total(runs, "lost")},
                  {"duplicated_total", total(runs, "duplicated")},
                  {"gaps_total", total(runs, "gaps")},
                  {"closed_total", total(runs, "closed_by_server")},
                  {"deliveries_per_s", jnum(med(runs, {"window", "deliveries_per_s"}))},
                  {"offered_deliveries_per_s", jnum(med(runs, {"window", "offered_deliveries_per_s"}))},
                  {"p50_us", jnum(med(runs, {"latency_us", "p50"}))},
                  {"p90_us", jnum(med(runs, {"latency_us", "p90"}))},
                  {"p99_us", jnum(med(runs, {"latency_us", "p99"}))},
                  {"max_us", jnum(med(runs, {"latency_us", "max"}))},
                  {"us_per_delivery", jnum(med(runs, {"server_cpu", "us_per_delivery"}))},
                  {"user_us_per_delivery", jnum(med(runs, {"server_cpu", "user_us_per_delivery"}))},
                  {"sys_us_per_delivery", jnum(med(runs, {"server_cpu", "sys_us_per_delivery"}))},
                  {"server_cores", jnum(med(runs, {"server_cpu", "cores"}))},
                  {"rss_kib", jnum(med(runs, {"rss_kib_total"}))},
                  {"loadgen_cores", jnum(med(runs, {"loadgen_cpu", "cores"}))},
                  {"node_msgs_per_fanout", jnum(med(runs, {"node_msgs_per_fanout"}))},
                  {"remote_nodes_with_recipients_per_fanout",
                   jnum(med(runs, {"remote_nodes_with_recipients_per_fanout"}))},
                  {"remote_nodes_per_fanout", jnum(med(runs, {"remote_nodes_per_fanout"}))},
                  {"deliveries_per_fanout_metrics", jnum(med(runs, {"deliveries_per_fanout_metrics"}))},
                  {"frame_encodes_per_message", jnum(med(runs, {"frame_encodes_per_message"}))}};
    };
    json s{{"scenario", key},
           {"mode", "fanout"},
           {"nodes", any.value("nodes", 0)},
           {"clients", any.value("clients", 0)},
           {"rooms", any.value("rooms", 0)},
           {"senders", any.value("senders", 0)},
           {"rate", any.value("rate", 0.0)},
           {"placement", any.value("placement", "")},
           {"chat", side(g.chat)},
           {"floor", side(g.floor)},
           {"cpu_ratio", jnum(ratio)},
           {"cpu_ratios", ratios}};
    summary.push_back(s);
    if (!fanout_header) {
      md += "\n| scenario | server | runs | sent | acked | delivered | lost (all runs) | dup (all runs) | deliveries/s "
            "| p50 ms | p90 ms | p99 ms | max ms | CPU µs/delivery (user+sys) | vs floor | node msgs/fan-out | RSS MiB |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
      fanout_header = true;
    }
    for (const char* who : {"chat", "floor"}) {
      const auto& x = s[who];
      if (x["runs"].get<std::size_t>() == 0)
        continue;
      auto g2 = [&](const char* k) { return x[k].is_null() ? NAN : x[k].get<double>(); };
      std::string label = std::string(who) == "chat" ? "chatd ×" + std::to_string(s["nodes"].get<int>()) : "floor";
      md += "| " + key + " | " + label + " | " + std::to_string(x["runs"].get<std::size_t>()) + " | " +
            f(g2("sent"), 0) + " | " + f(g2("acked"), 0) + " | " + f(g2("delivered"), 0) + " | " +
            f(g2("lost_total"), 0) + " | " + f(g2("duplicated_total"), 0) + " | " + f(g2("deliveries_per_s"), 0) +
            " | " + f(g2("p50_us") / 1000, 2) + " | " + f(g2("p90_us") / 1000, 2) + " | " + f(g2("p99_us") / 1000, 2) +
            " | " + f(g2("max_us") / 1000, 1) + " | " + f(g2("us_per_delivery"), 2) + " (" +
            f(g2("user_us_per_delivery"), 2) + "+" + f(g2("sys_us_per_delivery"), 2) + ") | " +
            (std::string(who) == "chat" ? f(ratio, 2) + "×" : std::string("1×")) + " | " +
            (std::string(who) == "chat" ? f(g2("node_msgs_per_fanout"), 2) : std::string("-")) + " | " +
            f(g2("rss_kib") / 1024, 0) + " |\n";
    }
    auto c = s["chat"], fl = s["floor"];
    auto g3 = [](const json& x, const char* k) { return x[k].is_null() ? NAN : x[k].get<double>(); };
    dat += f(g3(c, "offered_deliveries_per_s"), 0) + " " + f(g3(c, "p50_us") / 1000, 3) + " " +
           f(g3(c, "p90_us") / 1000, 3) + " " + f(g3(c, "p99_us") / 1000, 3) + " " + f(g3(fl, "p50_us") / 1000, 3) +
           " " + f(g3(fl, "p90_us") / 1000, 3) + " " + f(g3(fl, "p99_us") / 1000, 3) + " " +
           f(g3(c, "us_per_delivery"), 3) + " " + f(g3(fl, "us_per_delivery"), 3) + " " + f(ratio, 3) + "\n";
  }
  // Node-to-node traffic, where there is any (chatd on more than one node).
  std::string nn;
  for (const auto& s : summary) {
    if (s["mode"] != "fanout" || s["nodes"].get<int>() < 2)
      continue;
    const auto& c = s["chat"];
    auto g = [&](const char* k) { return c[k].is_null() ? NAN : c[k].get<double>(); };
    if (nn.empty())
      nn = "\n| scenario | placement | remote nodes with recipients / fan-out | remote nodes / fan-out | node messages / "
           "fan-out (metrics) | deliveries / fan-out | frame encodes / message |\n|---|---|---|---|---|---|---|\n";
    nn += "| " + s["scenario"].get<std::string>() + " | " + s["placement"].get<std::string>() + " | " +
          f(g("remote_nodes_with_recipients_per_fanout"), 2) + " | " + f(g("remote_nodes_per_fanout"), 0) + " | " +
          f(g("node_msgs_per_fanout"), 3) + " | " + f(g("deliveries_per_fanout_metrics"), 2) + " | " +
          f(g("frame_encodes_per_message"), 3) + " |\n";
  }
  md += nn;
  std::cout << md;
  if (!md_path.empty())
    std::ofstream(md_path) << md;
  if (!out_path.empty())
    std::ofstream(out_path) << summary.dump(2) << "\n";
  if (!dat_path.empty())
    std::ofstream(dat_path) << dat;
  return 0;
}
