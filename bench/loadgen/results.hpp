#pragma once

#include "loadgen/options.hpp"

namespace loadgen {

json percentiles_us(std::vector<std::int64_t>& v);
void write_json(const options& o, const json& j);
std::string fmt(double v, int prec = 1);

} // namespace loadgen
