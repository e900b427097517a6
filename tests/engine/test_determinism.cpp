// Determinism of the runner (framework/engine/runner.hpp): a path's numbers
// depend only on (seed, path, stream), so the results file is bit-identical
// for any thread count and between repeated runs; a different seed changes
// it; scenarios of a sweep share random numbers (common random numbers); and
// antithetic pairs of paths see negated price shocks.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "framework/core/rng.hpp"
#include "framework/engine/config_loader.hpp"
#include "framework/engine/runner.hpp"
#include "framework/engine/scenario_plan.hpp"
#include "framework/output/results_file.hpp"
#include "tests/support/bits.hpp"

namespace {

namespace fs = std::filesystem;
using defisim::output::ResultsReader;

// Quickstart-like (configs/quickstart.yaml) but small: 64 paths x 500 blocks,
// batches of 16 paths, and a 2-scenario sweep over the pool fee.
const char* sweep_yaml = R"(
experiment:
  name: determinism
  seed: 42
  paths: 64
  blocks: 500
  block_time: 12
  record: {every: 50}
  batch_paths: 16
assets: [ETH, USDC]
numeraire: USDC
chain:
  gas_price_gwei: 10
  ordering: random
price:
  process: gbm
  initial: {ETH: 2000}
  volatility: {ETH: 0.8}
markets:
  - {id: pool, type: cpmm, pair: [ETH, USDC], reserves: {ETH: 1000, USDC: 2000000}, fee: 0.003}
agents:
  - {id: arb, type: arbitrageur, markets: [pool], gas_used: 120000}
  - id: noise
    type: noise_trader
    market: pool
    arrivals_per_block: 0.5
    size_numeraire: {dist: lognormal, median: 2000, sigma: 1.0}
    slippage_tolerance: 0.005
  - {id: lp, type: lp, market: pool, deposit_numeraire: 400000}
sweep:
  grid:
    markets.pool.fee: [0.003, 0.01]
)";

// The mechanisms of searchers and long-term orders in the same shape: a
// twamm whose embedded pool is arbitraged, traded by noise, sandwiched under
// mev, a long-term order with a front-runner, a manual TWAP; swept over the
// ordering policy.
const char* mev_twamm_yaml = R"(
experiment: {name: determinism_mev, seed: 5, paths: 64, blocks: 500, block_time: 12, record: {every: 50}, batch_paths: 16}
assets: [ETH, USDC]
numeraire: USDC
chain: {gas_price_gwei: 10, ordering: mev}
price: {process: gbm, initial: {ETH: 2000}, volatility: {ETH: 0.8}}
markets:
  - {id: tw, type: twamm, pair: [ETH, USDC], reserves: {ETH: 1000, USDC: 2000000}, fee: 0.003, order_interval_blocks: 50}
agents:
  - {id: arb, type: arbitrageur, gas_used: 120000}
  - {id: noise, type: noise_trader, market: tw, arrivals_per_block: 0.5, size_numeraire: {dist: lognormal, median: 20000, sigma: 1},
     slippage_tolerance: {dist: uniform, low: 0.001, high: 0.03}}
  - {id: sandwich, type: sandwich_attacker}
  - {id: buyer, type: twamm_trader, market: tw, sell: USDC, amount: 200000, duration_blocks: 300, start_block: 50}
  - {id: front, type: twamm_front_runner, market: tw, min_order_numeraire: 100000}
  - {id: twap, type: twap_trader, market: tw, sell: ETH, amount: 20, slices: 10, interval_blocks: 30, start_block: 20}
sweep:
  grid:
    chain.ordering: [mev, private]
)";

// Lending: a crash, a median oracle (its own random stream), a spiking gas
// price, responsive borrowers, competing liquidators selling on the pool, and
// maker vaults with auctions; swept over the rule set.
const char* lending_yaml = R"(
experiment: {name: determinism_lending, seed: 9, paths: 64, blocks: 500, block_time: 12, record: {every: 50}, batch_paths: 16}
assets: [ETH, USDC]
numeraire: USDC
chain: {gas_price_gwei: 20, ordering: priority_fee, gas_process: {spike_per_percent_drop: 5, half_life_seconds: 600}}
price: {process: gbm, initial: {ETH: 2000}, volatility: {ETH: 1.0}, drift: {ETH: -1500}}
markets:
  - {id: pool, type: cpmm, pair: [ETH, USDC], reserves: {ETH: 2000, USDC: 4000000}}
  - id: bank
    type: lending
    rules: aave_v2
    max_positions: 500
    assets:
      ETH: {loan_to_value: 0.7, liquidation_threshold: 0.75, liquidation_bonus: 0.08, borrowable: false}
      USDC: {initial_supply: 100000000}
