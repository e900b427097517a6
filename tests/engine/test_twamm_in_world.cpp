// A twamm inside a World: phase 3 executes its virtual orders each block,
// long-term orders settle through wallets, arbitrageurs keep its embedded
// pool at the reference price, and money is conserved. Expected values:
//   - a one-sided long-term order on a fee-0 pool with no other flow is, block
//     by block, a sequence of swaps on x*y = k, which compose exactly into one
//     swap of the whole amount: bought = y0 - k / (x0 + amount) (Uniswap v2
//     with f = 0, Adams, Zinsmeister, Robinson 2020, eq. 2; Paradigm's TWAMM
//     paper: "with one pool empty it degenerates to a plain swap");
//   - a cancelled order returns amount * (expiry - cancel) / (expiry - start)
//     of its input (a constant sales rate, Fraxswap's cancelLongTermSwap).
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "framework/engine/world.hpp"
#include "markets/market.hpp"
#include "tests/support/simulation.hpp"

namespace {

using defisim::test_support::Sim;

std::string twamm_world(double fee, double volatility, const std::string& agents, int blocks = 1200,
                        double gas_gwei = 0.0) {
  return "experiment: {name: tw, seed: 11, paths: 3, blocks: " + std::to_string(blocks) +
         ", block_time: 12, record: {every: 100}, check_conservation: true}\n"
         "assets: [ETH, USDC]\nnumeraire: USDC\n"
         "chain: {gas_price_gwei: " + std::to_string(gas_gwei) + ", ordering: mev}\n"
         "price: {process: gbm, initial: {ETH: 2000}, volatility: {ETH: " + std::to_string(volatility) + "}}\n"
         "markets:\n  - {id: tw, type: twamm, pair: [ETH, USDC], reserves: {ETH: 1000, USDC: 2000000}, fee: " +
         std::to_string(fee) + ", order_interval_blocks: 100}\n"
         "agents:\n" + agents;
}

}  // namespace

TEST_CASE("twamm in a world: a one-sided order on a fee-0 pool buys what one swap of its amount would",
          "[engine][twamm]") {
  // Sells 100,000 USDC from block 100 (a boundary) over 600 blocks; the path
  // runs past the expiry so the trader withdraws everything.
  const Sim sim(twamm_world(0.0, 0.0,
                            "  - {id: buyer, type: twamm_trader, market: tw, sell: USDC, amount: 100000, "
                            "duration_blocks: 600, start_block: 100}\n"));
  const std::vector<double> outcomes = sim.run_outcomes(0);
  const long double x0 = 2000000.0L, y0 = 1000.0L;  // selling USDC (x here) for ETH
  const long double bought = y0 - x0 * y0 / (x0 + 100000.0L);
  CHECK(outcomes[sim.outcome("buyer.sold")] == Approx(100000.0).epsilon(1e-12));
  // Relative 1e-10: 600 per-block segments, each rounding once or twice.
  CHECK(outcomes[sim.outcome("buyer.bought")] == Approx(static_cast<double>(bought)).epsilon(1e-10));
  CHECK(outcomes[sim.outcome("tw.orders_placed")] == 1.0);
  // Virtual volume: 100,000 USDC sold at 1 USDC each.
  CHECK(outcomes[sim.outcome("tw.virtual_volume")] == Approx(100000.0).epsilon(1e-12));
  CHECK(outcomes[sim.outcome("buyer.refunded")] == 0.0);
}

TEST_CASE("twamm in a world: cancelling returns the unsold input at the constant sales rate", "[engine][twamm]") {
  // Start 100, expiry 700, cancelled in block 400: the engine has executed the
  // virtual orders up to block 400, so 300 of 600 blocks are unsold.
  const Sim sim(twamm_world(0.003, 0.5,
                            "  - {id: buyer, type: twamm_trader, market: tw, sell: USDC, amount: 100000, "
                            "duration_blocks: 600, start_block: 100, cancel_at_block: 400}\n"
                            "  - {id: arb, type: arbitrageur, markets: [tw]}\n"));
  for (std::uint64_t path = 0; path < 3; ++path) {
    const std::vector<double> outcomes = sim.run_outcomes(path);
    CHECK(outcomes[sim.outcome("buyer.refunded")] == Approx(50000.0).epsilon(1e-12));
    CHECK(outcomes[sim.outcome("buyer.sold")] == Approx(50000.0).epsilon(1e-12));
    CHECK(outcomes[sim.outcome("buyer.bought")] > 0.0);
  }
}

