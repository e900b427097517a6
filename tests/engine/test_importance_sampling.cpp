// Importance sampling by exponential tilting of the price shocks
// (experiment.importance_sampling): the likelihood ratio has mean 1, the
// weighted estimate of a 1-in-1,000 price event matches its closed form and
// has a far smaller standard error than plain Monte Carlo at equal paths, and
// the results file's summary is weighted (its mean of a price-linear outcome
// matches the closed form under the untilted process).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "framework/core/errors.hpp"
#include "framework/engine/config_loader.hpp"
#include "framework/engine/runner.hpp"
#include "framework/engine/scenario_plan.hpp"
#include "framework/engine/world.hpp"
#include "framework/output/results_file.hpp"

namespace {

namespace fs = std::filesystem;

// ETH at 2,000 with volatility 500% a year over one hour (300 blocks of 12 s):
// sigma sqrt(T) = 5 sqrt(3600 / 31,536,000) = 0.053423. No agents; the pool
// never trades, so its final value is 1,000 S_T + 2,000,000.
std::string world_yaml(int paths, const std::string& sampling) {
  return R"(
experiment: {name: tilt, seed: 3, paths: )" +
         std::to_string(paths) + R"(, blocks: 300, block_time: 12, record: {every: 300})" + sampling + R"(}
assets: [ETH, USDC]
numeraire: USDC
price: {process: gbm, initial: {ETH: 2000}, volatility: {ETH: 5.0}}
markets:
  - {id: pool, type: cpmm, pair: [ETH, USDC], reserves: {ETH: 1000, USDC: 2000000}}
)";
}

constexpr double s0 = 2000.0, sigma = 5.0;
const double horizon_years = 3600.0 / (365.0 * 24.0 * 3600.0);
const double sd = sigma * std::sqrt(horizon_years);
// The threshold: log(K / S0) = -sigma^2 T / 2 - 3.09 sigma sqrt(T), so under
// the untilted GBM P(S_T < K) = Phi(-3.09) = 1.0008e-3.
const double threshold = s0 * std::exp(-0.5 * sigma * sigma * horizon_years - 3.09 * sd);
const double exact_probability = 0.5 * std::erfc(3.09 / std::sqrt(2.0));

struct Estimate {
  double mean = 0, standard_error = 0;
};

// The unbiased importance-sampling estimate (1/n) sum w_i f_i and its SE.
Estimate mean_of(const std::vector<double>& values) {
  double sum = 0, squares = 0;
  for (const double v : values) sum += v;
  const double n = static_cast<double>(values.size());
  const double mean = sum / n;
  for (const double v : values) squares += (v - mean) * (v - mean);
  return {mean, std::sqrt(squares / (n - 1.0) / n)};
}

// Per path: the indicator of S_T < K times the path's weight (1 without a tilt), and the weight.
void run_paths(const std::string& yaml, std::vector<double>& weighted_events, std::vector<double>& weights) {
  const auto experiment = defisim::engine::load_experiment_text(yaml, "tilt.yaml");
  const defisim::engine::ScenarioPlan plan(experiment.scenarios[0].spec);
  const bool tilted = !plan.tilt_per_normal.empty();
  const std::size_t ratio = tilted ? plan.sampling_slots.outcome_offset : 0;
  std::vector<double> series(plan.series_values_per_path()), outcomes(plan.outcome_metrics.size());
  for (std::uint64_t path = 0; path < plan.spec->paths; ++path) {
    defisim::engine::World world(plan, path);
    world.run(series, outcomes);
    const double weight = tilted ? outcomes[ratio] : 1.0;
    const double final_price = world.reference_prices()[0];
    weighted_events.push_back(final_price < threshold ? weight : 0.0);
    weights.push_back(weight);
  }
}

}  // namespace

TEST_CASE("importance sampling: a 1-in-1000 crash is estimated without bias and with a far smaller error",
          "[engine][importance_sampling]") {
  const int paths = 4000;
  std::vector<double> plain_events, plain_weights, tilted_events, tilted_weights;
  run_paths(world_yaml(paths, ""), plain_events, plain_weights);
  // Shift the path's expected log return by -3.09 sd, to the threshold: about
  // half of the tilted paths cross it.
  run_paths(world_yaml(paths, ", importance_sampling: {shift_log_return: {ETH: " + std::to_string(-3.09 * sd) + "}}"),
            tilted_events, tilted_weights);
  const Estimate plain = mean_of(plain_events), tilted = mean_of(tilted_events), ratio = mean_of(tilted_weights);
  INFO("exact " << exact_probability << " plain " << plain.mean << " ± " << plain.standard_error << " tilted "
                << tilted.mean << " ± " << tilted.standard_error << " mean weight " << ratio.mean << " ± "
                << ratio.standard_error);
  // The likelihood ratio's expectation under the tilted process is 1.
  CHECK(std::abs(ratio.mean - 1.0) < 3.0 * ratio.standard_error);
  // Both estimators are unbiased for Phi(-3.09): within 3 SE of the exact value.
  CHECK(std::abs(tilted.mean - exact_probability) < 3.0 * tilted.standard_error);
  // Plain Monte Carlo sees about 4 such paths in 4,000; its binomial SE is
  // sqrt(p (1 - p) / n) = 5.0e-4. The tilted estimator's is an order of
  // magnitude smaller at equal paths (the optimal exponential tilt for a
  // Gaussian tail at 3.09 sd gives a relative error near 2.4 / sqrt(n) in
  // place of 31.6 / sqrt(n)).
  const double binomial_se = std::sqrt(exact_probability * (1.0 - exact_probability) / paths);
  CHECK(tilted.standard_error < binomial_se / 8.0);
  CHECK(plain.mean < exact_probability + 4.0 * binomial_se);
}

