// The perp_trader agent (agents/perp_trader.hpp) on each perpetual pool:
// bad configs, conservation and agreement with the market's own counts, the
// strategies' sides, stop-loss and take-profit, liquidation detection,
// idle skipping, and the fair-game test: a random trader without fees on a
// martingale price leaves the pool an expected trading PnL of zero.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "agents/agent.hpp"
#include "framework/core/errors.hpp"
#include "framework/engine/world.hpp"
#include "tests/support/bits.hpp"
#include "tests/support/simulation.hpp"

namespace {

using defisim::engine::World;
using defisim::test_support::Sim;
namespace markets = defisim::markets;

// One ETH/USDC world with one perp market (`market`, YAML flow map) and
// agents (`agents`, YAML list lines).
std::string world_yaml(const std::string& experiment, const std::string& price, const std::string& market,
                       const std::string& agents) {
  return fmt::format(R"(
experiment: {{{}}}
assets: [ETH, USDC]
numeraire: USDC
chain: {{gas_price_gwei: 10}}
price: {{{}}}
markets:
  - {}
agents:
{}
)",
                     experiment, price, market, agents);
}

const std::string gmx_market =
    "{id: glp, type: gmx_glp, assets: {ETH: {initial_pool_amount: 1000}, USDC: {initial_pool_amount: 2000000}}}";
const std::string gtrade_market =
    "{id: gdai, type: gtrade_vault, traded_asset: ETH, initial_vault_assets: 2000000, one_percent_depth_above: "
    "5000000, one_percent_depth_below: 5000000, funding_rate: 2, rollover_rate: 0.5}";
// A deep pool for a crash: 20x longs opened as ETH halves reserve up to
// 20 ETH each.
const std::string gmx_deep_market =
    "{id: glp, type: gmx_glp, assets: {ETH: {initial_pool_amount: 20000}, USDC: {initial_pool_amount: 2000000}}}";
const std::string vamm_market =
    "{id: perp, type: vamm, base: ETH, quote_reserve: 8000000, initial_insurance_fund: 20000, "
    "funding_period_seconds: 600, toll_ratio: 0.0005}";
// Fee-free versions, for the checks that need exact values.
const std::string gmx_free_market =
    "{id: glp, type: gmx_glp, margin_fee: 0, borrow_rate_factor: 0, stable_borrow_rate_factor: 0, mint_burn_fee: 0, "
    "liquidation_fee_numeraire: 0, assets: {ETH: {initial_pool_amount: 1000}, USDC: {initial_pool_amount: 2000000}}}";
const std::string gtrade_free_market =
    "{id: gdai, type: gtrade_vault, traded_asset: ETH, initial_vault_assets: 10000000, open_fee: 0, close_fee: 0, "
    "max_gain: 1000000}";
const std::string vamm_free_market =
    "{id: perp, type: vamm, base: ETH, quote_reserve: 8000000, initial_insurance_fund: 20000, spread_ratio: 0}";

// The ConfigError's key for a config with this perp_trader entry ("" if it loads).
std::string failing_key(const std::string& market, const std::string& agent) {
  const std::string yaml = world_yaml("name: bad, seed: 1, paths: 1, blocks: 10",
                                      "initial: {ETH: 2000}, volatility: {ETH: 0.5}",
                                      market, "  - " + agent);
  try {
    const Sim sim(yaml);
  } catch (const defisim::core::ConfigError& error) {
    UNSCOPED_INFO(error.what());  // shown with the next assertion
    return error.key();
  }
  return "";
}

// The last sample of series metric `name` in a path's series values.
double last_sample(const Sim& sim, const std::vector<double>& series, const std::string& name) {
  const std::size_t samples = sim.plan->samples();
  for (std::size_t i = 0; i < sim.plan->series_metrics.size(); ++i) {
    if (sim.plan->series_metrics[i].name == name) return series[i * samples + samples - 1];
  }
  FAIL("no series metric " << name);
  return 0.0;
}

std::vector<double> run_path(const Sim& sim, std::uint64_t path, std::vector<double>* series = nullptr) {
  World world(*sim.plan, path);
  std::vector<double> values(sim.plan->series_values_per_path());
  std::vector<double> outcomes(sim.plan->outcome_metrics.size());
  world.run(values, outcomes);
  if (series != nullptr) *series = values;
  return outcomes;
}

