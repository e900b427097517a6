// `defisim merge`: the shard files of one sharded run (framework/engine/
// shards.hpp) into the results file the unsharded run writes.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <memory>

#include "framework/core/errors.hpp"
#include "framework/engine/config_loader.hpp"
#include "framework/engine/run_detail.hpp"
#include "framework/engine/runner.hpp"

namespace defisim::engine {

using namespace run_detail;
using Clock = std::chrono::steady_clock;

void merge_shards(const std::vector<std::string>& shard_paths, const MergeOptions& options) {
  keep_freed_heap();
  const auto started = Clock::now();
  if (shard_paths.empty()) throw core::InputError("merge: no shard files given");
  std::vector<std::unique_ptr<output::ResultsReader>> shards;  // by shard index
  std::vector<std::string> paths_by_index;
  std::string config;
  std::uint32_t count = 0;
  for (const std::string& path : shard_paths) {
    auto reader = std::make_unique<output::ResultsReader>(path, true);
    const auto [index, shard_count] = reader->shard();
    if (shard_count == 1) {
      throw core::InputError(fmt::format("merge: '{}' is a complete results file, not a shard", path));
    }
    const std::string shard_config = reader->root_attribute_string("config");
    if (shards.empty()) {
      count = shard_count;
      config = shard_config;
      shards.resize(count);
      paths_by_index.resize(count);
    } else if (shard_count != count || shard_config != config) {
      throw core::InputError(fmt::format(
          "merge: '{}' is not from the same run as '{}' ({}); shards of one run share the config and n",
          path, shard_paths.front(), shard_count != count ? fmt::format("n = {} vs {}", shard_count, count)
                                                          : std::string("their configs differ")));
    }
    if (shards[index]) {
      throw core::InputError(
          fmt::format("merge: '{}' and '{}' are both shard {}/{}", paths_by_index[index], path, index, count));
    }
    shards[index] = std::move(reader);
    paths_by_index[index] = path;
  }
  std::vector<std::string> missing;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (!shards[i]) missing.push_back(fmt::format("{}/{}", i, count));
  }
  if (!missing.empty()) {
    throw core::InputError(fmt::format("merge: missing shard(s) {}", fmt::join(missing, ", ")));
  }

  const Experiment experiment =
      load_experiment_text(config, fmt::format("the config embedded in '{}'", shard_paths.front()));
  // Which shard holds which rows: recomputed, and checked against each file.
  std::vector<std::vector<ShardRows>> rows(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    rows[i] = shard_rows(experiment, Shard{i, count});
    for (const Scenario& scenario : experiment.scenarios) {
      const ShardRows& expected = rows[i][scenario.index];
      if (expected.empty()) continue;
      const bool held = shards[i]->has_scenario(scenario.index) &&
                        shards[i]->shard_rows(scenario.index) == std::pair{expected.first, expected.end};
      if (!held) {
        throw core::InputError(fmt::format("merge: '{}' (shard {}/{}) does not hold rows {} to {} of scenario {}",
                                           paths_by_index[i], i, count, expected.first, expected.end,
                                           scenario.index));
      }
    }
  }

  output::ResultsWriterOptions writer_options;
  writer_options.deflate_level = experiment.base().record_compression;
  output::ResultsWriter writer(options.output_path, options.overwrite, metadata_of(experiment, Shard{}), writer_options);
  for (const Scenario& scenario : experiment.scenarios) {
    const ScenarioPlan plan(scenario.spec);
    const ScenarioSpec& spec = *scenario.spec;
    writer.begin_scenario(scenario.index, layout_of(scenario, plan, ShardRows{0, spec.paths}));
    // The unsharded run's batches, in its order, so every chunk is written
    // whole as it was there.
    const std::uint64_t batch_paths = std::min<std::uint64_t>(spec.batch_paths, spec.paths);
    for (std::uint64_t first = 0; first < spec.paths; first += batch_paths) {
      const std::uint64_t batch_rows = std::min<std::uint64_t>(batch_paths, spec.paths - first);
      std::uint32_t owner = 0;
      while (!(rows[owner][scenario.index].first <= first && first < rows[owner][scenario.index].end)) ++owner;
      const output::ResultsReader& shard = *shards[owner];
      for (std::size_t m = 0; m < plan.outcome_metrics.size(); ++m) {
        const std::vector<double> values = shard.outcome_rows(scenario.index, plan.outcome_metrics[m].name, first, batch_rows);
        writer.write_outcomes(scenario.index, m, first, values);
      }
      for (std::size_t m = 0; m < plan.series_metrics.size(); ++m) {
        const std::vector<double> values = shard.series_rows(scenario.index, plan.series_metrics[m].name, first, batch_rows);
        writer.write_series(scenario.index, m, first, batch_rows, values);
      }
    }
    warn_if_few_effective_paths(scenario.index, writer.finish_scenario(scenario.index));
  }
  output::RunInfo info;
  info.created_utc = utc_now();
  info.threads = 1;
  info.ranks = 1;
  info.wall_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  info.command_line = options.command_line;
  writer.commit(info);
}

}  // namespace defisim::engine