oracles: {ETH: {type: median, sources: 5, noise: 0.003}}
agents:
  - {id: arb, type: arbitrageur, markets: [pool]}
  - {id: borrowers, type: borrower, market: bank, positions: 400, collateral: {ETH: 1}, loan_to_value: {low: 0.5, high: 0.69},
     responsive_fraction: 0.5, reaction_delay_blocks: {low: 0, high: 30}}
  - {id: liq1, type: liquidator, market: bank, capital: {USDC: 5000000}, sale: market, sale_market: pool, priority_fee_gwei: 2}
  - {id: liq2, type: liquidator, market: bank, capital: {USDC: 5000000}, sale: venue, venue_depth_numeraire: 10000000,
     priority_fee_gwei: 1, reaction_delay_blocks: 3, chunks: 2}
sweep:
  list:
    - {markets.bank.rules: aave_v2}
    - {markets.bank.rules: maker}
)";

// A results file in the temp directory, removed at the end of the test.
struct TempResults {
  fs::path path;
  explicit TempResults(const std::string& name)
      : path(fs::temp_directory_path() / ("defisim_test_determinism_" + std::to_string(::getpid()) + "_" + name + ".h5")) {
    fs::remove(path);
  }
  ~TempResults() {
    std::error_code ignored;
    fs::remove(path, ignored);
  }
};

void run(const defisim::engine::Experiment& experiment, const fs::path& output, int threads) {
  defisim::engine::RunOptions options;
  options.output_path = output.string();
  options.overwrite = true;
  options.threads = threads;
  options.command_line = "test";
  options.progress = false;
  defisim::engine::run_experiment(experiment, options);
}

using defisim::test_support::same_bits;

// Names of every outcome and series metric of every scenario, from the plan
// the runner itself uses for the layout.
struct Layout {
  std::vector<std::vector<std::string>> outcomes;  // [scenario][metric]
  std::vector<std::vector<std::string>> series;
};
Layout layout_of(const defisim::engine::Experiment& experiment) {
  Layout layout;
  for (const auto& scenario : experiment.scenarios) {
    const defisim::engine::ScenarioPlan plan(scenario.spec);
    layout.outcomes.emplace_back();
    layout.series.emplace_back();
    for (const auto& metric : plan.outcome_metrics) layout.outcomes.back().push_back(metric.name);
    for (const auto& metric : plan.series_metrics) layout.series.back().push_back(metric.name);
  }
  return layout;
}

// Every dataset of two results files, compared bit for bit. Returns the
// number of datasets compared.
std::size_t compare_files(const fs::path& a_path, const fs::path& b_path, const Layout& layout) {
  const ResultsReader a(a_path), b(b_path);
  CHECK(a.root_attribute_string("config") == b.root_attribute_string("config"));
  CHECK(a.root_attribute_string("experiment_name") == b.root_attribute_string("experiment_name"));
  REQUIRE(a.scenario_count() == layout.outcomes.size());
  REQUIRE(b.scenario_count() == layout.outcomes.size());
  std::size_t compared = 0;
  for (std::size_t k = 0; k < layout.outcomes.size(); ++k) {
    for (const std::string& metric : layout.outcomes[k]) {
      INFO("scenario " << k << " outcome " << metric);
      const std::vector<double> x = a.outcomes(k, metric), y = b.outcomes(k, metric);
      CHECK(x.size() == 64);
      CHECK(same_bits(x, y));
      ++compared;
    }
    for (const std::string& metric : layout.series[k]) {
      INFO("scenario " << k << " series " << metric);
      std::uint64_t paths_a = 0, samples_a = 0, paths_b = 0, samples_b = 0;
      const std::vector<double> x = a.series(k, metric, &paths_a, &samples_a);
      const std::vector<double> y = b.series(k, metric, &paths_b, &samples_b);
      CHECK(paths_a == 64);
      CHECK(samples_a == 11);  // blocks 0, 50, ..., 500
      CHECK(paths_a == paths_b);
      CHECK(samples_a == samples_b);
      CHECK(same_bits(x, y));
      ++compared;
    }
    // The summary tables too (derived, but written by the runner).
    const auto sa = a.summary(k), sb = b.summary(k);
    CHECK(sa.metrics == sb.metrics);
    CHECK(sa.parameters == sb.parameters);
    REQUIRE(sa.columns.size() == sb.columns.size());
    for (std::size_t c = 0; c < sa.columns.size(); ++c) CHECK(same_bits(sa.columns[c], sb.columns[c]));
  }
  return compared;
}

}  // namespace

