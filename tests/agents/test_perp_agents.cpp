// The perpetual-pool keeper, arbitrageur and LP (agents/perp_keeper.hpp,
// agents/perp_arbitrageur.hpp, agents/perp_lp.hpp) in small worlds with
// check_conservation on: bad configs, liquidations on each mechanism against
// the market's own count, the oracle-latency arbitrage as the LPs' loss,
// the GLP mint/redeem round trip against GlpManager's closed form, and the
// LP's drawdown exit on a deterministic crash.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "framework/core/errors.hpp"
#include "framework/engine/scenario_plan.hpp"
#include "framework/engine/world.hpp"
#include "tests/support/bits.hpp"
#include "tests/support/scripted_agent.hpp"
#include "tests/support/simulation.hpp"

namespace {

using defisim::engine::ScenarioPlan;
using defisim::engine::World;
using defisim::test_support::ScriptedTransaction;
using defisim::test_support::Sim;
namespace core = defisim::core;

// One ETH/USDC world with one perp market (`market`, a YAML flow map, id
// `perp`), `agents` (YAML list lines) and optional `extra` top-level YAML
// (oracles).
std::string perp_world(const std::string& experiment, const std::string& chain, const std::string& price,
                       const std::string& market, const std::string& agents, const std::string& extra = "") {
  return fmt::format(R"(
experiment: {{{}, check_conservation: true}}
assets: [ETH, USDC]
numeraire: USDC
chain: {{{}}}
price: {{{}}}
markets:
  - {}
{}
agents:
{}
)",
                     experiment, chain, price, market, extra, agents);
}

const std::string gmx_market =
    "{id: perp, type: gmx_glp, assets: {ETH: {initial_pool_amount: 1000}, USDC: {initial_pool_amount: 2000000}}}";
const std::string gtrade_market = "{id: perp, type: gtrade_vault, traded_asset: ETH, initial_vault_assets: 2000000}";
const std::string vamm_market =
    "{id: perp, type: vamm, base: ETH, quote_reserve: 1000000, initial_insurance_fund: 100000}";

// The ConfigError's key for this world ("" if it loads).
std::string failing_key(const std::string& market, const std::string& agent) {
  const std::string yaml = perp_world("name: bad, seed: 1, paths: 1, blocks: 10", "",
                                      "initial: {ETH: 2000}, volatility: {ETH: 0.5}", market, "  - " + agent);
  try {
    const Sim sim(yaml);
  } catch (const core::ConfigError& error) {
    INFO(error.what());
    return error.key();
  }
  return "";
}

std::size_t outcome_index(const ScenarioPlan& plan, const std::string& name) {
  for (std::size_t i = 0; i < plan.outcome_metrics.size(); ++i) {
    if (plan.outcome_metrics[i].name == name) return i;
  }
  FAIL("no outcome metric " << name);
  return 0;
}

std::vector<double> run_path(const ScenarioPlan& plan, std::uint64_t path) {
  World world(plan, path);
  std::vector<double> series(plan.series_values_per_path());
  std::vector<double> outcomes(plan.outcome_metrics.size());
  world.run(series, outcomes);
  return outcomes;
}

struct MeanSe {
  double mean = 0, se = 0;
};
MeanSe mean_se(const std::vector<double>& x) {
  double sum = 0, squares = 0;
  for (const double v : x) sum += v;
  const double mean = sum / static_cast<double>(x.size());
  for (const double v : x) squares += (v - mean) * (v - mean);
  return {mean, std::sqrt(squares / static_cast<double>(x.size() - 1) / static_cast<double>(x.size()))};
}

// ------------------------------------------------------------ keeper world --

// ETH falls deterministically by half over the path's 150 blocks (volatility
// 0: log P = log 2000 + mu t with mu = ln(0.5) / 1800 s, in years: about
// -0.46% per block). Positions are opened at block 0 by a scripted trader,
// venue-funded: leveraged longs that the crash makes liquidatable, and one
// short that it makes richer (the keeper must leave it).
const std::string crash_price = "initial: {ETH: 2000}, volatility: {ETH: 0}, drift: {ETH: -12143.9}";

core::Transaction opening(bool is_short, core::AssetIndex collateral, double amount, double leverage) {
  core::Transaction t;
  t.market = 0;
  t.kind = core::TransactionKind::perp_open;
  t.funding = core::Funding::reference_venue;
  t.perp_short = is_short;
  t.token_in = collateral;
  t.token_other = 0;  // ETH, the index asset (gmx)
  t.amount_in = amount;
  t.leverage = leverage;
  return t;
}

constexpr core::AssetIndex eth = 0, usdc = 1;

struct KeeperCase {
  std::string name;
  std::string market;
  std::vector<ScriptedTransaction> script;
  double longs = 0;  // positions the crash makes liquidatable
};

std::vector<KeeperCase> keeper_cases() {
  // The vamm's liquidations read its own mark, not the oracle: a crash
  // there is a large short sale (block 1) that moves the virtual reserves
  // (Q 1,005,000 -> 855,000: the mark falls about 28%, past the 5x long's
  // margin).
  return {
      {"gmx_glp",
       gmx_market,
       {{0, opening(false, eth, 1.0, 10.0)}, {0, opening(false, eth, 2.0, 5.0)}, {0, opening(true, usdc, 2000.0, 5.0)}},
       2},
      {"gtrade_vault",
       gtrade_market,
       {{0, opening(false, usdc, 1000.0, 10.0)},
        {0, opening(false, usdc, 2000.0, 5.0)},
        {0, opening(true, usdc, 2000.0, 5.0)}},
       2},
      {"vamm", vamm_market, {{0, opening(false, usdc, 1000.0, 5.0)}, {1, opening(true, usdc, 30000.0, 5.0)}}, 1},
  };
}

struct KeeperRun {
  std::vector<double> outcomes;
  std::unique_ptr<ScenarioPlan> plan;
  double at(const std::string& name) const { return outcomes[outcome_index(*plan, name)]; }
};

KeeperRun run_keeper(const KeeperCase& c, double gas_price_gwei, bool skip_idle = true,
                     bool closes_over_max_leverage = false) {
  const std::string yaml =
      perp_world(fmt::format("name: keeper, seed: 1, paths: 1, blocks: 150, block_time: 12, record: {{every: 50}}, "
                             "skip_idle_agents: {}",
                             skip_idle),
                 fmt::format("gas_price_gwei: {}", gas_price_gwei), crash_price, c.market,
                 fmt::format("  - {{id: keeper, type: perp_keeper, market: perp, closes_over_max_leverage: {}}}",
                             closes_over_max_leverage));
  const Sim sim(yaml);
  auto [spec, log] = defisim::test_support::with_scripted_agent(sim.spec(), c.script, "trader");
  KeeperRun run;
  run.plan = std::make_unique<ScenarioPlan>(spec);
  run.outcomes = run_path(*run.plan, 0);
  for (const core::Receipt& receipt : log->receipts) {
    INFO(c.name << ": the scripted open in block " << receipt.block);
    CHECK(receipt.succeeded());
  }
  return run;
}

