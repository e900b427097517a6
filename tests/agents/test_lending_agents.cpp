// The borrower and liquidator agents (agents/borrower.hpp, agents/liquidator.hpp)
// in small worlds: what they open, defend, liquidate and buy, and that their
// reported numbers match the market's.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <string>
#include <vector>

#include "framework/engine/world.hpp"
#include "tests/support/simulation.hpp"

namespace {

using defisim::engine::World;
using defisim::test_support::Sim;

double sum_over_paths(const Sim& sim, const std::string& metric, int paths) {
  double total = 0;
  for (int path = 0; path < paths; ++path) total += sim.run_outcomes(static_cast<std::uint64_t>(path))[sim.outcome(metric)];
  return total;
}

// A CRV short squeeze in miniature: a whale borrowed CRV against USDC, CRV
// rises, and the liquidator holds only USDC: it must buy the CRV it repays on
// a thin pool, in chunks.
std::string squeeze_world(int chunks) {
  return fmt::format(R"(
experiment: {{name: squeeze, seed: 3, paths: 4, blocks: 600, block_time: 12, record: {{every: 100}}, check_conservation: true}}
assets: [ETH, CRV, USDC]
numeraire: USDC
chain: {{gas_price_gwei: 10}}
price: {{initial: {{ETH: 2000, CRV: 0.5}}, volatility: {{ETH: 0.1, CRV: 2.0}}, drift: {{ETH: 0, CRV: 1500}}}}
markets:
  - {{id: crv_pool, type: cpmm, pair: [CRV, USDC], reserves: {{CRV: 4000000, USDC: 2000000}}}}
  - id: bank
    type: lending
    max_positions: 10
    assets:
      USDC: {{loan_to_value: 0.8, liquidation_threshold: 0.85, liquidation_bonus: 0.08, borrowable: false}}
      CRV: {{initial_supply: 200000000}}
agents:
  - {{id: arb, type: arbitrageur, markets: [crv_pool]}}
  - {{id: whale, type: borrower, market: bank, positions: 1, collateral: {{USDC: 1}}, debt: CRV,
      size_numeraire: {{median: 20000000, sigma: 0}}, loan_to_value: {{low: 0.7, high: 0.7}}, responsive_fraction: 0}}
  - {{id: liq, type: liquidator, market: bank, capital: {{USDC: 50000000}}, debt_source: market, debt_market: crv_pool,
      sale: keep, chunks: {}}}
)",
                     chunks);
}

}  // namespace

TEST_CASE("liquidator: with only the collateral's token it buys the debt on a pool, in chunks, without reverting",
          "[agents][lending]") {
  for (const int chunks : {1, 3}) {
    INFO("chunks " << chunks);
    const Sim sim(squeeze_world(chunks));
    // Each chunk's purchase is priced after the previous ones and asks for a
    // hair less than it repays. Before that, a quarter of single purchases
    // (rounding) and nearly all later chunks' purchases reverted. What may
    // still revert is a last chunk finding the position healthy again (a
    // handful in hundreds of liquidations): under 1%.
    const double liquidations = sum_over_paths(sim, "liq.liquidations", 4);
    CHECK(liquidations > 100);
    CHECK(sum_over_paths(sim, "liq.reverts", 4) < 0.01 * liquidations);
    CHECK(sum_over_paths(sim, "chain.reverts", 4) < 0.01 * liquidations);
  }
}

TEST_CASE("borrower: a mixed-collateral population opens positions with two collateral assets", "[agents][lending]") {
  const Sim sim(R"(
experiment: {name: mix, seed: 5, paths: 2, blocks: 50, block_time: 12, record: {every: 10}, check_conservation: true}
assets: [ETH, BTC, USDC]
numeraire: USDC
price: {initial: {ETH: 2000, BTC: 30000}, volatility: {ETH: 0.8, BTC: 0.6}}
markets:
  - id: bank
    type: lending
    max_positions: 1000
    assets:
      ETH: {loan_to_value: 0.75, liquidation_threshold: 0.8, borrowable: false}
      BTC: {loan_to_value: 0.7, liquidation_threshold: 0.75, borrowable: false}
      USDC: {initial_supply: 100000000}
agents:
  - {id: b, type: borrower, market: bank, positions: 500, collateral: {ETH: 2, BTC: 1}, mixed_collateral_fraction: 0.4,
     loan_to_value: {low: 0.5, high: 0.74}}
)");
  World world(*sim.plan, 0);
  world.start();
  const auto& bank = std::get<defisim::markets::Lending>(world.markets()[0]);
  std::size_t mixed = 0;
  for (defisim::markets::PositionId p = 1; p < bank.position_count(); ++p) {
    const bool eth = bank.collateral(p, 0, 0.0) > 0.0, btc = bank.collateral(p, 1, 0.0) > 0.0;
    CHECK((eth || btc));
    if (eth && btc) ++mixed;
    // Opened below its borrowing power: the loan-to-value target is capped
    // at 0.999 of the smaller asset's loan_to_value.
    CHECK(bank.borrowing_headroom(p, world.reference_prices(), 0.0) >= 0.0);
  }
  CHECK(bank.position_count() == 501);
  // Binomial(500, 0.4): mean 200, sd 11; 3 sd either side.
  CHECK(mixed > 167);
  CHECK(mixed < 233);
  const std::vector<double> outcomes = sim.run_outcomes(0);
  CHECK(outcomes[sim.outcome("b.opened_mixed")] == static_cast<double>(mixed));
  CHECK(outcomes[sim.outcome("b.open_failures")] == 0);
}