// A keeper for the liquidation test: each block, liquidates every gmx
// position the pool says is not healthy (the perp_keeper agent is not ours).
class GmxKeeper final : public defisim::agents::Agent {
 public:
  explicit GmxKeeper(defisim::core::AgentIndex index) : index_(index) {}
  void act(const defisim::agents::View& view, defisim::agents::TransactionSink& sink) override {
    const auto& pool = std::get<markets::GmxPool>(view.markets[0]);
    for (std::size_t slot = 0; slot < pool.open_position_count(); ++slot) {
      const markets::GmxPositionId id = pool.open_position_id(slot);
      if (pool.liquidation_state(id, view.oracle_prices, view.time_seconds) == markets::GmxLiquidationState::healthy) {
        continue;
      }
      defisim::core::Transaction t;
      t.sender = index_;
      t.market = 0;
      t.kind = defisim::core::TransactionKind::perp_liquidate;
      t.position = id;
      sink.submit(t);
    }
  }

 private:
  defisim::core::AgentIndex index_;
};

class GmxKeeperParams final : public defisim::agents::AgentParams {
 public:
  std::unique_ptr<defisim::agents::Agent> create(const defisim::agents::AgentContext& context) const override {
    return std::make_unique<GmxKeeper>(context.index);
  }
};

struct Stats {
  double mean = 0.0, standard_error = 0.0;
};

Stats stats_of(const std::vector<double>& values) {
  const double n = static_cast<double>(values.size());
  Stats stats;
  for (const double v : values) stats.mean += v / n;
  double squares = 0.0;
  for (const double v : values) squares += (v - stats.mean) * (v - stats.mean);
  stats.standard_error = std::sqrt(squares / (n - 1.0) / n);
  return stats;
}

}  // namespace

TEST_CASE("perp_trader: bad configs fail naming the key", "[agents][perp_trader]") {
  const std::string pool = "{id: pool, type: cpmm, pair: [ETH, USDC], reserves: {ETH: 100, USDC: 200000}}";
  CHECK(failing_key(pool, "{id: t, type: perp_trader, market: pool}") == "agents.t.market");
  CHECK(failing_key(gmx_market, "{id: t, type: perp_trader, market: glp, strategy: trend}") == "agents.t.strategy");
  CHECK(failing_key(gmx_market, "{id: t, type: perp_trader, market: glp, leverage: {min: 10, max: 5}}") ==
        "agents.t.leverage.max");
  CHECK(failing_key(gmx_market, "{id: t, type: perp_trader, market: glp, leverage: {min: 0.5}}") ==
        "agents.t.leverage.min");
  CHECK(failing_key(gmx_market, "{id: t, type: perp_trader, market: glp, asset: USDC}") == "agents.t.asset");
  CHECK(failing_key(gtrade_market, "{id: t, type: perp_trader, market: gdai, asset: USDC}") == "agents.t.asset");
  CHECK(failing_key(vamm_market, "{id: t, type: perp_trader, market: perp, lookback_seconds: 60}") ==
        "agents.t.lookback_seconds");  // not used by strategy random
  CHECK(failing_key(vamm_market, "{id: t, type: perp_trader, market: perp, stop_loss: 1.5}") == "agents.t.stop_loss");
  CHECK(failing_key(vamm_market, "{id: t, type: perp_trader, market: perp, collateral_numeraire: {mean: 0}}") ==
        "agents.t.collateral_numeraire.mean");
  CHECK(failing_key(vamm_market, "{id: t, type: perp_trader, market: perp, max_open_positions: 0}") ==
        "agents.t.max_open_positions");
  // An asset that may not be shorted, with a strategy that shorts.
  const std::string longs_only =
      "{id: glp, type: gmx_glp, assets: {ETH: {initial_pool_amount: 10, shortable: false}, USDC: {initial_pool_amount: "
      "20000}}}";
  CHECK(failing_key(longs_only, "{id: t, type: perp_trader, market: glp}") == "agents.t");
  CHECK(failing_key(longs_only, "{id: t, type: perp_trader, market: glp, long_probability: 1}").empty());
  CHECK(failing_key(gmx_market, "{id: t, type: perp_trader, market: glp, strategy: momentum, lookback_seconds: 60}")
            .empty());
}

