// chat_bench_report: medians of several load generator runs, chatd beside
// the reference a user would pick instead (Socket.IO 4 + Redis adapter) and
// the floor, as a table (markdown) and JSON; optionally gnuplot data files.
//
//   chat_bench_report [--out summary.json] [--dat plot.dat] [--md table.md]
//                     [--ceiling-dat ceiling.dat] run1.json run2.json ...
//
// Runs are grouped by their "scenario" field (one variant: a scenario, a rate
// of the sweep, a placement). Within a group the i-th "chat", "floor" and
// "socketio" runs are neighbours (the script runs them back to back), so a
// ratio is taken per pair and the median of those ratios is reported: on a
// shared, noisy machine a ratio of two neighbouring runs is steadier than
// either.
//
// Runs with a string "ceiling" field are steps of a ceiling search instead
// (the offered rate raised until a label fails): they are kept out of the
// fan-out table and plot.dat, and reported as the highest rate each label
// sustained.

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

// What a ceiling step must meet to count as sustained.
constexpr double ceiling_p99_us = 50000;
constexpr double ceiling_min_fraction = 0.95;

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

// A field of a summary object written by jnum (null when unknown).
double get(const json& x, const char* k) { return x.contains(k) && x[k].is_number() ? x[k].get<double>() : NAN; }

// A zero or unknown denominator means "no ratio", not infinity.
double safe_div(double a, double b) { return b > 0 ? a / b : NAN; }

std::string f(double v, int prec) {
  if (std::isnan(v))
    return "-";
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

json jnum(double v) { return std::isnan(v) ? json(nullptr) : json(v); }

struct variant {
  std::vector<json> chat, floor, socketio;
};

std::vector<json>& runs_of(variant& g, const std::string& label) {
  if (label == "floor")
    return g.floor;
  if (label == "socketio")
    return g.socketio;
  return g.chat;
}

double med(const std::vector<json>& runs, std::initializer_list<const char*> path) {
  std::vector<double> v;
  for (const auto& r : runs)
    v.push_back(num(r, path));
  return median(v);
}

double total(const std::vector<json>& runs, const char* k) {
  double t = 0;
  for (const auto& r : runs)
    t += r.value(k, 0.0);
  return t;
}

// Per-neighbour ratios a[i] / b[i] of one field.
std::vector<double> pair_ratios(const std::vector<json>& a, const std::vector<json>& b,
                                std::initializer_list<const char*> path) {
  std::vector<double> v;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    v.push_back(safe_div(num(a[i], path), num(b[i], path)));
  return v;
}

// -- idle ------------------------------------------------------------------------------------

json idle_entry(const std::string& key, const variant& g) {
  auto ratios = pair_ratios(g.chat, g.floor, {"rss_kib_per_connection"});
  json s{{"scenario", key},
         {"mode", "idle"},
         {"runs", g.chat.size()},
         {"connections", jnum(med(g.chat, {"connections"}))},
         {"chat_rss_kib_per_connection", jnum(med(g.chat, {"rss_kib_per_connection"}))},
         {"chat_rss_kib_per_connection_last_stage", jnum(med(g.chat, {"rss_kib_per_connection_last_stage"}))},
         {"floor_rss_kib_per_connection", jnum(med(g.floor, {"rss_kib_per_connection"}))},
         {"ratio", jnum(median(ratios))},
         {"capped_by", g.chat.empty() ? "" : g.chat.front().value("capped_by", "")}};
  if (!g.socketio.empty()) {
    s["socketio_runs"] = g.socketio.size();
    s["socketio_rss_kib_per_connection"] = jnum(med(g.socketio, {"rss_kib_per_connection"}));
  }
  return s;
}

std::string idle_header(bool with_socketio) {
  return with_socketio ? "\n| scenario | runs | connections | chatd KiB/conn | (last stage) | floor KiB/conn | ratio "
                         "| Socket.IO+Redis KiB/conn |\n|---|---|---|---|---|---|---|---|\n"
                       : "\n| scenario | runs | connections | chatd KiB/conn | (last stage) | floor KiB/conn | ratio "
                         "|\n|---|---|---|---|---|---|---|\n";
}

std::string idle_row(const json& s, bool with_socketio) {
  std::string row = "| " + s["scenario"].get<std::string>() + " | " + std::to_string(s["runs"].get<std::size_t>())
    + " | " + f(get(s, "connections"), 0) + " | " + f(get(s, "chat_rss_kib_per_connection"), 2) + " | "
    + f(get(s, "chat_rss_kib_per_connection_last_stage"), 2) + " | " + f(get(s, "floor_rss_kib_per_connection"), 2)
    + " | " + f(get(s, "ratio"), 1) + "x |";
  if (with_socketio)
    row += " " + f(get(s, "socketio_rss_kib_per_connection"), 2) + " |";
  return row + "\n";
}

// -- fan-out ---------------------------------------------------------------------------------

json side(const std::vector<json>& runs) {
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
              {"remote_nodes_with_recipients_per_fanout", jnum(med(runs, {"remote_nodes_with_recipients_per_fanout"}))},
              {"remote_nodes_per_fanout", jnum(med(runs, {"remote_nodes_per_fanout"}))},
              {"deliveries_per_fanout_metrics", jnum(med(runs, {"deliveries_per_fanout_metrics"}))},
              {"frame_encodes_per_message", jnum(med(runs, {"frame_encodes_per_message"}))}};
}