// --------------------------------------------------------- arbitrage world --

// 200 paths of 2 hours of ETH at 80% volatility, read by the pool through a
// Chainlink-style push oracle (1% deviation, 1 hour heartbeat): between
// updates the oracle lags the reference by up to 1%.
std::string lagging_world(const std::string& market, const std::string& agents, bool oracle = true) {
  return perp_world("name: lag, seed: 11, paths: 200, blocks: 600, block_time: 12, record: {every: 100}", "",
                    "initial: {ETH: 2000}, volatility: {ETH: 0.8}", market, agents,
                    oracle ? "oracles: {ETH: {type: push, deviation: 0.01, heartbeat_seconds: 3600}}" : "");
}

constexpr int arbitrage_paths = 200;

// Per path: the arbitrageur's outcomes in the world with it, and the
// market's outcome `pool_metric` with it minus without it (same seed: the
// same price and oracle paths).
struct Paired {
  std::vector<double> profit, trades, pool_difference;
};
Paired paired_runs(const std::string& market, const std::string& arbitrageur, const std::string& pool_metric) {
  const Sim with(lagging_world(market, "  - " + arbitrageur));
  const Sim without(lagging_world(market, "  []"));
  Paired paired;
  for (int path = 0; path < arbitrage_paths; ++path) {
    const std::vector<double> a = with.run_outcomes(static_cast<std::uint64_t>(path));
    const std::vector<double> b = without.run_outcomes(static_cast<std::uint64_t>(path));
    paired.profit.push_back(a[with.outcome("arb.profit")]);
    paired.trades.push_back(a[with.outcome("arb.trades")]);
    paired.pool_difference.push_back(a[with.outcome(pool_metric)] - b[without.outcome(pool_metric)]);
  }
  return paired;
}

// GMX's own keeper: closes every gmx position the pool says is not healthy,
// including those only over the maximum leverage (closed for their owner,
// who is paid what is left: Vault.liquidatePosition), whatever the gas.
class GmxProtocolKeeper final : public defisim::agents::Agent {
 public:
  explicit GmxProtocolKeeper(core::AgentIndex index) : index_(index) {}
  void act(const defisim::agents::View& view, defisim::agents::TransactionSink& sink) override {
    const auto& pool = std::get<defisim::markets::GmxPool>(view.markets[0]);
    for (std::size_t slot = 0; slot < pool.open_position_count(); ++slot) {
      const defisim::markets::GmxPositionId id = pool.open_position_id(slot);
      if (pool.liquidation_state(id, view.oracle_prices, view.time_seconds) ==
          defisim::markets::GmxLiquidationState::healthy) {
        continue;
      }
      core::Transaction t;
      t.sender = index_;
      t.market = 0;
      t.kind = core::TransactionKind::perp_liquidate;
      t.position = id;
      sink.submit(t);
    }
  }

 private:
  core::AgentIndex index_;
};

class GmxProtocolKeeperParams final : public defisim::agents::AgentParams {
 public:
  std::unique_ptr<defisim::agents::Agent> create(const defisim::agents::AgentContext& context) const override {
    return std::make_unique<GmxProtocolKeeper>(context.index);
  }
};

}  // namespace

// ----------------------------------------------------------------- configs --

TEST_CASE("perp agents: bad configs fail naming the key", "[perp_agents]") {
  // A vamm's insurance fund has no shares (the arbitrageur trades a vamm's
  // mark to the reference: see the vamm test cases at the end).
  CHECK(failing_key(vamm_market, "{id: arb, type: perp_arbitrageur, market: perp}").empty());
  CHECK(failing_key(vamm_market, "{id: lp, type: perp_lp, market: perp}") == "agents.lp.market");
  CHECK(failing_key(gmx_market, "{id: keeper, type: perp_keeper, market: nope}") == "agents.keeper.market");
  CHECK(failing_key(gmx_market, "{id: arb, type: perp_arbitrageur, market: nope}") == "agents.arb.market");
  CHECK(failing_key(gmx_market, "{id: lp, type: perp_lp, market: nope}") == "agents.lp.market");
  // Beyond the pool's max_leverage (50) every open would revert.
  CHECK(failing_key(gmx_market, "{id: arb, type: perp_arbitrageur, market: perp, leverage: 60}") ==
        "agents.arb.leverage");
  CHECK(failing_key(gtrade_market, "{id: arb, type: perp_arbitrageur, market: perp, asset: USDC}") ==
        "agents.arb.asset");
  CHECK(failing_key(gtrade_market, "{id: lp, type: perp_lp, market: perp, asset: ETH}") == "agents.lp.asset");
  CHECK(failing_key(gmx_market, "{id: lp, type: perp_lp, market: perp, leave_after_drawdown: 1}") ==
        "agents.lp.leave_after_drawdown");
  CHECK(failing_key(gmx_market, "{id: keeper, type: perp_keeper, market: perp, max_liquidations_per_block: 0}") ==
        "agents.keeper.max_liquidations_per_block");
  // And good ones load.
  CHECK(failing_key(gmx_market, "{id: keeper, type: perp_keeper, market: perp}").empty());
  CHECK(failing_key(gtrade_market, "{id: arb, type: perp_arbitrageur, market: perp}").empty());
  CHECK(failing_key(vamm_market, "{id: keeper, type: perp_keeper, market: perp}").empty());
}

// ------------------------------------------------------------------ keeper --

TEST_CASE("perp_keeper: liquidates what a crash makes liquidatable on gmx_glp, gtrade_vault and vamm",
          "[perp_agents]") {
  for (const KeeperCase& c : keeper_cases()) {
    INFO(c.name);
    // Gas 1 gwei: 600,000 gas x 1e-9 ETH/gas x at most 2,000 USDC/ETH = 1.2
    // USDC, below every reward (gmx 5 USDC; gtrade 5% of ~1,000; vamm 1.25%
    // of ~3,600 of exit notional).
    const KeeperRun run = run_keeper(c, 1.0);
    // Every leveraged long is liquidated, by this keeper (no one else
    // liquidates), without a lost race; the short, which gains, stays open.
    CHECK(run.at("keeper.liquidations") == c.longs);
    CHECK(run.at("perp.liquidations") == run.at("keeper.liquidations"));
    CHECK(run.at("perp.positions_opened") - run.at("perp.liquidations") == 1.0);
    CHECK(run.at("keeper.reverted") == 0.0);
    CHECK(run.at("keeper.unfunded") == 0.0);
    CHECK(run.at("keeper.gas_paid") > 0.0);
    CHECK(run.at("keeper.profit") == Approx(run.at("keeper.rewards") - run.at("keeper.gas_paid")).epsilon(1e-12));
    if (c.name == "gmx_glp") {
      // liquidation_fee_numeraire 5 per liquidation, paid in ETH at the
      // oracle price (= the reference here) and valued at the reference.
      CHECK(run.at("keeper.rewards") == Approx(2 * 5.0).epsilon(1e-12));
      // Each long passes through "over the maximum leverage" (closed for its
      // owner with no reward) before it is liquidatable: skipped, not sent.
      CHECK(run.at("keeper.skipped_unprofitable") > 0.0);
    } else if (c.name == "gtrade_vault") {
      // liquidation_reward 5% of the collateral kept after the open fee
      // (0.08% of collateral x leverage): 0.05 x (1000 - 8) + 0.05 x (2000 - 8).
      CHECK(run.at("keeper.rewards") == Approx(0.05 * 992.0 + 0.05 * 1992.0).epsilon(1e-12));
    } else {
      CHECK(run.at("keeper.rewards") > 0.0);
    }
  }
}