TEST_CASE("perp_trader: on each mechanism it opens and closes positions, conserving money, as the market counts them",
          "[agents][perp_trader]") {
  struct Case {
    std::string market, id, leverage;
  };
  // vamm: initial_margin_ratio 0.1 allows 10x at most.
  for (const Case& c : {Case{gmx_market, "glp", "{min: 2, max: 20}"}, Case{gtrade_market, "gdai", "{min: 2, max: 20}"},
                        Case{vamm_market, "perp", "{min: 2, max: 8}"}}) {
    INFO("market " << c.id);
    const Sim sim(world_yaml(
        "name: t, seed: 7, paths: 2, blocks: 600, block_time: 12, record: {every: 60}, check_conservation: true",
        "initial: {ETH: 2000}, volatility: {ETH: 0.8}", c.market,
        fmt::format("  - {{id: t, type: perp_trader, market: {}, trades_per_hour: 120, holding_seconds: 600, "
                    "leverage: {}}}",
                    c.id, c.leverage)));
    double arrivals = 0.0;
    for (std::uint64_t path = 0; path < 2; ++path) {
      INFO("path " << path);
      // World::run checks conservation of every asset after every block
      // (check_conservation: true) and throws if it fails.
      std::vector<double> series;
      const std::vector<double> out = run_path(sim, path, &series);
      auto get = [&](const std::string& name) { return out[sim.outcome(name)]; };
      const double opened = get("t.positions_opened");
      // The series' last sample (block 600) is the outcome, taken at the same block.
      CHECK(last_sample(sim, series, "t.open_positions") == get("t.open_at_end"));
      CHECK(last_sample(sim, series, "t.pnl") == get("t.pnl"));
      CHECK(opened > 100);
      CHECK(opened == get(c.id + ".positions_opened"));
      CHECK(get("t.positions_closed") > 100);
      CHECK(get("t.positions_closed") == get(c.id + ".positions_closed"));
      CHECK(get("t.liquidated") == get(c.id + ".liquidations"));  // no keeper: 0
      CHECK(get("t.liquidated") == 0);
      CHECK(opened == get("t.positions_closed") + get("t.liquidated") + get("t.open_at_end"));
      // Nothing refused (leverage within the market's limits, no caps), no
      // close tried that could not succeed.
      CHECK(get("t.skipped") == 0);
      CHECK(get("chain.reverts") == 0);
      // The only sender of gas: the chain's total (5e5 gas x 10 gwei x
      // $2000 per close or open: $10 each; 1e-9 for roundings of ~500 sums).
      CHECK(get("t.gas_paid") == Approx(get("chain.gas_paid")).epsilon(1e-9));
      CHECK(get("t.gas_paid") > 0);
      CHECK(get("t.fees_paid") > 0);
      if (c.id != "perp") {
        // gmx, gtrade: the market's fee totals are the sums of the same
        // receipts' position and funding fees (world_perp.cpp account_perp).
        CHECK(get("t.fees_paid") ==
              Approx(get(c.id + ".position_fees") + get(c.id + ".funding_to_pool")).epsilon(1e-9));
      }
      CHECK(get("t.win_rate") > 0.0);
      CHECK(get("t.win_rate") < 1.0);
      arrivals += opened + get("t.skipped");
    }
    // Arrivals over two paths of 7,200 s at 120 per hour: Poisson with mean
    // 480 (sd 21.9); 3 sd is 66.
    CHECK(std::abs(arrivals - 480.0) < 66.0);
  }
}

TEST_CASE("perp_trader: momentum opens longs and mean_reverting shorts when the price rises steadily",
          "[agents][perp_trader]") {
  // Drift 100 a year, volatility 0.001: a block's drift (100 x 12 / 3.15e7 =
  // 3.8e-5) is 60 times its noise (0.001 x sqrt(12 / 3.15e7) = 6.2e-7), so
  // the price rises over every lookback, however short.
  for (const std::string strategy : {"momentum", "mean_reverting"}) {
    INFO(strategy);
    const Sim sim(world_yaml("name: t, seed: 3, paths: 1, blocks: 300, block_time: 12, record: {every: 300}",
                             "initial: {ETH: 2000}, volatility: {ETH: 0.001}, drift: {ETH: 100}", gmx_market,
                             fmt::format("  - {{id: t, type: perp_trader, market: glp, strategy: {}, lookback_seconds: "
                                         "600, trades_per_hour: 200, holding_seconds: 600}}",
                                         strategy)));
    World world(*sim.plan, 0);
    std::vector<double> series(sim.plan->series_values_per_path());
    std::vector<double> outcomes(sim.plan->outcome_metrics.size());
    world.run(series, outcomes);
    const auto& pool = std::get<markets::GmxPool>(world.markets()[0]);
    const auto expected = strategy == "momentum" ? markets::PerpSide::long_ : markets::PerpSide::short_;
    std::size_t matching = 0;
    for (markets::GmxPositionId id = 0; id < pool.position_count(); ++id) {
      if (pool.position(id).side == expected) ++matching;
    }
    // 200 per hour for an hour: about 200 positions, every one on the side.
    CHECK(pool.position_count() > 150);
    CHECK(matching == pool.position_count());
    CHECK(outcomes[sim.outcome("t.positions_opened")] == static_cast<double>(pool.position_count()));
  }
}