TEST_CASE("determinism: results are bit-identical for 1 and 2 threads and between repeated runs", "[engine][determinism]") {
  const auto experiment = defisim::engine::load_experiment_text(sweep_yaml, "determinism.yaml");
  REQUIRE(experiment.scenarios.size() == 2);
  const Layout layout = layout_of(experiment);
  // reference.ETH, pool.spot_price, pool.value, arb.profit, noise.volume, lp x 4
  CHECK(layout.series[0].size() == 9);

  TempResults one("threads1"), two("threads2"), two_again("threads2_again");
  run(experiment, one.path, 1);
  run(experiment, two.path, 2);
  run(experiment, two_again.path, 2);
  const std::size_t compared = compare_files(one.path, two.path, layout);
  CHECK(compared == 2 * (layout.outcomes[0].size() + layout.series[0].size()));
  compare_files(two.path, two_again.path, layout);

  // The run did something: trades happened, so equality is not vacuous.
  const ResultsReader reader(one.path);
  double swaps = 0;
  for (double s : reader.outcomes(0, "pool.swaps")) swaps += s;
  CHECK(swaps > 0);
}

TEST_CASE("determinism: bundles, sandwiches and twamm orders are bit-identical for 1 and 2 threads",
          "[engine][determinism][mev][twamm]") {
  const auto experiment = defisim::engine::load_experiment_text(mev_twamm_yaml, "determinism_mev.yaml");
  REQUIRE(experiment.scenarios.size() == 2);
  const Layout layout = layout_of(experiment);
  TempResults one("mev_threads1"), two("mev_threads2");
  run(experiment, one.path, 1);
  run(experiment, two.path, 2);
  CHECK(compare_files(one.path, two.path, layout) == 2 * (layout.outcomes[0].size() + layout.series[0].size()));
  // Not vacuous: under mev sandwiches executed and the long-term order sold.
  const ResultsReader reader(one.path);
  double attacks = 0, virtual_volume = 0, private_attacks = 0;
  for (double a : reader.outcomes(0, "sandwich.attacks")) attacks += a;
  for (double v : reader.outcomes(0, "tw.virtual_volume")) virtual_volume += v;
  for (double a : reader.outcomes(1, "sandwich.attacks")) private_attacks += a;
  CHECK(attacks > 0);
  CHECK(virtual_volume > 0);
  CHECK(private_attacks == 0);  // scenario 1: private ordering
}

TEST_CASE("determinism: lending worlds (oracle noise, gas spikes, liquidations, auctions) are bit-identical for 1 and 2 threads",
          "[engine][determinism][lending]") {
  const auto experiment = defisim::engine::load_experiment_text(lending_yaml, "determinism_lending.yaml");
  REQUIRE(experiment.scenarios.size() == 2);
  const Layout layout = layout_of(experiment);
  TempResults one("lending_threads1"), two("lending_threads2");
  run(experiment, one.path, 1);
  run(experiment, two.path, 2);
  compare_files(one.path, two.path, layout);
  // Not vacuous: liquidations under aave_v2, auction takes under maker.
  const ResultsReader reader(one.path);
  double liquidations = 0, takes = 0;
  for (double l : reader.outcomes(0, "bank.liquidations")) liquidations += l;
  for (double t : reader.outcomes(1, "bank.auction_takes")) takes += t;
  CHECK(liquidations > 0);
  CHECK(takes > 0);
}