json fanout_entry(const std::string& key, const variant& g, const json& any) {
  const std::initializer_list<const char*> cpu{"server_cpu", "us_per_delivery"};
  auto ratios = pair_ratios(g.chat, g.floor, cpu);
  auto sio_ratios = pair_ratios(g.socketio, g.floor, cpu);
  auto advantages = pair_ratios(g.socketio, g.chat, cpu);
  return json{{"scenario", key},
              {"mode", "fanout"},
              {"nodes", any.value("nodes", 0)},
              {"clients", any.value("clients", 0)},
              {"rooms", any.value("rooms", 0)},
              {"senders", any.value("senders", 0)},
              {"rate", any.value("rate", 0.0)},
              {"placement", any.value("placement", "")},
              {"chat", side(g.chat)},
              {"floor", side(g.floor)},
              {"socketio", side(g.socketio)},
              {"cpu_ratio", jnum(median(ratios))},
              {"cpu_ratios", ratios},
              {"socketio_cpu_ratio", jnum(median(sio_ratios))},
              {"socketio_cpu_ratios", sio_ratios},
              {"chat_vs_socketio", jnum(median(advantages))},
              {"chat_vs_socketio_ratios", advantages}};
}

const char* fanout_header =
  "\n| scenario | server | runs | sent | acked | delivered | lost (all runs) | dup (all runs) | deliveries/s "
  "| p50 ms | p90 ms | p99 ms | max ms | CPU µs/delivery (user+sys) | vs floor | node msgs/fan-out | RSS MiB "
  "| chatd CPU advantage |\n"
  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";

std::string fanout_row(const std::string& key, const std::string& label, const json& x, const std::string& vs_floor,
                       const std::string& node_msgs, const std::string& advantage) {
  auto g = [&](const char* k) { return get(x, k); };
  return "| " + key + " | " + label + " | " + std::to_string(x["runs"].get<std::size_t>()) + " | " + f(g("sent"), 0)
    + " | " + f(g("acked"), 0) + " | " + f(g("delivered"), 0) + " | " + f(g("lost_total"), 0) + " | "
    + f(g("duplicated_total"), 0) + " | " + f(g("deliveries_per_s"), 0) + " | " + f(g("p50_us") / 1000, 2) + " | "
    + f(g("p90_us") / 1000, 2) + " | " + f(g("p99_us") / 1000, 2) + " | " + f(g("max_us") / 1000, 1) + " | "
    + f(g("us_per_delivery"), 2) + " (" + f(g("user_us_per_delivery"), 2) + "+" + f(g("sys_us_per_delivery"), 2)
    + ") | " + vs_floor + " | " + node_msgs + " | " + f(g("rss_kib") / 1024, 0) + " | " + advantage + " |\n";
}

