#include "loadgen/results.hpp"

namespace loadgen {

json percentiles_us(std::vector<std::int64_t>& v) {
  json j;
  j["count"] = v.size();
  if (v.empty()) {
    for (auto k : {"p50", "p90", "p99", "p999", "max", "mean"})
      j[k] = nullptr;
    return j;
  }
  std::sort(v.begin(), v.end());
  auto at = [&](double p) {
    auto i = static_cast<std::size_t>(std::ceil(p * v.size())) - 1;
    return v[std::min(i, v.size() - 1)] / 1000.0;
  };
  j["p50"] = at(0.50);
  j["p90"] = at(0.90);
  j["p99"] = at(0.99);
  j["p999"] = at(0.999);
  j["max"] = v.back() / 1000.0;
  j["mean"] = std::accumulate(v.begin(), v.end(), 0.0) / v.size() / 1000.0;
  return j;
}

void write_json(const options& o, const json& j) {
  if (o.json_out.empty())
    return;
  std::ofstream out(o.json_out);
  out << j.dump(2) << "\n";
  if (!out)
    die("cannot write " + o.json_out);
}

std::string fmt(double v, int prec) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

} // namespace loadgen