TEST_CASE("importance sampling: the results file's summary is weighted by the likelihood ratio",
          "[engine][importance_sampling]") {
  const auto experiment = defisim::engine::load_experiment_text(
      world_yaml(2000, ", importance_sampling: {shift_log_return: {ETH: -0.1}}"), "tilt.yaml");
  const fs::path output = fs::temp_directory_path() / ("defisim_test_tilt_" + std::to_string(::getpid()) + ".h5");
  defisim::engine::RunOptions options;
  options.output_path = output.string();
  options.overwrite = true;
  options.progress = false;
  defisim::engine::run_experiment(experiment, options);
  const defisim::output::ResultsReader reader(output);
  const auto summary = reader.summary(0);
  const auto column = [&](const std::string& metric, std::size_t statistic) {
    for (std::size_t m = 0; m < summary.metrics.size(); ++m) {
      if (summary.metrics[m] == metric) return summary.columns[statistic][m];
    }
    FAIL("no metric " << metric);
    return 0.0;
  };
  // pool.final_value = 1,000 S_T + 2,000,000; under the untilted GBM with
  // zero drift E[S_T] = S0: the weighted mean is 4,000,000 within 3 SE,
  // although the tilted paths' own mean is S0 e^-0.1 lower.
  const double mean = column("pool.final_value", 1), standard_error = column("pool.final_value", 2);
  INFO("weighted mean " << mean << " ± " << standard_error);
  CHECK(std::abs(mean - 4'000'000.0) < 3.0 * standard_error);
  const std::vector<double> values = reader.outcomes(0, "pool.final_value");
  double unweighted = 0;
  for (const double v : values) unweighted += v / static_cast<double>(values.size());
  CHECK(unweighted < 4'000'000.0 - 1000.0 * s0 * 0.05);  // the tilt moved the paths
  // The ratio itself is summarised unweighted: mean 1 within 3 SE.
  CHECK(std::abs(column("sampling.likelihood_ratio", 1) - 1.0) < 3.0 * column("sampling.likelihood_ratio", 2));
  std::error_code ignored;
  fs::remove(output, ignored);
}

TEST_CASE("importance sampling: configs that cannot be tilted are refused", "[engine][importance_sampling]") {
  using defisim::core::ConfigError;
  const std::string antithetic = R"(
experiment: {name: tilt, paths: 10, blocks: 10, antithetic: true, importance_sampling: {shift_log_return: {ETH: -0.1}}}
assets: [ETH, USDC]
numeraire: USDC
price: {process: gbm, initial: {ETH: 2000}, volatility: {ETH: 0.8}}
markets:
  - {id: pool, type: cpmm, pair: [ETH, USDC], reserves: {ETH: 1000, USDC: 2000000}}
)";
  CHECK_THROWS_WITH(defisim::engine::load_experiment_text(antithetic, "a.yaml"), Catch::Contains("antithetic"));
  const std::string numeraire = R"(
experiment: {name: tilt, paths: 10, blocks: 10, importance_sampling: {shift_log_return: {USDC: -0.1}}}
assets: [ETH, USDC]
numeraire: USDC
price: {process: gbm, initial: {ETH: 2000}, volatility: {ETH: 0.8}}
markets:
  - {id: pool, type: cpmm, pair: [ETH, USDC], reserves: {ETH: 1000, USDC: 2000000}}
)";
  CHECK_THROWS_WITH(defisim::engine::load_experiment_text(numeraire, "n.yaml"), Catch::Contains("is the numeraire"));
}

TEST_CASE("importance sampling: --set of one asset's shift works on a file without the section",
          "[engine][importance_sampling]") {
  // The issue's form: experiment.importance_sampling is absent from the file,
  // and the override creates it (framework/config/node.cpp apply_override).
  const std::string plain = world_yaml(10, "");
  defisim::engine::LoadOptions options;
  options.assignments = {"experiment.importance_sampling.shift_log_return.ETH=-0.1"};
  const auto experiment = defisim::engine::load_experiment_text(plain, "plain.yaml", options);
  const auto& spec = *experiment.scenarios[0].spec;
  REQUIRE(spec.importance_sampling());
  REQUIRE(spec.importance_shift_log_return.size() == 1);
  CHECK(spec.importance_shift_log_return[0] == -0.1);
  // A misspelt section name is still an unknown key, named with its origin.
  options.assignments = {"experiment.importance_samplin.shift_log_return.ETH=-0.1"};
  CHECK_THROWS_WITH(defisim::engine::load_experiment_text(plain, "plain.yaml", options),
                    Catch::Contains("--set experiment.importance_samplin.shift_log_return.ETH=-0.1: error: "
                                    "'experiment.importance_samplin': unknown key; did you mean 'importance_sampling'?"));
}