TEST_CASE("perp_keeper: as GMX's own keeper it closes positions over the maximum leverage for no reward",
          "[perp_agents]") {
  const KeeperCase c = keeper_cases().front();
  REQUIRE(c.name == "gmx_glp");
  // The same crash: each long passes "over the maximum leverage" (GMX
  // validateLiquidation returns 2) before its losses exceed its collateral,
  // so with closes_over_max_leverage the keeper closes both then, for no
  // fee (Vault.liquidatePosition's decrease path pays the owner, not the
  // keeper), even at a gas price that no reward would cover.
  for (const double gas_price_gwei : {1.0, 1000.0}) {
    const KeeperRun run = run_keeper(c, gas_price_gwei, true, true);
    CHECK(run.at("keeper.liquidations") == c.longs);
    CHECK(run.at("perp.liquidations") == c.longs);
    CHECK(run.at("keeper.rewards") == 0.0);
    CHECK(run.at("keeper.gas_paid") > 0.0);
    CHECK(run.at("perp.bad_debt") == 0.0);
  }
}

TEST_CASE("perp_keeper: skips liquidations whose gas costs more than the reward", "[perp_agents]") {
  for (const KeeperCase& c : keeper_cases()) {
    INFO(c.name);
    // Gas 1000 gwei: 600,000 x 1e-6 = 0.6 ETH, at least 600 USDC while ETH
    // is above 1,000 (all path long), above every reward (at most ~100).
    const KeeperRun run = run_keeper(c, 1000.0);
    CHECK(run.at("keeper.liquidations") == 0.0);
    CHECK(run.at("perp.liquidations") == 0.0);
    CHECK(run.at("keeper.skipped_unprofitable") > 0.0);
    CHECK(run.at("keeper.gas_paid") == 0.0);
  }
}

TEST_CASE("perp agents: idle skipping leaves the results bit-identical", "[perp_agents]") {
  // The keeper sleeps while no position is open, the LP after its deposit
  // until leave_at_seconds (agents/wake.hpp); a run that never skips must
  // give the same bits.
  for (const KeeperCase& c : keeper_cases()) {
    INFO(c.name);
    const std::string lp = c.name == "vamm" ? "" : "  - {id: lp, type: perp_lp, market: perp, leave_at_seconds: 900}\n";
    auto run = [&](bool skip) {
      const std::string yaml = perp_world(
          fmt::format("name: idle, seed: 3, paths: 1, blocks: 150, block_time: 12, skip_idle_agents: {}", skip),
          "gas_price_gwei: 1", crash_price, c.market, lp + "  - {id: keeper, type: perp_keeper, market: perp}");
      const Sim sim(yaml);
      std::vector<ScriptedTransaction> late = c.script;
      for (ScriptedTransaction& step : late) step.block += 20;  // the keeper sleeps first
      auto [spec, log] = defisim::test_support::with_scripted_agent(sim.spec(), late, "trader");
      const ScenarioPlan plan(spec);
      World world(plan, 0);
      std::vector<double> series(plan.series_values_per_path());
      std::vector<double> outcomes(plan.outcome_metrics.size());
      world.run(series, outcomes);
      if (skip) CHECK(world.idle_statistics().skipped_act_calls > 0);
      outcomes.insert(outcomes.end(), series.begin(), series.end());
      return outcomes;
    };
    CHECK(defisim::test_support::same_bits(run(true), run(false)));
  }
}

// ------------------------------------------------------------- arbitrageur --

TEST_CASE("perp_arbitrageur: behind a lagging oracle on gmx_glp its profit is the LPs' loss", "[perp_agents]") {
  SECTION("with GMX's fees") {
    // Held until the oracle's 1% deviation update or a reversal (max hold =
    // the heartbeat): from an entry gap g > 0.002 + 2 x 0.1% margin fee, the
    // gap (a martingale) reaches 1% before falling to 0.1% with probability
    // about (g - 0.1%) / 0.9% > 1/3, paying about 1% of the notional, vs
    // 0.2% of fees every trade: a positive expected profit.
    const Paired paired = paired_runs(
        gmx_market, "{id: arb, type: perp_arbitrageur, market: perp, max_hold_seconds: 3600}", "perp.trader_pnl");
    const MeanSe profit = mean_se(paired.profit);
    const MeanSe trader_pnl = mean_se(paired.pool_difference);
    INFO("profit " << profit.mean << " +- " << profit.se << ", pool trader_pnl difference " << trader_pnl.mean << " +- "
                   << trader_pnl.se);
    CHECK(mean_se(paired.trades).mean > 1.0);
    CHECK(profit.mean > 3.0 * profit.se);
    // The pool as the traders' counterparty pays the arbitrageur's gross
    // trading profit: its trader_pnl falls, beyond 3 standard errors of the
    // paired difference.
    CHECK(trader_pnl.mean < -3.0 * trader_pnl.se);
    // ... by at least the arbitrageur's profit (its fees went to the pool
    // and the protocol, not to the arbitrageur).
    CHECK(-trader_pnl.mean > profit.mean);
  }
  SECTION("without fees: the arbitrageur's gain and the LPs' loss are equal in expectation") {
    // No margin, borrow or mint fee and no gas: every token the arbitrageur
    // gains at reference prices leaves the pool (valued at the reference
    // at the end: the tokens it was paid are valued when paid, a zero-mean
    // difference under the martingale price). So E[profit + lp_pnl
    // difference] = 0: within 3 standard errors.
    const std::string free_gmx =
        "{id: perp, type: gmx_glp, margin_fee: 0, borrow_rate_factor: 0, stable_borrow_rate_factor: 0, "
        "mint_burn_fee: 0, assets: {ETH: {initial_pool_amount: 1000}, USDC: {initial_pool_amount: 2000000}}}";
    const Paired paired = paired_runs(free_gmx, "{id: arb, type: perp_arbitrageur, market: perp}", "perp.lp_pnl");
    std::vector<double> total(paired.profit.size());
    for (std::size_t i = 0; i < total.size(); ++i) total[i] = paired.profit[i] + paired.pool_difference[i];
    const MeanSe profit = mean_se(paired.profit);
    const MeanSe lp_loss = mean_se(paired.pool_difference);
    const MeanSe sum = mean_se(total);
    INFO("profit " << profit.mean << " +- " << profit.se << ", lp_pnl difference " << lp_loss.mean << " +- "
                   << lp_loss.se << ", sum " << sum.mean << " +- " << sum.se);
    CHECK(profit.mean > 3.0 * profit.se);
    CHECK(lp_loss.mean < -3.0 * lp_loss.se);
    CHECK(std::fabs(sum.mean) < 3.0 * sum.se);
  }
}