// r = Socket.IO CPU per delivery / chatd's; worded so that r < 1 is not
// dressed up as an advantage.
std::string advantage(double r) {
  if (std::isnan(r))
    return "-";
  return r >= 1 ? f(r, 1) + "× less than Socket.IO" : f(1 / r, 1) + "× more than Socket.IO";
}

std::string fanout_rows(const json& s) {
  const auto key = s["scenario"].get<std::string>();
  const auto nodes = std::to_string(s["nodes"].get<int>());
  auto has = [&](const char* who) { return s[who]["runs"].get<std::size_t>() > 0; };
  std::string md;
  if (has("chat"))
    md += fanout_row(key, "chatd ×" + nodes, s["chat"], f(get(s, "cpu_ratio"), 2) + "×",
                     f(get(s["chat"], "node_msgs_per_fanout"), 2), advantage(get(s, "chat_vs_socketio")));
  if (has("socketio"))
    md +=
      fanout_row(key, "Socket.IO+Redis ×" + nodes, s["socketio"], f(get(s, "socketio_cpu_ratio"), 2) + "×", "-", "-");
  if (has("floor"))
    md += fanout_row(key, "floor", s["floor"], "1×", "-", "-");
  return md;
}

const char* dat_header = "# offered_deliveries_per_s chat_p50_ms chat_p90_ms chat_p99_ms floor_p50_ms floor_p90_ms "
                         "floor_p99_ms chat_us_per_delivery floor_us_per_delivery ratio socketio_p50_ms "
                         "socketio_p90_ms socketio_p99_ms socketio_us_per_delivery socketio_ratio\n";

std::string dat_line(const json& s) {
  const auto &c = s["chat"], &fl = s["floor"], &sio = s["socketio"];
  auto ms = [](const json& x, const char* k) { return " " + f(get(x, k) / 1000, 3); };
  return f(get(c, "offered_deliveries_per_s"), 0) + ms(c, "p50_us") + ms(c, "p90_us") + ms(c, "p99_us")
    + ms(fl, "p50_us") + ms(fl, "p90_us") + ms(fl, "p99_us") + " " + f(get(c, "us_per_delivery"), 3) + " "
    + f(get(fl, "us_per_delivery"), 3) + " " + f(get(s, "cpu_ratio"), 3) + ms(sio, "p50_us") + ms(sio, "p90_us")
    + ms(sio, "p99_us") + " " + f(get(sio, "us_per_delivery"), 3) + " " + f(get(s, "socketio_cpu_ratio"), 3) + "\n";
}

// Node-to-node traffic, where there is any (chatd on more than one node).
std::string node_table(const json& summary) {
  std::string nn;
  for (const auto& s : summary) {
    if (s["mode"] != "fanout" || s["nodes"].get<int>() < 2)
      continue;
    const auto& c = s["chat"];
    auto g = [&](const char* k) { return get(c, k); };
    if (nn.empty())
      nn =
        "\n| scenario | placement | remote nodes with recipients / fan-out | remote nodes / fan-out | node messages / "
        "fan-out (metrics) | deliveries / fan-out | frame encodes / message |\n|---|---|---|---|---|---|---|\n";
    nn += "| " + s["scenario"].get<std::string>() + " | " + s["placement"].get<std::string>() + " | "
      + f(g("remote_nodes_with_recipients_per_fanout"), 2) + " | " + f(g("remote_nodes_per_fanout"), 0) + " | "
      + f(g("node_msgs_per_fanout"), 3) + " | " + f(g("deliveries_per_fanout_metrics"), 2) + " | "
      + f(g("frame_encodes_per_message"), 3) + " |\n";
  }
  return nn;
}

// -- ceiling ---------------------------------------------------------------------------------

// Why a step is not sustained, or "" when it is. Unknown values fail: a step
// we cannot judge does not raise the ceiling.
std::string step_failure(const json& run) {
  double p99 = num(run, {"latency_us", "p99"});
  double got = num(run, {"window", "deliveries_per_s"});
  double offered = num(run, {"window", "offered_deliveries_per_s"});
  double lost = num(run, {"lost"});
  if (!(p99 <= ceiling_p99_us))
    return std::isnan(p99) ? "no p99" : "p99 > " + f(ceiling_p99_us / 1000, 0) + " ms";
  if (!(got >= ceiling_min_fraction * offered))
    return "< " + f(ceiling_min_fraction * 100, 0) + " % of offered";
  if (!(lost == 0))
    return std::isnan(lost) ? "no loss count" : "lost " + f(lost, 0);
  return "";
}