TEST_CASE("twamm in a world: with arbitrage every block, the embedded pool ends each block in the no-trade band",
          "[engine][twamm]") {
  // Zero gas: the arbitrageur trades whenever any profit exists, so after
  // each block gamma S x <= y and gamma y <= S x (the band derived in
  // tests/agents/test_arbitrageur_in_world.cpp), although the virtual order
  // pushes the pool every block.
  const Sim sim(twamm_world(0.003, 0.8,
                            "  - {id: buyer, type: twamm_trader, market: tw, sell: USDC, amount: 400000, "
                            "duration_blocks: 600, start_block: 100}\n"
                            "  - {id: arb, type: arbitrageur, markets: [tw]}\n"));
  defisim::engine::World world(*sim.plan, 1);
  world.start();
  const double gamma = 1.0 - 0.003;
  double moved_blocks = 0;
  while (world.block() < 800) {
    world.step();
    const auto& pool = defisim::markets::constant_product_pool(world.markets()[0]);
    const double price = world.reference_prices()[0];
    // 1e-12 relative slack for the rounding of the reserves after a trade.
    CHECK(gamma * price * pool.reserve_x() <= pool.reserve_y() * (1 + 1e-12));
    CHECK(gamma * pool.reserve_y() <= price * pool.reserve_x() * (1 + 1e-12));
    const auto& twamm = std::get<defisim::markets::Twamm>(world.markets()[0]);
    if (twamm.sales_rate_x() > 0.0 || twamm.sales_rate_y() > 0.0) moved_blocks += 1.0;
    // Phase 3 brings the twamm up to the block while it has orders: from the
    // placement in block 100 to the expiry at 700, after which nothing is
    // left to execute (before the placement there is nothing to do either).
    if (world.block() >= 100) CHECK(twamm.last_virtual_order_block() == std::min<std::uint64_t>(world.block(), 700));
  }
  CHECK(moved_blocks == 600.0);  // the order sold in exactly its 600 blocks
}

TEST_CASE("twamm in a world: money is conserved with orders, cancels, front-running and arbitrage",
          "[engine][twamm][conservation]") {
  // check_conservation is on in every twamm_world: World::run throws
  // InvariantViolation at the first block where any asset's wallets + market
  // holdings (reserves, unsold order input, unwithdrawn proceeds) + venue flow
  // is off by more than 1e-9 of its gross.
  const Sim sim(twamm_world(0.003, 1.0,
                            "  - {id: buyer, type: twamm_trader, market: tw, sell: USDC, amount: 300000, "
                            "duration_blocks: 500, start_block: 50, cancel_at_block: 420}\n"
                            "  - {id: seller, type: twamm_trader, market: tw, sell: ETH, amount: 80, "
                            "duration_blocks: 300, start_block: 120}\n"
                            "  - {id: fr, type: twamm_front_runner, market: tw, min_order_numeraire: 50000, "
                            "pool_buy_numeraire: 30000, inventory_numeraire: 10000}\n"
                            "  - {id: noise, type: noise_trader, market: tw, arrivals_per_block: 0.3}\n"
                            "  - {id: lp, type: lp, market: tw, deposit_numeraire: 100000}\n"
                            "  - {id: arb, type: arbitrageur, markets: [tw]}\n",
                            1000, 20.0));
  for (std::uint64_t path = 0; path < 3; ++path) {
    INFO("path " << path);
    std::vector<double> outcomes;
    REQUIRE_NOTHROW(outcomes = sim.run_outcomes(path));
    CHECK(outcomes[sim.outcome("tw.orders_placed")] >= 3.0);  // two traders and the front-runner's bait
    CHECK(outcomes[sim.outcome("fr.attacks")] >= 1.0);
  }
}