TEST_CASE("perp_arbitrageur: positions closed under it for exceeding the maximum leverage still count",
          "[perp_agents]") {
  // At 49x of GMX's 50x a loss of 0.04% at the oracle puts a position over the
  // maximum leverage; GMX's keeper then closes it and pays its owner what is
  // left, a payment the arbitrageur hears of only through its wallet. The
  // oracle is delayed by 10 blocks, so it often moves against a position
  // before the reference's gap closes. Fee-free as above: E[profit + lp_pnl
  // difference] = 0 holds only if those payouts are counted.
  const std::string free_gmx =
      "{id: perp, type: gmx_glp, margin_fee: 0, borrow_rate_factor: 0, stable_borrow_rate_factor: 0, "
      "mint_burn_fee: 0, liquidation_fee_numeraire: 0, assets: {ETH: {initial_pool_amount: 1000}, USDC: "
      "{initial_pool_amount: 2000000}}}";
  auto world = [&](const std::string& agents) {
    return perp_world("name: lag, seed: 13, paths: 200, blocks: 600, block_time: 12", "",
                      "initial: {ETH: 2000}, volatility: {ETH: 0.8}", free_gmx, agents,
                      "oracles: {ETH: {type: delayed, delay_blocks: 10}}");
  };
  auto with_keeper = [](const Sim& sim) {
    auto spec = std::make_shared<defisim::engine::ScenarioSpec>(sim.spec());
    spec->agents.push_back({"gmx_keeper", "test", std::make_shared<GmxProtocolKeeperParams>()});
    return std::make_unique<ScenarioPlan>(spec);
  };
  const Sim with_sim(world("  - {id: arb, type: perp_arbitrageur, market: perp, leverage: 49}"));
  const Sim without_sim(world("  []"));
  const auto with = with_keeper(with_sim);
  const auto without = with_keeper(without_sim);
  std::vector<double> total;
  double liquidated = 0;
  for (std::uint64_t path = 0; path < arbitrage_paths; ++path) {
    const std::vector<double> a = run_path(*with, path);
    const std::vector<double> b = run_path(*without, path);
    liquidated += a[outcome_index(*with, "arb.liquidated")];
    CHECK(a[outcome_index(*with, "perp.liquidations")] == a[outcome_index(*with, "arb.liquidated")]);
    total.push_back(a[outcome_index(*with, "arb.profit")] + a[outcome_index(*with, "perp.lp_pnl")] -
                    b[outcome_index(*without, "perp.lp_pnl")]);
  }
  CHECK(liquidated > 10.0);
  const MeanSe sum = mean_se(total);
  INFO("positions closed under it " << liquidated << ", profit + lp_pnl difference " << sum.mean << " +- " << sum.se);
  CHECK(std::fabs(sum.mean) < 3.0 * sum.se);
}

TEST_CASE("perp_arbitrageur: on a gtrade_vault its profit is exactly the vault's loss", "[perp_agents]") {
  // Stablecoin collateral and payouts (price 1), every fee to the vault
  // (vault_fee_share 1), no gas: arb.profit = payouts - collateral + the
  // open trade's payout = -(fees + trader_pnl) of the vault, path by path.
  const Paired paired = paired_runs(
      "{id: perp, type: gtrade_vault, traded_asset: ETH, initial_vault_assets: 10000000, one_percent_depth_above: "
      "10000000, one_percent_depth_below: 10000000}",
      "{id: arb, type: perp_arbitrageur, market: perp, max_positions: 3}", "perp.lp_pnl");
  double trades = 0;
  for (std::size_t i = 0; i < paired.profit.size(); ++i) {
    trades += paired.trades[i];
    // Rounding: sums of ~100 amounts of up to 1e5 (notional), 1e-16 each.
    CHECK(paired.profit[i] == Approx(-paired.pool_difference[i]).margin(1e-6));
  }
  CHECK(trades > 100.0);
  const MeanSe profit = mean_se(paired.profit);
  CHECK(profit.mean > 3.0 * profit.se);
}

TEST_CASE("perp_arbitrageur: with the oracle equal to the reference it never trades", "[perp_agents]") {
  // No `oracles`: the pool reads the reference itself, the gap is exactly 0.
  const Sim sim(lagging_world(gmx_market, "  - {id: arb, type: perp_arbitrageur, market: perp}", false));
  for (std::uint64_t path = 0; path < 20; ++path) {
    const std::vector<double> outcomes = sim.run_outcomes(path);
    CHECK(outcomes[sim.outcome("arb.trades")] == 0.0);
    CHECK(outcomes[sim.outcome("arb.profit")] == 0.0);
    CHECK(outcomes[sim.outcome("perp.positions_opened")] == 0.0);
  }
}

// ---------------------------------------------------------------------- lp --

