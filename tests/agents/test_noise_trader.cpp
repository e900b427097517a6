// The noise trader's slippage tolerance: fixed, uniform or empirical, one
// draw per swap. A watcher that reads the public mempool recovers each
// swap's tolerance as 1 - min_amount_out / quote, where the quote is the
// Uniswap v2 amount out (Adams, Zinsmeister, Robinson 2020, eq. 2) on the
// pool state the trader saw (nothing executes between its act() and the
// watcher's). Frequencies are checked within 3 binomial standard errors
// (about a 0.3% chance of a false failure per check, fixed by the seed).
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "framework/engine/config_loader.hpp"
#include "framework/engine/scenario_plan.hpp"
#include "framework/engine/world.hpp"
#include "markets/cpmm.hpp"
#include "tests/support/scripted_agent.hpp"

namespace {

std::vector<double> tolerances_seen(const std::string& tolerance_yaml) {
  const std::string yaml = R"(
experiment: {name: noise, seed: 5, paths: 1, blocks: 400, block_time: 12, record: {every: 100}}
assets: [ETH, USDC]
numeraire: USDC
price: {process: gbm, initial: {ETH: 2000}, volatility: {ETH: 0.5}}
markets:
  - {id: pool, type: cpmm, pair: [ETH, USDC], reserves: {ETH: 1000, USDC: 2000000}, fee: 0.003}
agents:
  - {id: noise, type: noise_trader, market: pool, arrivals_per_block: 5, slippage_tolerance: )" +
                           tolerance_yaml + "}\n";
  const auto experiment = defisim::engine::load_experiment_text(yaml, "noise.yaml");
  auto [spec, log] = defisim::test_support::with_scripted_agent(experiment.base(), {}, "watcher", true);
  std::vector<double> tolerances;
  log->on_act = [&tolerances](const defisim::agents::View& view) {
    const auto& pool = std::get<defisim::markets::Cpmm>(view.markets[0]);
    for (const auto& transaction : view.mempool) {
      const double quote = pool.amount_out(transaction.token_in == pool.asset_x(), transaction.amount_in);
      tolerances.push_back(1.0 - transaction.min_amount_out / quote);
    }
  };
  const defisim::engine::ScenarioPlan plan(spec);
  defisim::engine::World world(plan, 0);
  std::vector<double> series(plan.series_values_per_path());
  std::vector<double> outcomes(plan.outcome_metrics.size());
  world.run(series, outcomes);
  return tolerances;
}

}  // namespace

TEST_CASE("noise trader: a fixed tolerance sets every swap's limit", "[agents][noise_trader]") {
  for (const std::string form : {"0.02", "{dist: fixed, value: 0.02}"}) {
    const std::vector<double> tolerances = tolerances_seen(form);
    REQUIRE(tolerances.size() > 1000);  // 400 blocks x 5 arrivals on average
    // 1 - (q (1 - t)) / q recovers t up to a few ulps of 1.
    for (const double t : tolerances) CHECK(t == Approx(0.02).margin(1e-14));
  }
}

TEST_CASE("noise trader: uniform tolerances cover [low, high] with the uniform's mean and variance",
          "[agents][noise_trader]") {
  const std::vector<double> tolerances = tolerances_seen("{dist: uniform, low: 0.001, high: 0.03}");
  REQUIRE(tolerances.size() > 1000);
  double sum = 0, sum_squares = 0;
  for (const double t : tolerances) {
    CHECK(t >= 0.001 - 1e-14);
    CHECK(t <= 0.03 + 1e-14);
    sum += t;
    sum_squares += t * t;
  }
  const double n = static_cast<double>(tolerances.size());
  const double mean = sum / n;
  // Uniform on [a, b]: mean (a + b) / 2, variance (b - a)^2 / 12.
  const double variance = (0.03 - 0.001) * (0.03 - 0.001) / 12.0;
  CHECK(std::fabs(mean - 0.0155) < 3.0 * std::sqrt(variance / n));
  // The sample variance's standard error is variance * sqrt((kurtosis - 1) / n),
  // and a uniform's kurtosis is 9/5.
  CHECK(std::fabs(sum_squares / n - mean * mean - variance) < 3.0 * variance * std::sqrt(0.8 / n));
}

TEST_CASE("noise trader: empirical tolerances are drawn from the list with equal probability",
          "[agents][noise_trader]") {
  const std::vector<double> tolerances = tolerances_seen("{dist: empirical, values: [0.001, 0.005, 0.05]}");
  REQUIRE(tolerances.size() > 1000);
  std::vector<double> counts(3, 0.0);
  for (const double t : tolerances) {
    const int matched = std::fabs(t - 0.001) < 1e-12 ? 0 : std::fabs(t - 0.005) < 1e-12 ? 1 : std::fabs(t - 0.05) < 1e-12 ? 2 : -1;
    REQUIRE(matched >= 0);
    counts[static_cast<std::size_t>(matched)] += 1.0;
  }
  const double n = static_cast<double>(tolerances.size());
  const double standard_error = std::sqrt((1.0 / 3.0) * (2.0 / 3.0) / n);
  for (const double count : counts) CHECK(std::fabs(count / n - 1.0 / 3.0) < 3.0 * standard_error);
}
