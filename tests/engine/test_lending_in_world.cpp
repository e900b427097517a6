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

namespace {

// A maker market read at the reference (no oracle configured), a crash, and
// a keeper who barks but has no capital to take: every auction goes stale
// and is reset by the engine each time.
const char* stale_auctions_yaml = R"(
experiment: {name: stale, seed: 11, paths: 2, blocks: 900, block_time: 12, record: {every: 100}}
assets: [ETH, DAI]
numeraire: DAI
chain: {gas_price_gwei: 10}
price: {initial: {ETH: 2000}, volatility: {ETH: 0.8}, drift: {ETH: -1500}}
markets:
  - id: vat
    type: lending
    rules: maker
    max_positions: 300
    auction: {buf: 1.3, decay: exponential, cut: 0.999, tail_seconds: 600, cusp: 0.5}
    assets:
      ETH: {liquidation_ratio: 1.5, liquidation_bonus: 0.13, borrowable: false}
      DAI: {initial_supply: 100000000, reserve_factor: 1}
agents:
  - {id: vaults, type: borrower, market: vat, positions: 200, collateral: {ETH: 1}, loan_to_value: {low: 0.4, high: 0.66},
     responsive_fraction: 0}
  - {id: keeper, type: liquidator, market: vat, capital: {DAI: 0}}
)";

}  // namespace

TEST_CASE("lending in world: protocols read the reference when no oracle is configured (records, auction resets)",
          "[engine][lending]") {
  const Sim sim(stale_auctions_yaml);
  World world(*sim.plan, 0);
  std::vector<double> price_at_block;  // reference ETH per block
  world.start();
  price_at_block.push_back(world.reference_prices()[0]);
  while (world.block() < sim.spec().blocks) {
    world.step();
    price_at_block.push_back(world.reference_prices()[0]);
  }
  const auto& vat = std::get<defisim::markets::Lending>(world.markets()[0]);
  // A reset sets the auction's top to the reference price of its block x buf.
  std::size_t reset_auctions = 0;
  for (defisim::markets::AuctionId id = 0; id < vat.auction_count(); ++id) {
    const defisim::markets::Auction& auction = vat.auction(id);
    if (auction.resets == 0) continue;
    ++reset_auctions;
    const auto block = static_cast<std::size_t>(std::llround(auction.started_seconds / 12.0));
    // DAI is the numeraire (price 1): top = ETH price x 1.3, to rounding.
    CHECK(auction.top == Approx(price_at_block[block] * 1.3).epsilon(1e-12));
  }
  CHECK(reset_auctions > 0);
  // The recorded count of vaults below health 1.25 at the last sample is the
  // brute-force count at the final reference price.
  // (A milder fall, so that some vaults are near the line without having been liquidated.)
  std::string mild_yaml = stale_auctions_yaml;
  mild_yaml.replace(mild_yaml.find("drift: {ETH: -1500}"), 19, "drift: {ETH: -200}");
  const Sim mild(mild_yaml);
  std::vector<double> series(mild.plan->series_values_per_path()), outcomes(mild.plan->outcome_metrics.size());
  World recorded(*mild.plan, 0);
  recorded.run(series, outcomes);
  const auto& final_vat = std::get<defisim::markets::Lending>(recorded.markets()[0]);
  const double now = static_cast<double>(sim.spec().blocks) * 12.0;
  std::size_t below = 0;
  for (defisim::markets::PositionId p = 0; p < final_vat.position_count(); ++p) {
    if (final_vat.health_factor(p, recorded.reference_prices(), now) < 1.25) ++below;
  }
  std::size_t metric = 0;
  while (mild.plan->series_metrics[metric].name != "vat.positions_health_below_1_25") ++metric;
  const std::size_t samples = mild.plan->samples();
  CHECK(series[metric * samples + samples - 1] == static_cast<double>(below));
  CHECK(below > 0);
}

TEST_CASE("lending in world: maker auctions nobody takes close as bad debt, taken ones do not", "[engine][lending]") {
  // The stale-auction world with keepers that can pay, auctions that close
  // when stale (reset: false), and gas either normal or so dear that no take
  // ever pays (1e6 gwei x 400,000 gas = 400 ETH per transaction).
  auto world = [](const std::string& gas) {
    std::string yaml = stale_auctions_yaml;
    yaml.replace(yaml.find("cusp: 0.5}"), 10, "cusp: 0.5, reset: false}");
    yaml.replace(yaml.find("capital: {DAI: 0}"), 17, "capital: {DAI: 100000000}, bark_gas_used: 0");
    yaml.replace(yaml.find("gas_price_gwei: 10"), 18, "gas_price_gwei: " + gas);
    return yaml;
  };
  const Sim cheap(world("10")), dear(world("1000000"));
  double cheap_takes = 0, cheap_bad_debt = 0, dear_takes = 0, dear_bad_debt = 0, dear_auctions = 0;
  for (std::uint64_t path = 0; path < 2; ++path) {
    const auto c = cheap.run_outcomes(path), d = dear.run_outcomes(path);
    cheap_takes += c[cheap.outcome("vat.auction_takes")];
    cheap_bad_debt += c[cheap.outcome("vat.bad_debt")];
    dear_takes += d[dear.outcome("vat.auction_takes")];
    dear_bad_debt += d[dear.outcome("vat.bad_debt")];
    dear_auctions += d[dear.outcome("vat.auctions_started")];
  }
  CHECK(cheap_takes > 0);
  CHECK(dear_auctions > 0);    // barks cost no gas here, so vaults still go to auction
  CHECK(dear_takes == 0);      // but no take pays for its gas
  CHECK(dear_bad_debt > 0);    // every auction closes stale: its debt is written off
  CHECK(dear_bad_debt > cheap_bad_debt);
}