json ceiling_side(std::vector<json> runs) {
  // Steps in the order the search took them.
  std::stable_sort(runs.begin(), runs.end(), [](const json& a, const json& b) {
    return num(a, {"window", "offered_deliveries_per_s"}) < num(b, {"window", "offered_deliveries_per_s"});
  });
  json steps = json::array();
  double best = runs.empty() ? NAN : 0;
  for (const auto& r : runs) {
    auto why = step_failure(r);
    double got = num(r, {"window", "deliveries_per_s"});
    if (why.empty())
      best = std::max(best, got);
    steps.push_back({{"scenario", r.value("scenario", "")},
                     {"nodes", r.value("nodes", 0)},
                     {"rate", jnum(num(r, {"rate"}))},
                     {"offered_deliveries_per_s", jnum(num(r, {"window", "offered_deliveries_per_s"}))},
                     {"deliveries_per_s", jnum(got)},
                     {"p99_us", jnum(num(r, {"latency_us", "p99"}))},
                     {"lost", jnum(num(r, {"lost"}))},
                     {"us_per_delivery", jnum(num(r, {"server_cpu", "us_per_delivery"}))},
                     {"sustained", why.empty()},
                     {"why_not", why}});
  }
  return json{{"steps_run", runs.size()}, {"ceiling_deliveries_per_s", jnum(best)}, {"steps", steps}};
}

json ceiling_entry(const std::string& family, const variant& g) {
  json s{{"scenario", family},
         {"mode", "ceiling"},
         {"criteria", {{"p99_us_max", ceiling_p99_us}, {"min_fraction_of_offered", ceiling_min_fraction}, {"lost", 0}}},
         {"chat", ceiling_side(g.chat)},
         {"socketio", ceiling_side(g.socketio)},
         {"floor", ceiling_side(g.floor)}};
  auto top = [&](const char* who) { return get(s[who], "ceiling_deliveries_per_s"); };
  s["chat_over_socketio"] = jnum(safe_div(top("chat"), top("socketio")));
  s["chat_over_floor"] = jnum(safe_div(top("chat"), top("floor")));
  return s;
}

std::string ceiling_label(const std::string& who, const json& step) {
  auto nodes = std::to_string(step["nodes"].get<int>());
  if (who == "chat")
    return "chatd ×" + nodes;
  return who == "socketio" ? "Socket.IO+Redis ×" + nodes : "floor";
}

std::string ceiling_tables(const std::vector<json>& entries) {
  if (entries.empty())
    return "";
  std::string top = "\nCeiling: the highest deliveries/s a server sustained (p99 ≤ " + f(ceiling_p99_us / 1000, 0)
    + " ms, at least " + f(ceiling_min_fraction * 100, 0)
    + " % of the offered rate delivered, nothing lost).\n\n"
      "| ceiling | chatd | Socket.IO+Redis | floor | chatd / Socket.IO | chatd / floor |\n"
      "|---|---|---|---|---|---|\n";
  std::string steps = "\n| ceiling | server | offered deliveries/s | deliveries/s | p99 ms | lost | sustained |\n"
                      "|---|---|---|---|---|---|---|\n";
  for (const auto& s : entries) {
    const auto family = s["scenario"].get<std::string>();
    auto best = [&](const char* who) { return f(get(s[who], "ceiling_deliveries_per_s"), 0); };
    top += "| " + family + " | " + best("chat") + " | " + best("socketio") + " | " + best("floor") + " | "
      + f(get(s, "chat_over_socketio"), 2) + " | " + f(get(s, "chat_over_floor"), 2) + " |\n";
    for (const char* who : {"chat", "socketio", "floor"})
      for (const auto& st : s[who]["steps"]) {
        auto why = st["why_not"].get<std::string>();
        steps += "| " + family + " | " + ceiling_label(who, st) + " | " + f(get(st, "offered_deliveries_per_s"), 0)
          + " | " + f(get(st, "deliveries_per_s"), 0) + " | " + f(get(st, "p99_us") / 1000, 2) + " | "
          + f(get(st, "lost"), 0) + " | " + (why.empty() ? "yes" : "no (" + why + ")") + " |\n";
      }
  }
  return top + steps;
}

