#include "framework/engine/shards.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "framework/core/errors.hpp"

namespace defisim::engine {

namespace {

bool parse_uint(std::string_view text, std::uint64_t& value) {
  if (text.empty()) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

Shard parse_shard(const std::string& text, const std::string& option) {
  const std::size_t slash = text.find('/');
  std::uint64_t index = 0, count = 0;
  if (slash == std::string::npos || !parse_uint(std::string_view(text).substr(0, slash), index) ||
      !parse_uint(std::string_view(text).substr(slash + 1), count)) {
    throw core::InputError(fmt::format("{} {}: expected i/n, e.g. 0/4 (shard i of n, counted from 0)", option, text));
  }
  if (count == 0 || count > 100000 || index >= count) {
    throw core::InputError(
        fmt::format("{} {}: need 0 <= i < n <= 100000 (shards are numbered 0 to n - 1)", option, text));
  }
  return {static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(count)};
}

std::vector<ShardRows> shard_rows(const Experiment& experiment, Shard shard) {
  std::vector<std::uint64_t> batches;  // per scenario
  std::uint64_t units = 0;
  for (const Scenario& scenario : experiment.scenarios) {
    const ScenarioSpec& spec = *scenario.spec;
    const std::uint64_t batch_paths = std::min<std::uint64_t>(spec.batch_paths, spec.paths);
    batches.push_back((spec.paths + batch_paths - 1) / batch_paths);
    units += batches.back();
  }
  // [begin, end) of the global batch numbering: floor(i U / n) computed as
  // i (U / n) + floor(i (U % n) / n), so nothing overflows (i (U % n) < n^2 <= 1e10).
  const auto bound = [&](std::uint64_t i) {
    return i * (units / shard.count) + i * (units % shard.count) / shard.count;
  };
  const std::uint64_t begin = bound(shard.index), end = bound(shard.index + 1ull);
  std::vector<ShardRows> rows(experiment.scenarios.size());
  std::uint64_t offset = 0;  // global number of the scenario's first batch
  for (std::size_t s = 0; s < experiment.scenarios.size(); ++s) {
    const ScenarioSpec& spec = *experiment.scenarios[s].spec;
    const std::uint64_t batch_paths = std::min<std::uint64_t>(spec.batch_paths, spec.paths);
    const std::uint64_t first_batch = std::clamp(begin, offset, offset + batches[s]) - offset;
    const std::uint64_t end_batch = std::clamp(end, offset, offset + batches[s]) - offset;
    rows[s].first = std::min(first_batch * batch_paths, spec.paths);
    rows[s].end = std::min(end_batch * batch_paths, spec.paths);
    offset += batches[s];
  }
  return rows;
}

}  // namespace defisim::engine