TEST_CASE("perp_trader: tight stop-loss and take-profit thresholds trigger and are counted", "[agents][perp_trader]") {
  // No fees, so a position's value is its collateral plus its price PnL,
  // and a holding time of ~30 years: every close is a stop-loss or a
  // take-profit. At 5-10x and 80% volatility (a block's sd 0.8 x
  // sqrt(12 / 3.15e7) = 4.9e-4) a gmx or gtrade position moves 0.25-0.5% of
  // its collateral per block, so 3% thresholds are reached in ~60 blocks. A
  // vamm's mark moves only with trades: each ~$7,500 notional moves it by
  // ~2 x 7500 / 8e6 = 0.2%, 1-2% of a position's collateral, a trade a minute.
  struct Case {
    std::string market, id;
  };
  for (const Case& c :
       {Case{gmx_free_market, "glp"}, Case{gtrade_free_market, "gdai"}, Case{vamm_free_market, "perp"}}) {
    INFO("market " << c.id);
    const Sim sim(world_yaml(
        "name: t, seed: 5, paths: 1, blocks: 600, block_time: 12, record: {every: 600}, check_conservation: true",
        "initial: {ETH: 2000}, volatility: {ETH: 0.8}", c.market,
        fmt::format("  - {{id: t, type: perp_trader, market: {}, trades_per_hour: 60, holding_seconds: 1e9, "
                    "leverage: {{min: 5, max: 10}}, collateral_numeraire: {{mean: 1000, sigma: 0}}, stop_loss: 0.03, "
                    "take_profit: 0.03}}",
                    c.id)));
    World world(*sim.plan, 0);
    std::vector<double> series(sim.plan->series_values_per_path());
    std::vector<double> outcomes(sim.plan->outcome_metrics.size());
    world.run(series, outcomes);
    auto get = [&](const std::string& name) { return outcomes[sim.outcome(name)]; };
    const double stopped = get("t.stopped_out"), took = get("t.took_profit");
    CHECK(stopped > 5);
    CHECK(took > 5);
    CHECK(get("t.positions_closed") == stopped + took);
    if (c.id == "glp") {
      // Each position's collateral is exactly $1000 (sigma 0) and fee-free,
      // so a stop-loss closed it at a price PnL <= -$30 and a take-profit at
      // >= +$30 (the market keeps the realised PnL of closed positions);
      // 1e-9 relative allows the roundings of collateral = (1000 / price) x
      // price.
      const auto& pool = std::get<markets::GmxPool>(world.markets()[0]);
      double losers = 0, winners = 0;
      for (markets::GmxPositionId id = 0; id < pool.position_count(); ++id) {
        const markets::GmxPosition& p = pool.position(id);
        if (p.open) continue;
        CHECK(std::abs(p.realised_pnl_usd) >= 30.0 * (1.0 - 1e-9));
        (p.realised_pnl_usd < 0.0 ? losers : winners) += 1.0;
      }
      CHECK(losers == stopped);
      CHECK(winners == took);
      // Closed at a win exactly when taking profit.
      CHECK(get("t.win_rate") == Approx(took / (stopped + took)).epsilon(1e-12));
    }
  }
}