TEST_CASE("perp_lp: a GLP deposit and redemption cost the mint and burn fee on each side", "[perp_agents]") {
  // No price moves (volatility 0), no gas, no positions: the pool's AUM
  // changes only by the LP's own deposit and its fees.
  const std::string lp = "  - {id: lp, type: perp_lp, market: perp, deposit_numeraire: 1000000, leave_at_seconds: 12}";
  const Sim sim(perp_world("name: lp, seed: 1, paths: 1, blocks: 5, block_time: 12", "",
                           "initial: {ETH: 2000}, volatility: {ETH: 0}", gmx_market, lp));
  const std::vector<double> outcomes = sim.run_outcomes(0);
  // GlpManager (markets/perp_gmx.hpp): mint f = mint_burn_fee 0.003 of D =
  // 1,000,000 USDC; shares s = D (1 - f) x S / A with A = S = 4,000,000
  // (ETH 1000 x 2000 + USDC 2,000,000; genesis shares = AUM); lp_fee_share
  // 0.7 of the fee stays in the pool: A' = A + D (1 - f) + 0.7 f D,
  // S' = S + s. Redeem at block 1 (leave_at_seconds 12): s / S' x A' in
  // USDC, less f of it.
  const double f = 0.003, d = 1e6, a = 4e6, s0 = 4e6;
  const double shares = d * (1 - f) * s0 / a;
  const double aum_after = a + d * (1 - f) + 0.7 * f * d;
  const double redeemed_usd = shares / (s0 + shares) * aum_after;
  const double paid = redeemed_usd * (1 - f);
  // Rounding only (a few operations on 1e6): relative 1e-12.
  CHECK(outcomes[sim.outcome("lp.pnl")] == Approx(paid - d).epsilon(1e-12));
  CHECK(outcomes[sim.outcome("lp.return")] == Approx((paid - d) / d).epsilon(1e-12));
  CHECK(outcomes[sim.outcome("lp.fees_paid")] == Approx(f * d + f * redeemed_usd).epsilon(1e-12));
  // About f on each side: -2f, less the 70% of its own fees it gets back in
  // proportion to its share, (1 - f) D / (A + D).
  CHECK(outcomes[sim.outcome("lp.return")] == Approx(-2 * f).margin(0.3 * f));
  CHECK(outcomes[sim.outcome("lp.left")] == 1.0);
  CHECK(outcomes[sim.outcome("lp.left_at_seconds")] == 12.0);
  CHECK(outcomes[sim.outcome("lp.gas_paid")] == 0.0);
}

TEST_CASE("perp_lp: a gtrade vault deposit and redemption return the deposit", "[perp_agents]") {
  // ERC-4626 shares at assets / shares, no fee: the same 1,000,000 back.
  const std::string lp = "  - {id: lp, type: perp_lp, market: perp, leave_at_seconds: 30}";
  const Sim sim(perp_world("name: lp, seed: 1, paths: 1, blocks: 5, block_time: 12", "gas_price_gwei: 10",
                           "initial: {ETH: 2000}, volatility: {ETH: 0.5}", gtrade_market, lp));
  const std::vector<double> outcomes = sim.run_outcomes(0);
  CHECK(outcomes[sim.outcome("lp.pnl")] == Approx(0.0).margin(1e-6));
  CHECK(outcomes[sim.outcome("lp.left")] == 1.0);
  CHECK(outcomes[sim.outcome("lp.left_at_seconds")] == 36.0);  // the first block at or after 30 s
  CHECK(outcomes[sim.outcome("lp.fees_paid")] == 0.0);
  CHECK(outcomes[sim.outcome("lp.gas_paid")] > 0.0);  // deposit and redemption, 300,000 gas each at 10 gwei
}

TEST_CASE("perp_lp: leave_after_drawdown exits on a crash", "[perp_agents]") {
  // ETH falls deterministically: volatility 0, drift mu = -5000 a year, so
  // P_b = 2000 exp(mu b 12 / 31,536,000). GLP's AUM is the ETH it holds at
  // that price plus its USDC. With no fees, the LP's 1,000,000 USDC mints
  // 1,000,000 shares of 5,000,000 and the share price is
  // (1000 P_b + 3,000,000) / 5,000,000, below 0.9 of its peak 1 when P_b <=
  // 1500: first at block b* = ceil(ln(0.75) / (mu 12 / 31,536,000)) = 152
  // (151.2 rounded up, far from a rounding boundary).
  const std::string free_gmx =
      "{id: perp, type: gmx_glp, mint_burn_fee: 0, assets: {ETH: {initial_pool_amount: 1000}, USDC: "
      "{initial_pool_amount: 2000000}}}";
  const std::string lp = "  - {id: lp, type: perp_lp, market: perp, leave_after_drawdown: 0.1}";
  const Sim sim(perp_world("name: lp, seed: 1, paths: 1, blocks: 300, block_time: 12", "",
                           "initial: {ETH: 2000}, volatility: {ETH: 0}, drift: {ETH: -5000}", free_gmx, lp));
  const std::vector<double> outcomes = sim.run_outcomes(0);
  const double step = -5000.0 * 12.0 / (365.0 * 24 * 3600);
  const double first_block = std::ceil(std::log(0.75) / step);
  REQUIRE(first_block == 152.0);
  CHECK(outcomes[sim.outcome("lp.left")] == 1.0);
  CHECK(outcomes[sim.outcome("lp.left_at_seconds")] == first_block * 12.0);
  // It redeems its fifth of the AUM at that block's price: pnl = (1000 P +
  // 3e6) / 5 - 1e6 (exp here and the engine's agree to ~1e-15).
  const double price = 2000.0 * std::exp(first_block * step);
  CHECK(outcomes[sim.outcome("lp.pnl")] == Approx((1000.0 * price + 3e6) / 5.0 - 1e6).epsilon(1e-9));
  CHECK(outcomes[sim.outcome("lp.return")] < -0.1);

  // Never leaving: left 0, left_at_seconds the path length, the final
  // marked value.
  const std::string stay = "  - {id: lp, type: perp_lp, market: perp}";
  const Sim held(perp_world("name: lp, seed: 1, paths: 1, blocks: 300, block_time: 12", "",
                            "initial: {ETH: 2000}, volatility: {ETH: 0}, drift: {ETH: -5000}", free_gmx, stay));
  const std::vector<double> kept = held.run_outcomes(0);
  const double final_price = 2000.0 * std::exp(300.0 * step);
  CHECK(kept[held.outcome("lp.left")] == 0.0);
  CHECK(kept[held.outcome("lp.left_at_seconds")] == 3600.0);
  CHECK(kept[held.outcome("lp.pnl")] == Approx((1000.0 * final_price + 3e6) / 5.0 - 1e6).epsilon(1e-9));
}

// ------------------------------------------------------ arbitrageur on vamm --

namespace {

using defisim::markets::PerpSide;
using defisim::markets::Vamm;

const Vamm& vamm_of(const World& world) { return std::get<Vamm>(world.markets()[0]); }

// ETH moves deterministically by 0.07% a block (volatility 0, drift mu =
// +-0.0007 / (12 / 31,536,000) = +-1839.6 a year: log P_b = log 2000 +- 0.0007
// b), no other trader, no gas: the vamm's mark (Q / B = 2000 at block 0)
// stays until the arbitrageur trades.
std::string drifting_vamm_world(double drift, const std::string& arbitrageur, int blocks = 20) {
  return perp_world(fmt::format("name: vamm_arb, seed: 1, paths: 1, blocks: {}, block_time: 12", blocks), "",
                    fmt::format("initial: {{ETH: 2000}}, volatility: {{ETH: 0}}, drift: {{ETH: {}}}", drift),
                    vamm_market, "  - " + arbitrageur);
}
constexpr double drift_step = 0.0007;  // log move per block
constexpr double drift_per_year = drift_step * 365.0 * 24 * 3600 / 12.0;
// threshold (default 0.002) + spread_ratio (default 0.001) + toll_ratio (0).
constexpr double vamm_band = 0.002 + 0.001;

}  // namespace

