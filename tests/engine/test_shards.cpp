// Sharded runs (framework/engine/shards.hpp, `defisim run --shard i/n`,
// `defisim merge`): the shards of a run partition its batches, and the merged
// shard files equal the unsharded results file dataset by dataset, bit for
// bit, summaries included, for any number of shards (also more shards than
// batches). Shards that do not belong together are refused.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "framework/core/errors.hpp"
#include "framework/engine/config_loader.hpp"
#include "framework/engine/runner.hpp"
#include "framework/engine/scenario_plan.hpp"
#include "framework/engine/shards.hpp"
#include "framework/output/results_file.hpp"
#include "tests/support/bits.hpp"

namespace {

namespace fs = std::filesystem;
using defisim::engine::Experiment;
using defisim::engine::Shard;
using defisim::engine::ShardRows;
using defisim::output::ResultsReader;

// tests/support/sweep_in_batches.yaml: three scenarios of 300 paths in
// batches of 64, 15 batches in all, the last of each short.
const std::string sweep_path = std::string(DEFISIM_SOURCE_DIR) + "/tests/support/sweep_in_batches.yaml";

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("defisim_test_shards_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

void run(const Experiment& experiment, const std::string& output, Shard shard = {}) {
  defisim::engine::RunOptions options;
  options.output_path = output;
  options.overwrite = true;
  options.threads = 2;
  options.command_line = "test";
  options.progress = false;
  options.shard = shard;
  defisim::engine::run_experiment(experiment, options);
}

void merge(const std::vector<std::string>& shards, const std::string& output) {
  defisim::engine::MergeOptions options;
  options.output_path = output;
  options.overwrite = true;
  options.command_line = "test merge";
  defisim::engine::merge_shards(shards, options);
}

// Every outcome, series and summary column of every scenario, bit for bit.
// Returns the number of datasets compared.
std::size_t compare_files(const std::string& a_path, const std::string& b_path, const Experiment& experiment) {
  const ResultsReader a(a_path), b(b_path);
  CHECK(a.root_attribute_string("config") == b.root_attribute_string("config"));
  REQUIRE(a.scenario_count() == experiment.scenarios.size());
  REQUIRE(b.scenario_count() == experiment.scenarios.size());
  std::size_t compared = 0;
  for (const auto& scenario : experiment.scenarios) {
    const defisim::engine::ScenarioPlan plan(scenario.spec);
    const std::size_t k = scenario.index;
    for (const auto& metric : plan.outcome_metrics) {
      INFO("scenario " << k << " outcome " << metric.name);
      CHECK(defisim::test_support::same_bits(a.outcomes(k, metric.name), b.outcomes(k, metric.name)));
      ++compared;
    }
    for (const auto& metric : plan.series_metrics) {
      INFO("scenario " << k << " series " << metric.name);
      CHECK(defisim::test_support::same_bits(a.series(k, metric.name, nullptr, nullptr),
                                             b.series(k, metric.name, nullptr, nullptr)));
      ++compared;
    }
    const auto sa = a.summary(k), sb = b.summary(k);
    CHECK(sa.metrics == sb.metrics);
    CHECK(sa.parameters == sb.parameters);
    REQUIRE(sa.columns.size() == sb.columns.size());
    for (std::size_t c = 0; c < sa.columns.size(); ++c) CHECK(defisim::test_support::same_bits(sa.columns[c], sb.columns[c]));
  }
  return compared;
}

}  // namespace

TEST_CASE("shards: the shards of a run partition its batches, near-equally and never splitting one",
          "[engine][shards]") {
  // Random experiments: S scenarios of P paths in batches of B, n shards.
  std::mt19937_64 rng(20261130);
  for (int trial = 0; trial < 300; ++trial) {
    const std::uint64_t scenarios = 1 + rng() % 7, paths = 1 + rng() % 3000, batch = 1 + rng() % 700;
    const std::uint32_t count = static_cast<std::uint32_t>(1 + rng() % 40);
    Experiment experiment = defisim::engine::load_experiment(sweep_path);
    // Reuse the loaded specs, changed to this trial's shape (shard_rows reads only paths and batch_paths).
    std::vector<defisim::engine::Scenario> list;
    for (std::uint64_t s = 0; s < scenarios; ++s) {
      auto spec = std::make_shared<defisim::engine::ScenarioSpec>(*experiment.scenarios[0].spec);
      spec->paths = paths;
      spec->batch_paths = batch;
      list.push_back({s, {}, spec});
    }
    experiment.scenarios = list;
    const std::uint64_t batch_paths = std::min(batch, paths);
    const std::uint64_t batches_per_scenario = (paths + batch_paths - 1) / batch_paths;
    const std::uint64_t units = scenarios * batches_per_scenario;
    INFO("trial " << trial << ": " << scenarios << " scenarios x " << paths << " paths, batches of " << batch << ", "
                  << count << " shards");
    std::vector<std::uint64_t> covered(scenarios, 0);  // rows covered so far, in order
    std::uint64_t smallest = units, largest = 0;
    for (std::uint32_t i = 0; i < count; ++i) {
      const std::vector<ShardRows> rows = defisim::engine::shard_rows(experiment, Shard{i, count});
      REQUIRE(rows.size() == scenarios);
      std::uint64_t shard_batches = 0;
      for (std::uint64_t s = 0; s < scenarios; ++s) {
        if (rows[s].empty()) continue;
        // Contiguous with what earlier shards covered, and batch-aligned.
        REQUIRE(rows[s].first == covered[s]);
        REQUIRE(rows[s].first % batch_paths == 0);
        REQUIRE((rows[s].end % batch_paths == 0 || rows[s].end == paths));
        covered[s] = rows[s].end;
        shard_batches += (rows[s].end - rows[s].first + batch_paths - 1) / batch_paths;
      }
      smallest = std::min(smallest, shard_batches);
      largest = std::max(largest, shard_batches);
    }
    for (std::uint64_t s = 0; s < scenarios; ++s) REQUIRE(covered[s] == paths);
    // floor(i U / n) boundaries: shares differ by at most one batch.
    CHECK(largest - smallest <= 1);
  }
}

TEST_CASE("shards: merged shards equal the unsharded run dataset by dataset", "[engine][shards]") {
  const Experiment experiment = defisim::engine::load_experiment(sweep_path);
  REQUIRE(experiment.scenarios.size() == 3);
  const TempDir dir;
  const std::string whole = dir.file("whole.h5");
  run(experiment, whole);
  // 2 and 3 shards split scenarios mid-way; 15 gives one batch each; 40
  // leaves 25 shards empty.
  for (const std::uint32_t count : {2u, 3u, 15u, 40u}) {
    INFO(count << " shards");
    std::vector<std::string> shards;
    for (std::uint32_t i = 0; i < count; ++i) {
      shards.push_back(dir.file("shard" + std::to_string(i) + ".h5"));
      run(experiment, shards.back(), Shard{count - 1 - i, count});  // any order
    }
    // A shard file is not a results file.
    CHECK_THROWS_WITH(ResultsReader(shards.front()), Catch::Contains("is one shard of a sharded run"));
    const std::string merged = dir.file("merged.h5");
    merge(shards, merged);
    const std::size_t compared = compare_files(whole, merged, experiment);
    const defisim::engine::ScenarioPlan plan(experiment.scenarios[0].spec);
    CHECK(compared == 3 * (plan.outcome_metrics.size() + plan.series_metrics.size()));
  }
  // The run did something, so equality is not vacuous.
  const ResultsReader reader(whole);
  double swaps = 0;
  for (const double s : reader.outcomes(1, "pool.swaps")) swaps += s;
  CHECK(swaps > 0);
}

TEST_CASE("shards: merge refuses shards that do not make a whole run", "[engine][shards]") {
  const Experiment experiment = defisim::engine::load_experiment(sweep_path);
  defisim::engine::LoadOptions other_seed;
  other_seed.assignments = {"experiment.seed=10"};
  other_seed.origins = {"test"};
  const Experiment other = defisim::engine::load_experiment(sweep_path, other_seed);
  const TempDir dir;
  const std::string s0 = dir.file("s0.h5"), s1 = dir.file("s1.h5"), s2 = dir.file("s2.h5"), t1 = dir.file("t1.h5"),
                    u0 = dir.file("u0.h5"), whole = dir.file("whole.h5"), out = dir.file("out.h5");
  run(experiment, s0, Shard{0, 3});
  run(experiment, s1, Shard{1, 3});
  run(experiment, s2, Shard{2, 3});
  run(other, t1, Shard{1, 3});
  run(experiment, u0, Shard{0, 2});
  run(experiment, whole);
  using defisim::core::InputError;
  CHECK_THROWS_MATCHES(merge({s0, s2}, out), InputError, Catch::Message("merge: missing shard(s) 1/3"));
  CHECK_THROWS_WITH(merge({s0, s1, s1, s2}, out), Catch::Contains("are both shard 1/3"));
  CHECK_THROWS_WITH(merge({s0, t1, s2}, out), Catch::Contains("their configs differ"));
  CHECK_THROWS_WITH(merge({s0, u0}, out), Catch::Contains("n = 2 vs 3"));
  CHECK_THROWS_WITH(merge({whole}, out), Catch::Contains("is a complete results file, not a shard"));
  CHECK_THROWS_WITH(merge({}, out), Catch::Contains("no shard files"));
  // Nothing was written by a refused merge.
  CHECK_FALSE(fs::exists(out));
  CHECK_FALSE(fs::exists(out + ".partial"));
}

TEST_CASE("shards: --shard i/n is parsed strictly", "[engine][shards]") {
  CHECK(defisim::engine::parse_shard("0/1").whole());
  const Shard shard = defisim::engine::parse_shard("3/8");
  CHECK(shard.index == 3);
  CHECK(shard.count == 8);
  for (const char* bad : {"", "3", "3/", "/8", "8/8", "9/8", "-1/8", "1/0", "a/b", "1/2/3", "1 /2", "0/100001"}) {
    INFO(bad);
    CHECK_THROWS_AS(defisim::engine::parse_shard(bad), defisim::core::InputError);
  }
}