// experiment.record.compression only changes how the file stores the values:
// raw by default, shuffle + deflate at the given level otherwise (FORMAT.md).
TEST_CASE("determinism: the compression level changes the file size, not one value", "[engine][determinism]") {
  const auto raw = defisim::engine::load_experiment_text(sweep_yaml, "determinism.yaml");
  defisim::engine::LoadOptions options;
  options.assignments = {"experiment.record.compression=6"};
  const auto compressed = defisim::engine::load_experiment_text(sweep_yaml, "determinism.yaml", options);
  REQUIRE(compressed.base().record_compression == 6);
  REQUIRE(raw.base().record_compression == 0);
  TempResults raw_file("raw"), compressed_file("compressed");
  run(raw, raw_file.path, 2);
  run(compressed, compressed_file.path, 2);
  const Layout layout = layout_of(raw);
  // (The stored config differs by the assignment, so compare datasets only.)
  const ResultsReader a(raw_file.path), b(compressed_file.path);
  for (std::size_t k = 0; k < layout.outcomes.size(); ++k) {
    for (const std::string& metric : layout.outcomes[k]) CHECK(same_bits(a.outcomes(k, metric), b.outcomes(k, metric)));
    for (const std::string& metric : layout.series[k]) {
      std::uint64_t paths = 0, samples = 0;
      CHECK(same_bits(a.series(k, metric, &paths, &samples), b.series(k, metric, &paths, &samples)));
    }
  }
  // The LP and fee series of 64 paths have long constant stretches: deflate must shrink the file.
  CHECK(fs::file_size(compressed_file.path) < fs::file_size(raw_file.path));
}

TEST_CASE("determinism: a different seed changes the results", "[engine][determinism]") {
  const auto base = defisim::engine::load_experiment_text(sweep_yaml, "determinism.yaml");
  defisim::engine::LoadOptions reseed;
  reseed.assignments.push_back("experiment.seed=43");
  const auto reseeded = defisim::engine::load_experiment_text(sweep_yaml, "determinism.yaml", reseed);
  TempResults a("seed42"), b("seed43");
  run(base, a.path, 2);
  run(reseeded, b.path, 2);
  const ResultsReader ra(a.path), rb(b.path);
  std::uint64_t paths = 0, samples = 0;
  const auto prices_a = ra.series(0, "reference.ETH", &paths, &samples);
  const auto prices_b = rb.series(0, "reference.ETH", &paths, &samples);
  REQUIRE(prices_a.size() == prices_b.size());
  // Sample 0 of each path is the initial price in both; every later sample
  // differs (continuous distributions: a tie has probability 0).
  std::size_t equal_later = 0;
  for (std::uint64_t p = 0; p < paths; ++p) {
    CHECK(prices_a[p * samples] == prices_b[p * samples]);
    for (std::uint64_t s = 1; s < samples; ++s) equal_later += prices_a[p * samples + s] == prices_b[p * samples + s];
  }
  CHECK(equal_later == 0);
  CHECK_FALSE(same_bits(ra.outcomes(0, "arb.profit"), rb.outcomes(0, "arb.profit")));
  CHECK(ra.root_attribute_string("config") != rb.root_attribute_string("config"));
}

TEST_CASE("determinism: common random numbers across scenarios of a fee sweep", "[engine][determinism]") {
  // Only markets.pool.fee differs between the scenarios, so path i of both
  // sees the same price shocks: the reference series are identical, bit for
  // bit; the pools themselves differ.
  const auto experiment = defisim::engine::load_experiment_text(sweep_yaml, "determinism.yaml");
  TempResults file("crn");
  run(experiment, file.path, 2);
  const ResultsReader reader(file.path);
  std::uint64_t paths = 0, samples = 0;
  const auto reference0 = reader.series(0, "reference.ETH", &paths, &samples);
  const auto reference1 = reader.series(1, "reference.ETH", &paths, &samples);
  CHECK(same_bits(reference0, reference1));
  CHECK_FALSE(same_bits(reader.outcomes(0, "pool.fees"), reader.outcomes(1, "pool.fees")));
  // Agents' streams do not depend on the market either: the noise trader
  // submits the same swaps (its volume differs only through reverts and
  // reference prices, which are equal), so its swap count is close; here we
  // only insist that the price paths, not the pools, are shared.
  const auto spot0 = reader.series(0, "pool.spot_price", &paths, &samples);
  const auto spot1 = reader.series(1, "pool.spot_price", &paths, &samples);
  CHECK_FALSE(same_bits(spot0, spot1));
}