TEST_CASE("perp_arbitrageur: on a vamm each trade is the notional that takes the mark exactly to the reference",
          "[perp_agents]") {
  // Gap g_b = P_b / mark - 1 crosses the band 0.003 after 5 blocks of
  // 0.07% (e^0.0028 - 1 = 0.00280 < 0.003 < e^0.0035 - 1 = 0.00351, either
  // sign): it trades at blocks 5, 10 and 15 (each trade puts the mark at
  // the reference), then max_positions 3 stops it.
  for (const double sign : {1.0, -1.0}) {
    INFO((sign > 0 ? "reference rising: longs" : "reference falling: shorts"));
    const Sim sim(drifting_vamm_world(sign * drift_per_year,
                                      "{id: arb, type: perp_arbitrageur, market: perp, max_positions: 3}"));
    World world(*sim.plan, 0);
    world.start();
    std::vector<core::BlockNumber> trade_blocks;
    for (core::BlockNumber b = 1; b <= 20; ++b) {
      const double quote_before = vamm_of(world).quote_reserve();
      const double k = vamm_of(world).invariant();
      const std::size_t open_before = vamm_of(world).open_position_count();
      world.step();
      world.check_conservation(1e-9);
      const Vamm& vamm = vamm_of(world);
      const double reference = world.reference_prices()[eth];
      if (vamm.open_position_count() > open_before) {
        INFO("block " << b);
        trade_blocks.push_back(b);
        const defisim::markets::VammPosition position = vamm.position(vamm.position_count() - 1);
        CHECK(position.side == (sign > 0 ? PerpSide::long_ : PerpSide::short_));
        // Q* = sqrt(k x reference) (quote price 1), k = Q x B: the notional
        // that gives (Q +- n)^2 / k = reference. The agent computes the same
        // from the same doubles; only (n / leverage) x leverage rounds: 1e-12.
        const double target = std::sqrt(k * reference);
        CHECK(position.open_notional == Approx(std::fabs(target - quote_before)).epsilon(1e-12));
        // The mark lands on the reference: (Q + n) / (B - B n / (Q + n)) =
        // (Q + n)^2 / k, rounding only (a few operations, relative 1e-15).
        CHECK(vamm.mark_price() == Approx(reference).epsilon(1e-12));
      }
      // Until the cap on positions, the mark stays in the band around the
      // reference (rounding 1e-12 on top).
      if (trade_blocks.size() < 3) CHECK(std::fabs(vamm.mark_price() / reference - 1.0) <= vamm_band + 1e-12);
    }
    CHECK(trade_blocks == std::vector<core::BlockNumber>{5, 10, 15});
  }
}

TEST_CASE("perp_arbitrageur: on a vamm the notional is capped at collateral_numeraire x leverage", "[perp_agents]") {
  // At block 5 Q* - Q = 1e6 (e^0.00175 - 1) = 1751.5 > the cap 100 x 10 =
  // 1000: it trades 1000 and the mark moves to (Q + 1000)^2 / k = 2000 x
  // 1.001^2, short of the reference.
  const Sim sim(drifting_vamm_world(
      drift_per_year, "{id: arb, type: perp_arbitrageur, market: perp, collateral_numeraire: 100, leverage: 10}", 5));
  World world(*sim.plan, 0);
  world.start();
  for (int b = 1; b <= 4; ++b) world.step();
  const double quote_before = vamm_of(world).quote_reserve();
  const double k = vamm_of(world).invariant();
  REQUIRE(vamm_of(world).open_position_count() == 0);
  world.step();
  world.check_conservation(1e-9);
  const Vamm& vamm = vamm_of(world);
  REQUIRE(vamm.open_position_count() == 1);
  CHECK(vamm.position(0).open_notional == Approx(1000.0).epsilon(1e-12));
  CHECK(vamm.position(0).margin == Approx(100.0).epsilon(1e-12));
  CHECK(vamm.mark_price() == Approx((quote_before + 1000.0) * (quote_before + 1000.0) / k).epsilon(1e-12));
  CHECK(vamm.mark_price() < world.reference_prices()[eth]);
}

TEST_CASE("perp_arbitrageur: on a vamm its hedged profit in closed form", "[perp_agents]") {
  // max_positions 1: one long of n = Q* - Q0 at block 5 (Q0 = 1e6, k = 5e8,
  // Q* = sqrt(k P_5)), held to block 20 (the signal agrees, no room; no
  // timer on a vamm). It paid margin n / 10 + the fee f n (f = 0.001); the
  // position alone on the reserves exits at exactly n (PnL 0, no funding
  // before 3600 s), so closing pays the margin less f n. Its hedge sold
  // b = B0 n / (Q0 + n) at P_5 and is bought back at P_20:
  //   profit = -2 f n + b (P_5 - P_20).
  for (const double sign : {1.0, -1.0}) {
    INFO((sign > 0 ? "long" : "short"));
    const Sim sim(drifting_vamm_world(sign * drift_per_year, "{id: arb, type: perp_arbitrageur, market: perp}"));
    const std::vector<double> outcomes = sim.run_outcomes(0);  // check_conservation: every block
    const double q0 = 1e6, b0 = 500.0, k = q0 * b0, f = 0.001;
    const double p5 = 2000.0 * std::exp(sign * 5 * drift_step), p20 = 2000.0 * std::exp(sign * 20 * drift_step);
    const double n = std::fabs(std::sqrt(k * p5) - q0);
    // A short owes b = B0 n / (Q0 - n), hedged by buying it: the opposite sign.
    const double size = sign > 0 ? b0 * n / (q0 + n) : b0 * n / (q0 - n);
    const double hedge = sign * size * (p5 - p20);
    CHECK(outcomes[sim.outcome("arb.trades")] == 1.0);
    // Rounding: PnL = exit - n from reserves of 1e6 (absolute ~1e-9); the
    // engine's and std::exp agree to ~1e-15 relative.
    CHECK(outcomes[sim.outcome("arb.profit")] == Approx(-2.0 * f * n + hedge).margin(1e-6));
    CHECK(hedge < 0.0);  // the reference kept moving, the mark (no other trader) did not
    CHECK(outcomes[sim.outcome("arb.mean_edge")] ==
          Approx(std::fabs(std::exp(sign * 5 * drift_step) - 1.0)).epsilon(1e-9));
    CHECK(outcomes[sim.outcome("arb.fees_paid")] == Approx(f * n).epsilon(1e-12));  // the open's fee
    CHECK(outcomes[sim.outcome("arb.liquidated")] == 0.0);
    CHECK(outcomes[sim.outcome("arb.reverts")] == 0.0);
  }
}