TEST_CASE("perp_trader: positions a keeper liquidates are detected, and underwater ones are left to it",
          "[agents][perp_trader]") {
  SECTION("a keeper liquidates over-leveraged gmx positions") {
    // 30-45x on a pool with max_leverage 50 at 300% volatility (a block's
    // sd 3 x sqrt(12 / 3.15e7) = 0.19%): a 45x position exceeds 50x after
    // losing 10% of its collateral (a 0.22% move), a 30x one after 40% (a
    // 1.3% move); the keeper closes them for their owner
    // (max_leverage_exceeded) or liquidates them.
    Sim sim(world_yaml("name: t, seed: 9, paths: 1, blocks: 400, block_time: 12, record: {every: 400}, "
                       "check_conservation: true",
                       "initial: {ETH: 2000}, volatility: {ETH: 3.0}", gmx_market,
                       "  - {id: t, type: perp_trader, market: glp, trades_per_hour: 120, holding_seconds: 3600, "
                       "leverage: {min: 30, max: 45}}"));
    auto spec = std::make_shared<defisim::engine::ScenarioSpec>(sim.spec());
    spec->agents.push_back({"keeper", "test_keeper", std::make_shared<GmxKeeperParams>()});
    sim.plan = std::make_unique<defisim::engine::ScenarioPlan>(spec);
    const std::vector<double> out = run_path(sim, 0);
    auto get = [&](const std::string& name) { return out[sim.outcome(name)]; };
    CHECK(get("t.liquidated") > 10);
    CHECK(get("t.liquidated") == get("glp.liquidations"));
    CHECK(get("t.positions_opened") == get("t.positions_closed") + get("t.liquidated") + get("t.open_at_end"));
    // Liquidations are losses: the win rate is at most the closed share.
    CHECK(get("t.win_rate") <= get("t.positions_closed") / (get("t.positions_closed") + get("t.liquidated")));
  }
  SECTION("without a keeper, longs in a crash stay open: no close is sent that would revert") {
    // A 50% fall over the hour (drift ln(0.5) x 8760 + sigma^2 / 2): 20x
    // longs lose their collateral after a 5% fall, within minutes.
    const Sim sim(world_yaml("name: t, seed: 9, paths: 1, blocks: 300, block_time: 12, record: {every: 300}, "
                             "check_conservation: true",
                             "initial: {ETH: 2000}, volatility: {ETH: 0.2}, drift: {ETH: -6072}", gmx_deep_market,
                             "  - {id: t, type: perp_trader, market: glp, trades_per_hour: 120, holding_seconds: 300, "
                             "long_probability: 1, leverage: {min: 20, max: 20}}"));
    const std::vector<double> out = run_path(sim, 0);
    auto get = [&](const std::string& name) { return out[sim.outcome(name)]; };
    CHECK(get("t.open_at_end") > 10);
    CHECK(get("t.positions_closed") > 0);
    CHECK(get("chain.reverts") == 0);
    CHECK(get("t.liquidated") == 0);
  }
  SECTION("a gtrade vault too small to pay winners: their closes wait, none is sent to revert") {
    // $100 in the vault, 10x longs while ETH rises 10% an hour: each winner
    // is owed more than the vault holds after the first few. At 120 an hour
    // held 5 minutes on average, ~10 would be open at the end if all could
    // close.
    const Sim sim(world_yaml("name: t, seed: 9, paths: 1, blocks: 300, block_time: 12, record: {every: 300}, "
                             "check_conservation: true",
                             "initial: {ETH: 2000}, volatility: {ETH: 0.2}, drift: {ETH: 3000}",
                             "{id: gdai, type: gtrade_vault, traded_asset: ETH, initial_vault_assets: 100}",
                             "  - {id: t, type: perp_trader, market: gdai, trades_per_hour: 120, holding_seconds: 300, "
                             "long_probability: 1, leverage: {min: 10, max: 10}}"));
    const std::vector<double> out = run_path(sim, 0);
    auto get = [&](const std::string& name) { return out[sim.outcome(name)]; };
    CHECK(get("t.positions_closed") > 10);
    CHECK(get("t.open_at_end") > 50);
    CHECK(get("chain.reverts") == 0);
    // Its unpaid claims are marked at 0: the traders' result is below the
    // vault's trading result with the sign flipped (which counts what the
    // vault owes them).
    CHECK(get("t.pnl") < -get("gdai.trader_pnl"));
  }
}