std::string ceiling_dat(const std::vector<json>& entries) {
  std::string dat = "# family chat_ceiling socketio_ceiling floor_ceiling (deliveries/s)\n";
  for (const auto& s : entries) {
    dat += s["scenario"].get<std::string>();
    for (const char* who : {"chat", "socketio", "floor"})
      dat += " " + f(get(s[who], "ceiling_deliveries_per_s"), 0);
    dat += "\n";
  }
  return dat;
}

// -- input -----------------------------------------------------------------------------------

struct groups {
  std::map<std::string, variant> by_key;
  std::vector<std::string> order;

  void add(const std::string& key, const json& run) {
    if (!by_key.count(key))
      order.push_back(key);
    runs_of(by_key[key], run.value("label", std::string())).push_back(run);
  }
};

const json& first_run(const variant& g) {
  if (!g.chat.empty())
    return g.chat.front();
  return g.floor.empty() ? g.socketio.front() : g.floor.front();
}

} // namespace

int main(int argc, char** argv) {
  std::string out_path, dat_path, md_path, ceiling_dat_path;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--out" && i + 1 < argc)
      out_path = argv[++i];
    else if (a == "--dat" && i + 1 < argc)
      dat_path = argv[++i];
    else if (a == "--md" && i + 1 < argc)
      md_path = argv[++i];
    else if (a == "--ceiling-dat" && i + 1 < argc)
      ceiling_dat_path = argv[++i];
    else
      files.push_back(a);
  }
  std::sort(files.begin(), files.end());
  groups variants, ceilings;
  for (const auto& path : files) {
    std::ifstream in(path);
    json j = json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      std::cerr << "chat_bench_report: skipping " << path << " (not JSON)\n";
      continue;
    }
    if (j.contains("ceiling") && j["ceiling"].is_string())
      ceilings.add(j["ceiling"].get<std::string>(), j);
    else
      variants.add(j.value("scenario", std::string("?")), j);
  }

  // The idle table grows a Socket.IO column only when there is something to put in it.
  bool idle_socketio = false;
  for (const auto& [key, g] : variants.by_key)
    idle_socketio |= first_run(g).value("mode", std::string()) == "idle" && !g.socketio.empty();

  json summary = json::array();
  std::string md, dat = dat_header;
  bool fanout_started = false, idle_started = false;
  for (const auto& key : variants.order) {
    const auto& g = variants.by_key[key];
    const auto& any = first_run(g);
    if (any.value("mode", std::string()) == "idle") {
      summary.push_back(idle_entry(key, g));
      if (!idle_started)
        md += idle_header(idle_socketio);
      idle_started = true;
      md += idle_row(summary.back(), idle_socketio);
      continue;
    }
    summary.push_back(fanout_entry(key, g, any));
    if (!fanout_started)
      md += fanout_header;
    fanout_started = true;
    md += fanout_rows(summary.back());
    dat += dat_line(summary.back());
  }
  md += node_table(summary);

  std::vector<json> ceiling_entries;
  for (const auto& family : ceilings.order)
    ceiling_entries.push_back(ceiling_entry(family, ceilings.by_key[family]));
  md += ceiling_tables(ceiling_entries);
  for (const auto& s : ceiling_entries)
    summary.push_back(s);

  std::cout << md;
  if (!md_path.empty())
    std::ofstream(md_path) << md;
  if (!out_path.empty())
    std::ofstream(out_path) << summary.dump(2) << "\n";
  if (!dat_path.empty())
    std::ofstream(dat_path) << dat;
  if (!ceiling_dat_path.empty())
    std::ofstream(ceiling_dat_path) << ceiling_dat(ceiling_entries);
  return 0;
}
