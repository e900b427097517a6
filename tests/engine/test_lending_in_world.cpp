// Lending markets in a World: the borrower population, liquidators, oracles
// and the gas process together. Conservation on random lending worlds (every
// rule set, oracle kind, sale mode), the cascade (liquidators selling on the
// pool that feeds a pool-TWAP oracle liquidate more than those selling at the
// deep venue), the gas spike that leaves positions unliquidated, and the
// Maker auctions that end in bad debt when no keeper bids.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "framework/engine/world.hpp"
#include "tests/support/random_lending_world.hpp"
#include "tests/support/simulation.hpp"

namespace {

using defisim::engine::World;
using defisim::test_support::Sim;

// As in test_conservation.cpp: a path of a few hundred blocks accumulates at
// most ~1e4 roundings of 1.1e-16 of the gross holdings; 1e-9 leaves margin
// while one lost liquidation (>= 1e-6 of gross here) would show.
constexpr double conservation_tolerance = 1e-9;

}  // namespace

TEST_CASE("lending in world: 24 random lending worlds conserve every asset at every block", "[engine][lending]") {
  std::mt19937_64 rng(20261130);
  int liquidating_worlds = 0;
  std::set<std::string> liquidating_rules;
  for (int index = 0; index < 24; ++index) {
    const auto world_yaml = defisim::test_support::random_lending_world(rng, index);
    INFO(world_yaml.yaml);
    const Sim sim(world_yaml.yaml);
    for (std::uint64_t path = 0; path < 2; ++path) {
      World world(*sim.plan, path);
      world.start();
      REQUIRE(world.conservation().worst_relative_imbalance <= conservation_tolerance);
      while (world.block() < sim.spec().blocks) {
        world.step();
        const auto report = world.conservation();
        INFO("block " << world.block() << " asset " << report.worst_asset << " imbalance " << report.imbalance);
        REQUIRE(report.worst_relative_imbalance <= conservation_tolerance);
      }
    }
    // The whole-path run (with the engine's own per-block check) agrees.
    const std::vector<double> outcomes = sim.run_outcomes(0);
    const double liquidations = outcomes[sim.outcome("bank.liquidations")] + outcomes[sim.outcome("bank.auction_takes")];
    if (liquidations > 0) ++liquidating_worlds;
    if (liquidations > 0) liquidating_rules.insert(world_yaml.rules);
  }
  // ... under every rule set.
  CHECK(liquidating_rules.size() == 4);
  // The generator crashes prices often enough that liquidations happen: the
  // property is exercised, not vacuous.
  CHECK(liquidating_worlds >= 6);
}

namespace {

// A crash world: ETH falls about 10% in two hours (drift -460 a year over
// 7,200 s is -0.105 in log), a shallow ETH/USDC pool kept near the reference
// by an arbitrageur, an Aave v2 market whose protocol reads a 5-minute TWAP
// of that pool, 1,500 positions and one liquidator.
std::string crash_world(const std::string& liquidator, const std::string& chain_extra, int paths) {
  return fmt::format(R"(
experiment: {{name: crash, seed: 7, paths: {}, blocks: 600, block_time: 12, record: {{every: 100}}}}
assets: [ETH, USDC]
numeraire: USDC
chain: {{gas_price_gwei: 20{}}}
price: {{initial: {{ETH: 2000}}, volatility: {{ETH: 0.5}}, drift: {{ETH: -460}}}}
markets:
  - {{id: pool, type: cpmm, pair: [ETH, USDC], reserves: {{ETH: 3000, USDC: 6000000}}}}
  - id: bank
    type: lending
    rules: aave_v2
    max_positions: 2000
    assets:
      ETH: {{loan_to_value: 0.75, liquidation_threshold: 0.8, liquidation_bonus: 0.05}}
      USDC: {{initial_supply: 100000000}}
oracles: {{ETH: {{type: pool_twap, market: pool, window_seconds: 300}}}}
agents:
  - {{id: arb, type: arbitrageur, markets: [pool], gas_used: 100000}}
  - {{id: borrowers, type: borrower, market: bank, positions: 1500, collateral: {{ETH: 1}}, size_numeraire: {{median: 10000, sigma: 1}},
      loan_to_value: {{low: 0.55, high: 0.75}}, responsive_fraction: 0}}
  - {{id: liq, type: liquidator, market: bank, capital: {{USDC: 50000000}}, {}}}
)",
                     paths, chain_extra, liquidator);
}

struct PairedDifference {
  double mean = 0, standard_error = 0;
};
// Mean and standard error of a - b over paths (common random numbers: path i
// of both worlds sees the same prices until their actions differ).
PairedDifference paired(const Sim& a, const Sim& b, const std::string& metric, int paths) {
  std::vector<double> differences;
  for (int path = 0; path < paths; ++path) {
    const auto p = static_cast<std::uint64_t>(path);
    differences.push_back(a.run_outcomes(p)[a.outcome(metric)] - b.run_outcomes(p)[b.outcome(metric)]);
  }
  double mean = 0;
  for (double d : differences) mean += d;
  mean /= paths;
  double variance = 0;
  for (double d : differences) variance += (d - mean) * (d - mean);
  variance /= paths - 1;
  return {mean, std::sqrt(variance / paths)};
}

}  // namespace

TEST_CASE("lending in world: the cascade, selling on the pool that feeds the oracle liquidates more than selling at the venue",
          "[engine][lending]") {
  constexpr int paths = 16;
  const Sim on_pool(crash_world("sale: market, sale_market: pool", "", paths));
  const Sim at_venue(crash_world("sale: venue", "", paths));
  // Liquidation volume (debt repaid): each pool sale pushes the pool, and the
  // TWAP the protocol reads, below the reference; positions that the venue
  // world never sees as unhealthy are liquidated. Three standard errors of
  // the paired difference.
  const PairedDifference volume = paired(on_pool, at_venue, "bank.liquidation_volume", paths);
  INFO("paired difference of liquidation volume " << volume.mean << " +- " << volume.standard_error);
  CHECK(volume.mean > 3.0 * volume.standard_error);
  CHECK(volume.mean > 0.0);
  const PairedDifference count = paired(on_pool, at_venue, "bank.liquidations", paths);
  INFO("paired difference of liquidations " << count.mean << " +- " << count.standard_error);
  CHECK(count.mean > 3.0 * count.standard_error);
}

TEST_CASE("lending in world: a gas spike leaves positions unliquidated", "[engine][lending]") {
  constexpr int paths = 16;
  // Each 1% one-block drop adds 200 x the base price, decaying with a 30-minute half-life.
  const Sim spiking(crash_world("sale: venue", ", gas_process: {spike_per_percent_drop: 200, half_life_seconds: 1800}", paths));
  const Sim calm(crash_world("sale: venue", "", paths));
  const PairedDifference liquidations = paired(calm, spiking, "bank.liquidations", paths);
  INFO("calm minus spiking liquidations " << liquidations.mean << " +- " << liquidations.standard_error);
  CHECK(liquidations.mean > 3.0 * liquidations.standard_error);
  double skipped = 0;
  for (int path = 0; path < 4; ++path) {
    skipped += spiking.run_outcomes(static_cast<std::uint64_t>(path))[spiking.outcome("liq.skipped_unprofitable")];
  }
  CHECK(skipped > 0);
}