TEST_CASE("perp_trader: sleeping between arrivals and expiries changes no bit of any result", "[agents][perp_trader]") {
  // The idle contract (agents/wake.hpp): results with skip_idle_agents true
  // and false are identical; the crash world has positions it cannot close.
  for (const std::string& price : {std::string("initial: {ETH: 2000}, volatility: {ETH: 0.8}"),
                                   std::string("initial: {ETH: 2000}, volatility: {ETH: 0.2}, drift: {ETH: -6072}")}) {
    for (const std::string& market : {gmx_market, gtrade_market, vamm_market}) {
      const std::string id = market.substr(market.find("id: ") + 4, market.find(',') - market.find("id: ") - 4);
      INFO(price << " " << id);
      const std::string agents =
          fmt::format("  - {{id: t, type: perp_trader, market: {}, trades_per_hour: 30, holding_seconds: 900, "
                      "leverage: {{min: 2, max: 8}}}}",
                      id);
      const std::string experiment = "name: t, seed: 4, paths: 2, blocks: 400, block_time: 12, record: {every: 20}, ";
      const Sim skipping(world_yaml(experiment + "skip_idle_agents: true", price, market, agents));
      const Sim acting(world_yaml(experiment + "skip_idle_agents: false", price, market, agents));
      for (std::uint64_t path = 0; path < 2; ++path) {
        World world(*skipping.plan, path);
        std::vector<double> series_a(skipping.plan->series_values_per_path());
        std::vector<double> outcomes_a(skipping.plan->outcome_metrics.size());
        world.run(series_a, outcomes_a);
        std::vector<double> series_b;
        const std::vector<double> outcomes_b = run_path(acting, path, &series_b);
        CHECK(defisim::test_support::same_bits(series_a, series_b));
        CHECK(defisim::test_support::same_bits(outcomes_a, outcomes_b));
        // 30 arrivals an hour and 15-minute holds leave most blocks idle.
        CHECK(world.idle_statistics().skipped_act_calls > 100);
      }
    }
  }
}

TEST_CASE("perp_trader: a random trader without fees on a martingale price is a fair game for the pool",
          "[agents][perp_trader][statistical]") {
  // Zero drift: the reference (= oracle) price is a martingale, and with
  // fees, borrow, funding, impact and profit caps off, every position's PnL
  // is linear in it (perp.hpp linear_pnl). Closing at a stopping time keeps
  // its expectation at zero (optional stopping), so E[trader_pnl] = 0.
  // Leverage up to 10x and 15-minute holds at 80% volatility (a hold's sd
  // 0.5%) never bring a loss near the collateral, so no liquidation, cap or
  // loss floor breaks the linearity.
  struct Case {
    std::string market, id;
  };
  for (const Case& c : {Case{gmx_free_market, "glp"}, Case{gtrade_free_market, "gdai"}}) {
    INFO("market " << c.id);
    const int paths = 2000;
    const Sim sim(world_yaml(fmt::format("name: fair, seed: 2024, paths: {}, blocks: 300, block_time: 12, "
                                         "record: {{every: 300}}",
                                         paths),
                             "initial: {ETH: 2000}, volatility: {ETH: 0.8}", c.market,
                             fmt::format("  - {{id: t, type: perp_trader, market: {}, trades_per_hour: 120, "
                                         "holding_seconds: 900, leverage: {{min: 2, max: 10}}, gas_used: 0}}",
                                         c.id)));
    std::vector<double> trader_pnl, notional, agent_pnl;
    for (int path = 0; path < paths; ++path) {
      const std::vector<double> out = run_path(sim, static_cast<std::uint64_t>(path));
      trader_pnl.push_back(out[sim.outcome(c.id + ".trader_pnl")]);
      notional.push_back(out[sim.outcome(c.id + ".notional_opened")]);
      agent_pnl.push_back(out[sim.outcome("t.pnl")]);
      REQUIRE(out[sim.outcome("t.skipped")] == 0);
      if (c.id == "gdai") {
        // Stablecoin collateral, no fees, no gas: the traders' result is
        // exactly the vault's trading result with the sign flipped
        // (perp_gtrade.hpp: the vault pays what traders gain); 1e-9 of the
        // notional (~5e5) allows the roundings.
        CHECK(out[sim.outcome("t.pnl")] == Approx(-trader_pnl.back()).margin(1e-9 * notional.back()));
      }
    }
    const Stats pnl = stats_of(trader_pnl), opened = stats_of(notional), own = stats_of(agent_pnl);
    INFO("trader_pnl mean " << pnl.mean << " se " << pnl.standard_error << ", notional per path " << opened.mean
                            << ", the traders' pnl mean " << own.mean << " se " << own.standard_error);
    CHECK(std::abs(pnl.mean) < 3.0 * pnl.standard_error);
    // Power: 3 standard errors are under 1 bp of the notional traded per
    // path (~6e5), so a systematic 1 bp of it (positions entered or left
    // half a basis point off the oracle each way) would show.
    CHECK(3.0 * pnl.standard_error < 1e-4 * opened.mean);
    // The traders' own pnl (no gas here) is fair too: their wallet's
    // payouts (gmx longs: ETH) at final prices and their open positions'
    // marks are martingales as well.
    CHECK(std::abs(own.mean) < 3.0 * own.standard_error);
    CHECK(3.0 * own.standard_error < 1e-4 * opened.mean);
  }
}