TEST_CASE("twamm in a world: many staggered orders from one trader sell everything and settle each at its expiry",
          "[engine][twamm]") {
  // 40 orders of 2,500 USDC from block 100, order k lasting ceil(600 (k+1) / 40)
  // blocks (rounded up to intervals of 100): one-sided and fee 0, so however
  // they overlap the pool sees one long sale of 100,000 USDC and the total
  // bought is that one swap's, as in the single-order test above.
  const Sim sim(twamm_world(0.0, 0.0,
                            "  - {id: buyer, type: twamm_trader, market: tw, sell: USDC, amount: 100000, "
                            "duration_blocks: 600, start_block: 100, orders: 40}\n"));
  const std::vector<double> outcomes = sim.run_outcomes(0);
  const long double x0 = 2000000.0L, y0 = 1000.0L;
  const long double bought = y0 - x0 * y0 / (x0 + 100000.0L);
  // Exact: the last order takes what the others leave, so nothing is left over.
  CHECK(outcomes[sim.outcome("buyer.sold")] == 100000.0);
  CHECK(outcomes[sim.outcome("buyer.filled_fraction")] == 1.0);
  // 1e-10 relative, as for one order (more segments, each rounding once or twice).
  CHECK(outcomes[sim.outcome("buyer.bought")] == Approx(static_cast<double>(bought)).epsilon(1e-10));
  CHECK(outcomes[sim.outcome("tw.orders_placed")] == 40.0);
  // Every order was withdrawn after its expiry: the twamm holds nothing for
  // the trader at the end (its order-pool value is 0 up to rounding dust).
  defisim::engine::World world(*sim.plan, 0);
  world.start();
  while (world.block() < 1200) world.step();
  const auto& twamm = std::get<defisim::markets::Twamm>(world.markets()[0]);
  REQUIRE(twamm.order_count() == 40);
  for (std::uint32_t id = 0; id < 40; ++id) CHECK(twamm.order(id).status == defisim::markets::OrderStatus::finished);
}

TEST_CASE("twamm front-runner: buys ahead of a large order, sells into it until its expiry, cancels its bait when it ends",
          "[engine][twamm][front_runner]") {
  // The victim sells 300,000 USDC for ETH from block 100 over 600 blocks
  // (expiry 700) and cancels in block 400. The front-runner, under mev,
  // buys ETH ahead of the placement (a front-run bundle on it, executing
  // just before it in block 100), places in block 101 a long-term order
  // selling that ETH expiring with the victim's (700), and cancels it in the
  // block after the victim's cancel. Derived from the strategy's four steps
  // in agents/twamm_front_runner.hpp.
  const Sim sim(twamm_world(0.003, 0.5,
                            "  - {id: victim, type: twamm_trader, market: tw, sell: USDC, amount: 300000, "
                            "duration_blocks: 600, start_block: 100, cancel_at_block: 400}\n"
                            "  - {id: front, type: twamm_front_runner, market: tw, min_order_numeraire: 100000, "
                            "pool_buy_numeraire: 30000}\n"
                            "  - {id: arb, type: arbitrageur, markets: [tw]}\n"));
  defisim::engine::World world(*sim.plan, 0);
  world.start();
  while (world.block() < 99) world.step();
  const auto& twamm = std::get<defisim::markets::Twamm>(world.markets()[0]);
  const auto front = static_cast<defisim::core::AgentIndex>(1);
  const auto eth = static_cast<defisim::core::AssetIndex>(0);
  const double eth_before = world.ledger().balance(front, eth);
  world.step();  // block 100: the front-run executes just before the placement
  REQUIRE(twamm.order_count() == 1);
  CHECK(world.ledger().balance(front, eth) > eth_before);  // it bought ETH on the pool
  world.step();  // block 101: its own order, selling ETH until the victim's expiry
  REQUIRE(twamm.order_count() == 2);
  const auto& bait = twamm.order(1);
  CHECK(bait.owner == front);
  CHECK(bait.token_in == eth);
  CHECK(bait.expiry_block == twamm.order(0).expiry_block);
  CHECK(bait.expiry_block == 700);
  // It sells the ETH it bought on the pool (no inventory_numeraire here):
  // the wallet is back to its starting ETH, less the gas.
  CHECK(world.ledger().balance(front, eth) <= eth_before);
  while (world.block() < 400) world.step();
  CHECK(twamm.order(0).status == defisim::markets::OrderStatus::cancelled);  // the victim's cancel
  CHECK(twamm.order(1).status == defisim::markets::OrderStatus::open);
  world.step();  // block 401: the front-runner sees it and cancels its bait
  CHECK(twamm.order(1).status == defisim::markets::OrderStatus::cancelled);
  // One attack, completed; money conserved throughout (check_conservation).
  std::vector<double> outcomes = sim.run_outcomes(0);
  CHECK(outcomes[sim.outcome("front.attacks")] == 1.0);
  CHECK(outcomes[sim.outcome("chain.bundles")] == 1.0);
}