TEST_CASE("perp_arbitrageur: on a vamm an opposite signal closes its inventory instead of opening the other side",
          "[perp_agents]") {
  // The reference stays at 2000 (volatility 0, no drift). A scripted trader
  // shorts n1 = 30,000 (6,000 x 5) at block 1 (Q 1e6 -> 970,000, owing
  // s = 500 n1 / 970,000 base); at block 2 the arbitrageur buys it back:
  // Q* = sqrt(5e8 x 2000) = 1e6, n2 = 30,000, receiving b = s (k fixed).
  // The trader closes at block 5 (buys s: B = 500 - s, mark above 2000);
  // at block 6 the arbitrageur, long, closes its long rather than opening
  // a short, and the reserves are back at (1e6, 500).
  const Sim sim(perp_world("name: vamm_close, seed: 1, paths: 1, blocks: 10, block_time: 12", "",
                           "initial: {ETH: 2000}, volatility: {ETH: 0}", vamm_market,
                           "  - {id: arb, type: perp_arbitrageur, market: perp}"));
  core::Transaction close;
  close.market = 0;
  close.kind = core::TransactionKind::perp_close;
  close.funding = core::Funding::reference_venue;
  close.position = 0;  // the trader's short, the vamm's first position
  auto [spec, log] = defisim::test_support::with_scripted_agent(
      sim.spec(), {{1, opening(true, usdc, 6000.0, 5.0)}, {5, close}}, "trader");
  const ScenarioPlan plan(spec);
  World world(plan, 0);
  world.start();
  for (core::BlockNumber b = 1; b <= 10; ++b) {
    world.step();
    world.check_conservation(1e-9);
    const Vamm& vamm = vamm_of(world);
    INFO("block " << b);
    if (b == 2 || b == 5) {
      REQUIRE(vamm.open_position_count() == (b == 2 ? 2u : 1u));
      CHECK(vamm.position(1).open);
      CHECK(vamm.position(1).side == PerpSide::long_);
    }
    if (b == 2) CHECK(vamm.mark_price() == Approx(2000.0).epsilon(1e-12));
    if (b >= 6) {
      CHECK(vamm.open_position_count() == 0);
      CHECK(vamm.position_count() == 2);  // nothing opened on the short side
      CHECK(vamm.quote_reserve() == Approx(1e6).epsilon(1e-12));
      CHECK(vamm.mark_price() == Approx(2000.0).epsilon(1e-12));
    }
  }
  for (const core::Receipt& receipt : log->receipts) CHECK(receipt.succeeded());
  // Profit (the hedge is flat: the reference never moves): its long exits
  // at Q3 b / (B3 + b) = (k / (500 - s)) s / 500 = 1e6 s / (500 - s):
  //   profit = exit (1 - f) - n2 (1 + f).
  const std::vector<double> outcomes = run_path(plan, 0);
  const double f = 0.001, s = 500.0 * 30000.0 / 970000.0, n2 = 30000.0;
  const double exit = 1e6 * s / (500.0 - s);
  CHECK(outcomes[outcome_index(plan, "arb.trades")] == 1.0);
  // Rounding on reserves of 1e6: absolute ~1e-9.
  CHECK(outcomes[outcome_index(plan, "arb.profit")] == Approx(exit * (1 - f) - n2 * (1 + f)).margin(1e-6));
  // The gap when it opened: 2000 / (970,000^2 / 5e8) - 1.
  CHECK(outcomes[outcome_index(plan, "arb.mean_edge")] ==
        Approx(1e12 / (970000.0 * 970000.0) - 1.0).epsilon(1e-9));
  CHECK(outcomes[outcome_index(plan, "perp.positions_opened")] == 2.0);
}

namespace {

// 40 paths of an hour of ETH at 80% volatility on a shallow vamm (Q 1e6,
// mark moves ~2 n / Q: ~1% for a typical 5,000 notional) with random
// traders (120 positions an hour, 2x to 10x, about half an hour each),
// optionally the arbitrageur; every block checked for conservation.
constexpr int vamm_paths = 40;
constexpr int vamm_blocks = 300;
const std::string vamm_traders =
    "  - {id: traders, type: perp_trader, market: perp, strategy: random, trades_per_hour: 120, leverage: {min: 2, "
    "max: 10}, holding_seconds: 1800}\n";

struct VammPath {
  double mean_gap = 0;  // time average over blocks 1..N of |mark / reference - 1|
  std::vector<double> outcomes;
};
VammPath run_vamm_path(const Sim& sim, std::uint64_t path) {
  World world(*sim.plan, path);
  world.start();
  VammPath result;
  for (int b = 1; b <= vamm_blocks; ++b) {
    world.step();
    world.check_conservation(1e-9);
    result.mean_gap += std::fabs(vamm_of(world).mark_price() / world.reference_prices()[eth] - 1.0);
  }
  result.mean_gap /= vamm_blocks;
  return result;
}

}  // namespace

TEST_CASE("perp_arbitrageur: on a vamm with random traders it keeps the mark near the reference", "[perp_agents]") {
  auto world = [](const std::string& agents) {
    return perp_world(fmt::format("name: vamm_mc, seed: 5, paths: {}, blocks: {}, block_time: 12", vamm_paths,
                                  vamm_blocks),
                      "", "initial: {ETH: 2000}, volatility: {ETH: 0.8}", vamm_market, agents);
  };
  const Sim with(world(vamm_traders + "  - {id: arb, type: perp_arbitrageur, market: perp, max_positions: 50}"));
  const Sim without(world(vamm_traders));
  std::vector<double> gap_with, gap_without, difference, profit, trades;
  for (std::uint64_t path = 0; path < vamm_paths; ++path) {
    const double a = run_vamm_path(with, path).mean_gap;
    const double b = run_vamm_path(without, path).mean_gap;
    gap_with.push_back(a);
    gap_without.push_back(b);
    difference.push_back(a - b);
    const std::vector<double> outcomes = with.run_outcomes(path);
    profit.push_back(outcomes[with.outcome("arb.profit")]);
    trades.push_back(outcomes[with.outcome("arb.trades")]);
  }
  const MeanSe d = mean_se(difference), w = mean_se(gap_with), wo = mean_se(gap_without), p = mean_se(profit);
  INFO("mean |mark / reference - 1|: with " << w.mean << " +- " << w.se << ", without " << wo.mean << " +- " << wo.se
                                             << ", paired difference " << d.mean << " +- " << d.se << "; profit "
                                             << p.mean << " +- " << p.se << "; trades " << mean_se(trades).mean);
  // Same seeds: the same reference paths and trader arrivals. The
  // arbitrageur lowers the mean gap beyond 3 standard errors of the
  // paired difference ...
  CHECK(d.mean < -3.0 * d.se);
  // ... to well below what it is without it: under half.
  CHECK(w.mean < 0.5 * wo.mean);
  CHECK(mean_se(trades).mean > 1.0);
  // Hedged, it keeps what the traders' price impact left between the mark
  // and the reference (each trade buys below / sells above the reference
  // at which it hedges, by about half the gap, less the fee): a positive
  // mean profit, beyond 3 standard errors.
  CHECK(p.mean > 3.0 * p.se);
}

