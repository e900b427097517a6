// --target-stderr (RunOptions::target_stderr): a scenario stops after the
// first whole batch (at least two) at which the standard error of the
// metric's mean is at or below the target. The stop is the same for any
// thread count, the file holds exactly the rows run, and its summary's
// standard error is the one the rule saw.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "framework/core/errors.hpp"
#include "framework/engine/config_loader.hpp"
#include "framework/engine/runner.hpp"
#include "framework/output/results_file.hpp"
#include "tests/support/bits.hpp"

namespace {

namespace fs = std::filesystem;

// 2,000 paths in batches of 100; an arbitrageur's profit varies path to path.
std::string yaml(const std::string& sampling = "") {
  return R"(
experiment: {name: target, seed: 5, paths: 2000, blocks: 200, record: {every: 100}, batch_paths: 100)" + sampling + R"(}
assets: [ETH, USDC]
numeraire: USDC
price: {process: gbm, initial: {ETH: 2000}, volatility: {ETH: 0.9}}
markets:
  - {id: pool, type: cpmm, pair: [ETH, USDC], reserves: {ETH: 1000, USDC: 2000000}, fee: 0.003}
agents:
  - {id: arb, type: arbitrageur, markets: [pool]}
)";
}

struct Output {
  fs::path path;
  explicit Output(const std::string& name)
      : path(fs::temp_directory_path() / ("defisim_test_target_" + std::to_string(::getpid()) + "_" + name + ".h5")) {}
  ~Output() {
    std::error_code ignored;
    fs::remove(path, ignored);
  }
};

void run(const std::string& text, const fs::path& output, const std::string& metric, double target, int threads) {
  const auto experiment = defisim::engine::load_experiment_text(text, "target.yaml");
  defisim::engine::RunOptions options;
  options.output_path = output.string();
  options.overwrite = true;
  options.progress = false;
  options.threads = threads;
  options.target_stderr_metric = metric;
  options.target_stderr = target;
  defisim::engine::run_experiment(experiment, options);
}

double standard_error(const std::vector<double>& values, std::size_t n) {
  double mean = 0, squares = 0;
  for (std::size_t i = 0; i < n; ++i) mean += values[i] / static_cast<double>(n);
  for (std::size_t i = 0; i < n; ++i) squares += (values[i] - mean) * (values[i] - mean);
  return std::sqrt(squares / static_cast<double>(n - 1) / static_cast<double>(n));
}

}  // namespace

TEST_CASE("target stderr: a scenario stops at the first batch that meets the target", "[engine][target_stderr]") {
  // The full run's standard error first, to aim the target between batches.
  const Output full("full");
  run(yaml(), full.path, "", 0.0, 2);
  const std::vector<double> all = defisim::output::ResultsReader(full.path).outcomes(0, "arb.profit");
  REQUIRE(all.size() == 2000);
  // The error at 2,000 paths times 1.4: met near 1,000 paths (SE ~ 1 / sqrt n).
  const double target = 1.4 * standard_error(all, 2000);

  const Output one("one"), two("two");
  run(yaml(), one.path, "arb.profit", target, 1);
  run(yaml(), two.path, "arb.profit", target, 2);
  const defisim::output::ResultsReader a(one.path), b(two.path);
  const std::vector<double> stopped = a.outcomes(0, "arb.profit");
  const std::size_t n = stopped.size();
  INFO("target " << target << " stopped at " << n);
  REQUIRE(n < 2000);
  CHECK(n % 100 == 0);
  // The rows run are the full run's first n rows: paths are keyed by (seed, path).
  CHECK(defisim::test_support::same_bits(stopped, std::vector<double>(all.begin(), all.begin() + static_cast<long>(n))));
  // Met at n, not at the batch before (the rule stops at the first).
  CHECK(standard_error(stopped, n) <= target * (1.0 + 1e-9));
  CHECK(standard_error(stopped, n - 100) > target);
  // The summary is over the n rows: its error is the one the rule saw.
  const auto summary = a.summary(0);
  for (std::size_t m = 0; m < summary.metrics.size(); ++m) {
    if (summary.metrics[m] != "arb.profit") continue;
    CHECK(summary.columns[0][m] == static_cast<double>(n));
    CHECK(summary.columns[2][m] == Approx(standard_error(stopped, n)).epsilon(1e-9));
  }
  // One thread or two: the same stop, the same bits.
  CHECK(defisim::test_support::same_bits(stopped, b.outcomes(0, "arb.profit")));
  std::uint64_t paths = 0, samples = 0;
  b.series(0, "pool.value", &paths, &samples);
  CHECK(paths == n);
}

TEST_CASE("target stderr: weighted under importance sampling, refused with shards or an unknown metric",
          "[engine][target_stderr]") {
  const Output tilted("tilted");
  run(yaml(", importance_sampling: {shift_log_return: {ETH: -0.05}}"), tilted.path, "pool.final_value", 20000.0, 2);
  const defisim::output::ResultsReader reader(tilted.path);
  const auto summary = reader.summary(0);
  for (std::size_t m = 0; m < summary.metrics.size(); ++m) {
    if (summary.metrics[m] != "pool.final_value") continue;
    // The weighted standard error of the summary met the target.
    CHECK(summary.columns[2][m] <= 20000.0);
    CHECK(summary.columns[0][m] < 2000.0);
  }
  const auto experiment = defisim::engine::load_experiment_text(yaml(), "target.yaml");
  defisim::engine::RunOptions options;
  options.output_path = (fs::temp_directory_path() / "defisim_never_written.h5").string();
  options.progress = false;
  options.target_stderr_metric = "arb.nothing";
  options.target_stderr = 1.0;
  CHECK_THROWS_WITH(defisim::engine::run_experiment(experiment, options),
                    Catch::Contains("'arb.nothing' is not an outcome metric"));
  options.target_stderr_metric = "arb.profit";
  options.shard = {0, 2};
  CHECK_THROWS_AS(defisim::engine::run_experiment(experiment, options), defisim::core::InputError);
  CHECK_FALSE(fs::exists(options.output_path));
  CHECK_FALSE(fs::exists(options.output_path + ".resume"));  // nothing left to block the next run
}
