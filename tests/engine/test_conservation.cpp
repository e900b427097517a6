// Conservation of tokens and LP shares (framework/engine/ledger.hpp): the
// reference venue is the only source or sink of tokens, so per asset
//   sum(wallets) + sum(market reserves) + venue_net == 0
// after every block of every path, and each pool's shares are all held by
// some account. Checked on randomly generated worlds (assets, pools, fees,
// price processes, gas, ordering, arbitrageurs, noise traders, LPs), stepped
// block by block; plus the gas flows (every included transaction, reverted or
// not, pays its gas to the builder) and the engine's own conservation check.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "framework/core/errors.hpp"
#include "framework/engine/world.hpp"
#include "markets/cpmm.hpp"
#include "tests/support/random_world.hpp"
#include "tests/support/simulation.hpp"

namespace {

using defisim::engine::World;

// Conservation tolerance, relative to an asset's gross holdings. A path of a
// few hundred blocks performs at most ~1e4 floating-point additions and
// multiplications on each asset's balances, each with relative rounding error
// <= 2^-53 ~ 1.1e-16 of the amounts involved (which are bounded by the gross
// holdings), so the accumulated imbalance is at most ~1e4 * 1.1e-16 ~ 1e-12 of
// the gross; 1e-9 (the engine's own tolerance) leaves three orders of margin
// while a single lost fee or gas payment (>= ~1e-7 of gross here) would show.
constexpr double conservation_tolerance = 1e-9;
// Shares only change by one addition per mint (total += minted on the pool,
// held += minted in the ledger): 1e-12 relative is generous.
constexpr double share_tolerance = 1e-12;

using defisim::test_support::RandomWorld;
using defisim::test_support::Sim;
using defisim::test_support::random_world;

// Shares of market m held by all accounts vs the pool's total.
void check_shares(const World& world, std::size_t market) {
  const auto& pool = defisim::markets::constant_product_pool(world.markets()[market]);
  double held = 0.0;
  for (std::size_t account = 0; account < world.ledger().accounts(); ++account) {
    held += world.ledger().shares(static_cast<defisim::core::AgentIndex>(account),
                                  static_cast<defisim::core::MarketIndex>(market));
  }
  CHECK(std::fabs(held - pool.total_shares()) <= share_tolerance * pool.total_shares());
}

// Every balance, venue flow and reserve is finite (a NaN would otherwise make
// every comparison false).
bool all_finite(const World& world) {
  for (double value : world.ledger().balances()) {
    if (!std::isfinite(value)) return false;
  }
  for (std::size_t asset = 0; asset < world.ledger().assets(); ++asset) {
    if (!std::isfinite(world.ledger().venue(static_cast<defisim::core::AssetIndex>(asset)))) return false;
  }
  for (const auto& market : world.markets()) {
    const auto& pool = defisim::markets::constant_product_pool(market);
    if (!(pool.reserve_x() > 0.0) || !(pool.reserve_y() > 0.0) || !std::isfinite(pool.reserve_x()) ||
        !std::isfinite(pool.reserve_y())) {
      return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("conservation: 30 random worlds conserve every asset and LP shares at every block", "[engine][conservation]") {
  std::mt19937_64 rng(20240601);
  double worst_seen = 0.0;
  std::size_t worlds_with_reverts = 0, worlds_with_lp = 0, worlds_with_drops = 0;
  std::size_t paths_with_bundles = 0, paths_with_virtual_trades = 0;
  for (int index = 0; index < 30; ++index) {
    const RandomWorld random = random_world(rng, index);
    INFO(random.description << "\n" << random.yaml);
    Sim sim(random.yaml);
    for (std::uint64_t path = 0; path < sim.spec().paths; ++path) {
      World world(*sim.plan, path);
      world.start();
      // After block 0: deposits have executed.
      REQUIRE(all_finite(world));
      CHECK(world.conservation().worst_relative_imbalance <= conservation_tolerance);
      for (std::size_t m = 0; m < world.markets().size(); ++m) check_shares(world, m);
      // Every LP's wallet-funded deposit executed at block 0 (its wallet holds
      // exactly the deposit, at the pool's initial ratio, plus the gas).
      for (std::size_t a = 0; a < sim.spec().agents.size(); ++a) {
        if (sim.spec().agents[a].type != "lp") continue;
        double shares = 0.0;
        for (std::size_t m = 0; m < world.markets().size(); ++m) {
          shares += world.ledger().shares(static_cast<defisim::core::AgentIndex>(a), static_cast<defisim::core::MarketIndex>(m));
        }
        CHECK(shares > 0.0);
        ++worlds_with_lp;
      }
      for (std::uint64_t b = 1; b <= sim.spec().blocks; ++b) {
        world.step();
        const auto report = world.conservation();
        worst_seen = std::max(worst_seen, report.worst_relative_imbalance);
        if (!(report.worst_relative_imbalance <= conservation_tolerance) || !all_finite(world)) {
          FAIL_CHECK("path " << path << " block " << b << ": asset " << report.worst_asset << " imbalance "
                             << report.imbalance << " of gross " << report.gross << " (relative "
                             << report.worst_relative_imbalance << ")");
          break;
        }
        if (b % 50 == 0) {
          for (std::size_t m = 0; m < world.markets().size(); ++m) check_shares(world, m);
        }
      }
      for (std::size_t m = 0; m < world.markets().size(); ++m) check_shares(world, m);

      // The engine's own end-to-end run with check_conservation: true must not throw.
      World run_world(*sim.plan, path);
      std::vector<double> series(sim.plan->series_values_per_path());
      std::vector<double> outcomes(sim.plan->outcome_metrics.size());
      CHECK_NOTHROW(run_world.run(series, outcomes));
      if (outcomes[sim.outcome("chain.reverts")] > 0) ++worlds_with_reverts;
      if (outcomes[sim.outcome("chain.dropped")] > 0) ++worlds_with_drops;
      if (outcomes[sim.outcome("chain.bundles")] > 0) ++paths_with_bundles;
      for (std::size_t m = 0; m < sim.spec().market_ids.size(); ++m) {
        const auto& id = sim.spec().market_ids[m];
        if (std::holds_alternative<defisim::markets::TwammParams>(sim.spec().markets[m]) &&
            outcomes[sim.outcome(id + ".virtual_volume")] > 0) {
          ++paths_with_virtual_trades;
        }
      }
    }
  }
  // The random worlds must exercise reverts, mempool drops, wallet-funded
  // deposits, searcher bundles (mev) and twamm virtual trades.
  INFO("paths with bundles " << paths_with_bundles << ", with virtual trades " << paths_with_virtual_trades);
  CHECK(paths_with_bundles > 0);
  CHECK(paths_with_virtual_trades > 0);
  CHECK(worlds_with_reverts > 0);
  CHECK(worlds_with_drops > 0);
  CHECK(worlds_with_lp > 0);
  // Observed worst: ~5e-14, consistent with the rounding estimate above.
  CHECK(worst_seen <= conservation_tolerance);
}

// ---------------------------------------------------------------------------
// Gas flows to the builder, wallet-funded add_liquidity
// ---------------------------------------------------------------------------

TEST_CASE("conservation: the builder's native balance is the sum of gas paid, reverts included", "[engine][conservation]") {
  // Gas per included transaction is gas_used * (base + priority) gwei * 1e-9
  // native (settlement.hpp). With no priority fees the builder's balance is
  //   1e-9 * gwei * (G_arb (trades + reverts) + G_noise (swaps + reverts) + G_lp * deposits)
  // summed over every included transaction, reverted or not (nothing is
  // dropped: the mempool holds 256).
  for (const std::string native : {"ETH", "USDC"}) {
    const double gwei = 20.0;
    const double g_arb = 120000, g_noise = 90000, g_lp = 150000;
    const std::string yaml = fmt::format(R"(
experiment: {{name: gas, seed: 3, paths: 3, blocks: 400, block_time: 60, record: {{every: 100}}, check_conservation: true}}
assets: [ETH, USDC]
numeraire: USDC
chain: {{native_asset: {}, gas_price_gwei: {}, ordering: fifo}}
price: {{process: gbm, initial: {{ETH: 2000}}, volatility: {{ETH: 1.5}}}}
markets:
  - {{id: pool, type: cpmm, pair: [ETH, USDC], reserves: {{ETH: 1000, USDC: 2000000}}, fee: 0.003}}
agents:
  - {{id: arb, type: arbitrageur, gas_used: {}}}
  - {{id: noise, type: noise_trader, market: pool, arrivals_per_block: 3, buy_probability: 0.5,
     size_numeraire: {{dist: lognormal, median: 5000, sigma: 1.0}}, slippage_tolerance: 0, gas_used: {}}}
  - {{id: lp, type: lp, market: pool, deposit_numeraire: 400000, gas_used: {}}}
)",
                                         native, gwei, g_arb, g_noise, g_lp);
    INFO("native asset " << native);
    Sim sim(yaml);
    const auto native_index = sim.spec().native_asset;
    const auto usdc = sim.spec().numeraire;
    const defisim::core::AgentIndex lp = 2;
    for (std::uint64_t path = 0; path < sim.spec().paths; ++path) {
      World world(*sim.plan, path);
      std::vector<double> series(sim.plan->series_values_per_path());
      std::vector<double> outcomes(sim.plan->outcome_metrics.size());
      world.run(series, outcomes);
      const double arb_count = outcomes[sim.outcome("arb.trades")] + outcomes[sim.outcome("arb.reverts")];
      const double noise_count = outcomes[sim.outcome("noise.swaps")] + outcomes[sim.outcome("noise.reverts")];
      REQUIRE(outcomes[sim.outcome("chain.dropped")] == 0);
      // The zero-tolerance noise trader must have had reverts that paid gas.
      CHECK(outcomes[sim.outcome("noise.reverts")] > 0);

      // The LP's wallet-funded deposit executed at block 0: it holds shares,
      // and its wallet kept only rounding dust of the deposit and gas.
      const double lp_shares = world.ledger().shares(lp, 0);
      CHECK(lp_shares > 0.0);
      CHECK(outcomes[sim.outcome("lp.gas_paid")] > 0.0);
      for (std::size_t asset = 0; asset < 2; ++asset) {
        // Deposit ~ 200 ETH and 4e5 USDC: dust below 1e-9 of that.
        CHECK(std::fabs(world.ledger().balance(lp, static_cast<defisim::core::AssetIndex>(asset))) <= 1e-9 * 4e5);
      }

      const double expected_gas = 1e-9 * gwei * (g_arb * arb_count + g_noise * noise_count + g_lp * 1.0);
      // Tolerance: a sum of ~1e3 positive terms, each exact to 2^-53: 1e-12 relative.
      CHECK(world.ledger().balance(world.builder_account(), native_index) == Approx(expected_gas).epsilon(1e-12));
      if (native == "USDC") {
        // Gas valued at the reference price 1: chain.gas_paid is the same sum.
        CHECK(outcomes[sim.outcome("chain.gas_paid")] == Approx(expected_gas).epsilon(1e-12));
      } else {
        CHECK(world.ledger().balance(world.builder_account(), usdc) == 0.0);
      }
      CHECK(world.conservation().worst_relative_imbalance <= conservation_tolerance);
      check_shares(world, 0);
    }
  }
}

// ---------------------------------------------------------------------------
// The engine's check: corrupting the ledger through its public (const)
// accessor must make check_conservation and run() throw. World holds its
// ledger as a non-const member, so writing through const_cast is defined.
// ---------------------------------------------------------------------------

namespace {

const char* small_world = R"(
experiment: {name: corrupt, seed: 1, paths: 1, blocks: 50, block_time: 12, record: {every: 10}, check_conservation: true}
assets: [ETH, USDC]
numeraire: USDC
chain: {gas_price_gwei: 5}
price: {process: gbm, initial: {ETH: 2000}, volatility: {ETH: 0.8}}
markets:
  - {id: pool, type: cpmm, pair: [ETH, USDC], reserves: {ETH: 1000, USDC: 2000000}, fee: 0.003}
agents:
  - {id: arb, type: arbitrageur}
  - {id: noise, type: noise_trader, market: pool, arrivals_per_block: 1}
)";

defisim::engine::Ledger& mutable_ledger(World& world) { return const_cast<defisim::engine::Ledger&>(world.ledger()); }

}  // namespace

TEST_CASE("conservation: a corrupted balance makes check_conservation and run throw InvariantViolation", "[engine][conservation]") {
  Sim sim(small_world);
  {
    World world(*sim.plan, 0);
    world.start();
    for (int b = 0; b < 10; ++b) world.step();
    CHECK_NOTHROW(world.check_conservation(conservation_tolerance));
    // 1 USDC out of thin air: gross USDC is ~4e6, so the imbalance is 2.5e-7 > 1e-9.
    mutable_ledger(world).balance(0, 1) += 1.0;
    CHECK(world.conservation().worst_relative_imbalance > conservation_tolerance);
    CHECK(world.conservation().worst_asset == 1);
    CHECK(world.conservation().imbalance == Approx(1.0).epsilon(1e-6));
    CHECK_THROWS_AS(world.check_conservation(conservation_tolerance), defisim::core::InvariantViolation);
  }
  {
    // run() checks every block when experiment.check_conservation is true.
    World world(*sim.plan, 0);
    mutable_ledger(world).balance(0, 0) += 1.0;  // 1 ETH from nowhere
    std::vector<double> series(sim.plan->series_values_per_path());
    std::vector<double> outcomes(sim.plan->outcome_metrics.size());
    CHECK_THROWS_AS(world.run(series, outcomes), defisim::core::InvariantViolation);
  }
  {
    // Without the flag run() does not check.
    std::string yaml = small_world;
    const std::string flag = "check_conservation: true";
    yaml.replace(yaml.find(flag), flag.size(), "check_conservation: false");
    Sim unchecked(yaml);
    World world(*unchecked.plan, 0);
    mutable_ledger(world).balance(0, 0) += 1.0;
    std::vector<double> series(unchecked.plan->series_values_per_path());
    std::vector<double> outcomes(unchecked.plan->outcome_metrics.size());
    CHECK_NOTHROW(world.run(series, outcomes));
  }
}

TEST_CASE("conservation: corrupted LP shares make check_conservation throw", "[engine][conservation]") {
  Sim sim(small_world);
  World world(*sim.plan, 0);
  world.start();
  world.step();
  CHECK_NOTHROW(world.check_conservation(conservation_tolerance));
  mutable_ledger(world).shares(world.genesis_account(), 0) += 1.0;  // of sqrt(1000 * 2e6) ~ 44721 shares
  CHECK_THROWS_AS(world.check_conservation(conservation_tolerance), defisim::core::InvariantViolation);
}

TEST_CASE("conservation: a NaN balance or NaN shares make check_conservation throw", "[engine][conservation]") {
  // A NaN anywhere is money lost: the check must not pass it (every
  // comparison with NaN is false, so a check written as `x > tolerance`
  // silently accepts it).
  Sim sim(small_world);
  {
    World world(*sim.plan, 0);
    world.start();
    world.step();
    mutable_ledger(world).balance(0, 1) = std::nan("");
    CHECK_THROWS_AS(world.check_conservation(conservation_tolerance), defisim::core::InvariantViolation);
  }
  {
    World world(*sim.plan, 0);
    world.start();
    world.step();
    mutable_ledger(world).shares(world.genesis_account(), 0) = std::nan("");
    CHECK_THROWS_AS(world.check_conservation(conservation_tolerance), defisim::core::InvariantViolation);
  }
}