TEST_CASE("perp_arbitrageur: on a vamm tokens are conserved with funding and liquidations and gas and a timer",
          "[perp_agents]") {
  // 2.5 hours (two funding settlements), gas 1 gwei, a keeper, partial
  // liquidations, the traders' stop losses and the arbitrageur's timer
  // (max_hold_seconds given): experiment check_conservation holds every
  // block (World::run throws otherwise).
  const std::string vamm = "{id: perp, type: vamm, base: ETH, quote_reserve: 1000000, initial_insurance_fund: 100000, "
                           "partial_liquidation_ratio: 0.5}";
  const Sim sim(perp_world("name: vamm_conservation, seed: 9, paths: 8, blocks: 750, block_time: 12",
                           "gas_price_gwei: 1", "initial: {ETH: 2000}, volatility: {ETH: 1.5}", vamm,
                           "  - {id: traders, type: perp_trader, market: perp, trades_per_hour: 120, leverage: "
                           "{min: 2, max: 10}, holding_seconds: 1800, stop_loss: 0.5}\n"
                           "  - {id: keeper, type: perp_keeper, market: perp}\n"
                           "  - {id: arb, type: perp_arbitrageur, market: perp, max_positions: 20, "
                           "max_hold_seconds: 1800}"));
  double trades = 0, funding = 0, liquidations = 0, arb_liquidated = 0;
  for (std::uint64_t path = 0; path < 8; ++path) {
    INFO("path " << path);
    std::vector<double> outcomes;
    REQUIRE_NOTHROW(outcomes = sim.run_outcomes(path));
    trades += outcomes[sim.outcome("arb.trades")];
    funding += std::fabs(outcomes[sim.outcome("perp.funding_to_pool")]);
    liquidations += outcomes[sim.outcome("perp.liquidations")];
    arb_liquidated += outcomes[sim.outcome("arb.liquidated")];
    CHECK(std::isfinite(outcomes[sim.outcome("arb.profit")]));
    CHECK(outcomes[sim.outcome("arb.gas_paid")] > 0.0);
  }
  // The runs exercised what they are for: its trades, funding settled,
  // liquidations (some of its own positions: hedges unwound under it).
  INFO("arb trades " << trades << ", funding |to pool| " << funding << ", liquidations " << liquidations
                     << ", of the arbitrageur's " << arb_liquidated);
  CHECK(trades > 8.0);
  CHECK(funding > 0.0);
  CHECK(liquidations > 0.0);
  CHECK(arb_liquidated > 0.0);
}

TEST_CASE("perp_arbitrageur: on a vamm bad configs fail naming the key", "[perp_agents]") {
  // 1 / leverage must be at least the vamm's initial_margin_ratio (0.1 by
  // default: at most 10x), else every open would revert.
  CHECK(failing_key(vamm_market, "{id: arb, type: perp_arbitrageur, market: perp, leverage: 20}") ==
        "agents.arb.leverage");
  CHECK(failing_key(vamm_market, "{id: arb, type: perp_arbitrageur, market: perp, leverage: 10}").empty());
  CHECK(failing_key(vamm_market, "{id: arb, type: perp_arbitrageur, market: perp, asset: USDC}") ==
        "agents.arb.asset");
  CHECK(failing_key(vamm_market, "{id: arb, type: perp_arbitrageur, market: perp, asset: ETH}").empty());
  CHECK(failing_key(vamm_market, "{id: arb, type: perp_arbitrageur, market: perp, max_hold_seconds: 0}") ==
        "agents.arb.max_hold_seconds");
  // The default leverage (10) above a stricter vamm: the error names `leverage`.
  const std::string strict = "{id: perp, type: vamm, base: ETH, quote_reserve: 1000000, initial_insurance_fund: "
                             "100000, initial_margin_ratio: 0.2, maintenance_margin_ratio: 0.1}";
  CHECK(failing_key(strict, "{id: arb, type: perp_arbitrageur, market: perp, leverage: 5}").empty());
  try {
    const Sim sim(perp_world("name: bad, seed: 1, paths: 1, blocks: 10", "",
                             "initial: {ETH: 2000}, volatility: {ETH: 0.5}", strict,
                             "  - {id: arb, type: perp_arbitrageur, market: perp}"));
    FAIL("the default leverage 10 was accepted on a vamm that allows 5x");
  } catch (const core::ConfigError& error) {
    CHECK_THAT(std::string(error.what()), Catch::Matchers::Contains("`leverage`"));
    CHECK_THAT(std::string(error.what()), Catch::Matchers::Contains("initial_margin_ratio"));
  }
}

TEST_CASE("perp_arbitrageur: on a vamm max_hold_seconds applies only if given", "[perp_agents]") {
  // The rising reference of the closed-form case over 60 blocks (720 s),
  // max_positions 1: it opens at block 5 (t = 60 s).
  //  - No max_hold_seconds: no timer on a vamm (not the 600 of gmx and
  //    gtrade): the long is held to the end, one trade.
  //  - max_hold_seconds 300 (25 blocks): closed at block 30 (t = 360 s),
  //    reopened at block 31 (the mark back at 2000, the reference 2000
  //    e^0.0217, far outside the band), closed at 56 and reopened at 57.
  const Sim held(drifting_vamm_world(drift_per_year, "{id: arb, type: perp_arbitrageur, market: perp}", 60));
  const std::vector<double> kept = held.run_outcomes(0);
  CHECK(kept[held.outcome("arb.trades")] == 1.0);
  CHECK(kept[held.outcome("perp.positions_opened")] == 1.0);
  const Sim timed(drifting_vamm_world(
      drift_per_year, "{id: arb, type: perp_arbitrageur, market: perp, max_hold_seconds: 300}", 60));
  World world(*timed.plan, 0);
  world.start();
  std::vector<core::BlockNumber> opened, closed;
  std::size_t open_before = 0, count_before = 0;
  for (core::BlockNumber b = 1; b <= 60; ++b) {
    world.step();
    world.check_conservation(1e-9);
    const Vamm& vamm = vamm_of(world);
    if (vamm.position_count() > count_before) opened.push_back(b);
    if (vamm.open_position_count() < open_before + (vamm.position_count() - count_before)) closed.push_back(b);
    open_before = vamm.open_position_count();
    count_before = vamm.position_count();
  }
  CHECK(opened == std::vector<core::BlockNumber>{5, 31, 57});
  CHECK(closed == std::vector<core::BlockNumber>{30, 56});
}