TEST_CASE("determinism: antithetic pairs have negated price shocks", "[engine][determinism]") {
  // GBM with zero drift, one asset: log S_t = log S_0 + (mu - sigma^2/2) t + sigma W_t
  // with sigma W_t = sigma sqrt(dt) * (sum of the path's normals). Path 2i+1
  // uses the negated normals of path 2i, so the centred log returns
  //   c_t = log S_t - log S_0 - (mu - sigma^2/2) t
  // of the pair are exact negatives before rounding: c_t(2i) + c_t(2i+1) = 0.
  const double sigma = 0.8, mu = 0.0, s0 = 2000.0, block_time = 12.0;
  const std::string yaml = R"(
experiment: {name: antithetic, seed: 7, paths: 32, blocks: 500, block_time: 12, record: {every: 50}, antithetic: true, batch_paths: 16}
assets: [ETH, USDC]
numeraire: USDC
price: {process: gbm, initial: {ETH: 2000}, volatility: {ETH: 0.8}, drift: {ETH: 0}}
markets:
  - {id: pool, type: cpmm, pair: [ETH, USDC], reserves: {ETH: 1000, USDC: 2000000}, fee: 0.003}
agents:
  - {id: arb, type: arbitrageur}
)";
  const auto experiment = defisim::engine::load_experiment_text(yaml, "antithetic.yaml");
  TempResults file("antithetic");
  run(experiment, file.path, 2);
  const ResultsReader reader(file.path);
  std::uint64_t paths = 0, samples = 0;
  const auto prices = reader.series(0, "reference.ETH", &paths, &samples);
  REQUIRE(paths == 32);
  REQUIRE(samples == 11);
  // t in years at sample s: 50 s blocks of 12 s over a 365-day year.
  auto centred = [&](std::uint64_t path, std::uint64_t sample) {
    const double t = static_cast<double>(50 * sample) * block_time / (365.0 * 86400.0);
    return std::log(prices[path * samples + sample]) - std::log(s0) - (mu - 0.5 * sigma * sigma) * t;
  };
  // Tolerance: the engine's log price is a running sum of 500 steps of size
  // ~3e-5 on a value ~7.6 (each addition rounds by <= 4.4e-16), then exp and
  // our log add ~2 ulp relative (~4.4e-16 absolute in log); the test's own
  // drift term is exact to ~1e-20. Worst case ~500 * 4.4e-16 * 2 ~ 5e-13:
  // 1e-12. For scale: sigma sqrt(t) at t = 500 blocks is ~0.011, and the drift
  // term alone is sigma^2 t / 2 ~ 6e-5, so dropping it or failing to negate
  // the shocks would show by 7+ orders of magnitude.
  double worst = 0.0, scale = 0.0;
  for (std::uint64_t pair = 0; pair < paths / 2; ++pair) {
    for (std::uint64_t s = 0; s < samples; ++s) {
      const double a = centred(2 * pair, s), b = centred(2 * pair + 1, s);
      worst = std::max(worst, std::fabs(a + b));
      scale = std::max(scale, std::fabs(a));
      INFO("pair " << pair << " sample " << s << ": " << a << " + " << b);
      CHECK(std::fabs(a + b) <= 1e-12);
    }
  }
  CHECK(worst <= 1e-12);
  CHECK(scale > 1e-3);  // the paths do move

  // And precisely which shocks: pair i uses the normals of the price stream
  // keyed (seed, i) (rng.hpp: stream 0 = price; world.hpp: pairs share key i),
  // one per block, so c_t = +-sigma sqrt(dt) (z_1 + ... + z_t) with
  // dt = 12 / 31,536,000 years. Same tolerance as above.
  const double volatility_step = sigma * std::sqrt(block_time / (365.0 * 86400.0));
  for (std::uint64_t pair = 0; pair < paths / 2; ++pair) {
    defisim::core::RandomStream stream(7, pair, defisim::core::streams::price);
    long double sum = 0;
    for (std::uint64_t block = 1; block <= 500; ++block) {
      sum += stream.normal();
      if (block % 50 != 0) continue;
      const double expected = static_cast<double>(volatility_step * sum);
      INFO("pair " << pair << " block " << block);
      CHECK(std::fabs(centred(2 * pair, block / 50) - expected) <= 1e-12);
      CHECK(std::fabs(centred(2 * pair + 1, block / 50) + expected) <= 1e-12);
    }
  }
  // Different pairs use different shocks.
  CHECK(prices[0 * samples + 10] != prices[2 * samples + 10]);
}
