// Perpetual pools in a World: a random agent throws every perp transaction
// (valid and not, wallet- and venue-funded) at a gmx pool, a gtrade vault
// and a vamm side by side while prices move. Every asset and every LP share
// is conserved at every block; the engine's per-market outcomes agree with
// the markets' own books (the LPs' result is the pool's value less what LPs
// put in); reverts change nothing; the vAMM's funding is settled when due.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "agents/agent.hpp"
#include "framework/engine/world.hpp"
#include "tests/support/scripted_agent.hpp"
#include "tests/support/simulation.hpp"

namespace {

using defisim::core::AssetIndex;
using defisim::core::Funding;
using defisim::core::Receipt;
using defisim::core::RevertReason;
using defisim::core::Transaction;
using defisim::core::TransactionKind;
using defisim::engine::World;
namespace markets = defisim::markets;

// As in test_conservation.cpp: a path of a few hundred blocks accumulates at
// most ~1e4 roundings of 1.1e-16 of the gross holdings; 1e-9 leaves margin
// while one lost fee (>= 1e-7 of gross here) would show.
constexpr double conservation_tolerance = 1e-9;

// Markets in config order: glp (gmx_glp), gdai (gtrade_vault), perp (vamm).
constexpr defisim::core::MarketIndex glp = 0, gdai = 1, perp = 2;
constexpr AssetIndex eth = 0, btc = 1, usdc = 2;

struct Tally {
  int opens = 0, closes = 0, liquidations = 0, deposits = 0, redeems = 0, reverts = 0, bad_debt = 0;
};

// Each block, a few random perp transactions: mostly sensible, some not
// (wrong token, zero amount, someone else's position, too much leverage).
class RandomPerpAgent final : public defisim::agents::Agent {
 public:
  RandomPerpAgent(defisim::core::AgentIndex index, std::uint64_t path, std::shared_ptr<Tally> tally)
      : index_(index), rng_(1000003 * path + 17), tally_(std::move(tally)) {}

  void act(const defisim::agents::View& view, defisim::agents::TransactionSink& sink) override {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const int count = static_cast<int>(unit(rng_) * 4.0);
    for (int k = 0; k < count; ++k) {
      Transaction t;
      t.sender = index_;
      t.gas_used = 100000;
      t.market = static_cast<defisim::core::MarketIndex>(unit(rng_) * 3.0);
      t.funding = unit(rng_) < 0.5 ? Funding::wallet : Funding::reference_venue;
      const double op = unit(rng_);
      if (op < 0.45) {
        t.kind = TransactionKind::perp_open;
        t.perp_short = unit(rng_) < 0.5;
        t.leverage = 1.5 + 30.0 * unit(rng_) * unit(rng_);
        if (t.market == glp) {
          t.token_other = unit(rng_) < 0.5 ? eth : btc;
          t.token_in = t.perp_short ? usdc : t.token_other;
        } else {
          t.token_in = usdc;
        }
        t.amount_in = (200.0 + 20000.0 * unit(rng_)) / view.reference_prices[t.token_in];
        if (unit(rng_) < 0.05) t.amount_in = 0.0;                 // invalid amount
        if (unit(rng_) < 0.05) t.token_in = t.token_in == usdc ? eth : usdc;  // wrong collateral
      } else if (op < 0.75) {
        t.kind = TransactionKind::perp_close;
        if (!own_.empty()) t.position = own_[static_cast<std::size_t>(unit(rng_) * static_cast<double>(own_.size()))].second;
        if (unit(rng_) < 0.1) t.position = static_cast<std::uint32_t>(unit(rng_) * 50.0);  // maybe not ours
      } else if (op < 0.9) {
        t.kind = TransactionKind::perp_liquidate;
        t.funding = Funding::wallet;
        t.position = liquidation_target(view, t.market, unit(rng_));
      } else if (op < 0.96) {
        t.kind = TransactionKind::perp_deposit;
        t.token_in = t.market == glp && unit(rng_) < 0.5 ? eth : usdc;
        t.amount_in = 50000.0 * unit(rng_) / view.reference_prices[t.token_in];
      } else {
        t.kind = TransactionKind::perp_redeem;
        t.funding = Funding::wallet;
        t.token_other = t.market == glp && unit(rng_) < 0.5 ? btc : usdc;
        t.amount_in = 0.5 * view.lp_share_balance(index_, t.market) * unit(rng_);
      }
      sink.submit(t);
    }
  }

  // The first liquidatable open position if `u` < 0.8, else a random open one.
  static std::uint32_t liquidation_target(const defisim::agents::View& view, defisim::core::MarketIndex market, double u) {
    const double now = view.time_seconds;
    const auto& prices = view.oracle_prices;
    if (const auto* gmx = std::get_if<markets::GmxPool>(&view.markets[market])) {
      const std::size_t open = gmx->open_position_count();
      for (std::size_t slot = 0; u < 0.8 && slot < open; ++slot) {
        const std::uint32_t id = gmx->open_position_id(slot);
        if (gmx->liquidation_state(id, prices, now) != markets::GmxLiquidationState::healthy) return id;
      }
      return open > 0 ? gmx->open_position_id(static_cast<std::size_t>(u * static_cast<double>(open))) : 0;
    }
    if (const auto* gtrade = std::get_if<markets::GtradeVault>(&view.markets[market])) {
      const std::size_t open = gtrade->open_trade_count();
      for (std::size_t slot = 0; u < 0.8 && slot < open; ++slot) {
        const std::uint32_t id = gtrade->open_trade_id(slot);
        if (gtrade->liquidatable(id, prices[eth], now)) return id;
      }
      return open > 0 ? gtrade->open_trade_id(static_cast<std::size_t>(u * static_cast<double>(open))) : 0;
    }
    const auto& vamm = std::get<markets::Vamm>(view.markets[market]);
    const std::size_t open = vamm.open_position_count();
    for (std::size_t slot = 0; u < 0.8 && slot < open; ++slot) {
      const std::uint32_t id = vamm.open_position_id(slot);
      if (vamm.liquidatable(id, prices[eth])) return id;
    }
    return open > 0 ? vamm.open_position_id(static_cast<std::size_t>(u * static_cast<double>(open))) : 0;
  }

  void on_receipt(const Receipt& receipt, const defisim::agents::View&) override {
    const Transaction& t = receipt.transaction;
    if (!receipt.succeeded()) {
      tally_->reverts += receipt.included ? 1 : 0;
      return;
    }
    switch (t.kind) {
      case TransactionKind::perp_open:
        ++tally_->opens;
        own_.push_back({t.market, receipt.perp_position});
        break;
      case TransactionKind::perp_close:
        ++tally_->closes;
        std::erase(own_, std::pair{t.market, t.position});
        break;
      case TransactionKind::perp_liquidate:
        ++tally_->liquidations;
        tally_->bad_debt += receipt.bad_debt_written_off > 0.0 ? 1 : 0;
        break;
      case TransactionKind::perp_deposit: ++tally_->deposits; break;
      case TransactionKind::perp_redeem: ++tally_->redeems; break;
      default: break;
    }
  }

 private:
  defisim::core::AgentIndex index_;
  std::mt19937_64 rng_;
  std::shared_ptr<Tally> tally_;
  std::vector<std::pair<defisim::core::MarketIndex, std::uint32_t>> own_;
};

class RandomPerpParams final : public defisim::agents::AgentParams {
 public:
  explicit RandomPerpParams(std::shared_ptr<Tally> tally) : tally_(std::move(tally)) {}
  std::unique_ptr<defisim::agents::Agent> create(const defisim::agents::AgentContext& context) const override {
    return std::make_unique<RandomPerpAgent>(context.index, context.path, tally_);
  }
  std::vector<double> initial_wallet(std::size_t asset_count) const override {
    std::vector<double> wallet(asset_count, 0.0);
    wallet[eth] = 200.0;
    wallet[btc] = 10.0;
    wallet[usdc] = 1'000'000.0;
    return wallet;
  }

 private:
  std::shared_ptr<Tally> tally_;
};

// Three perp markets on ETH (and BTC for the gmx basket) with volatile
// prices (so positions are liquidated and some go bad) and an oracle that
// lags, plus keepers: the random agent's `liquidate`s mostly revert healthy.
std::string three_pools(double volatility, const std::string& oracles) {
  return fmt::format(R"(
experiment: {{name: perp_world, seed: 11, paths: 4, blocks: 400, block_time: 12, record: {{every: 50}}}}
assets: [ETH, BTC, USDC]
numeraire: USDC
chain: {{gas_price_gwei: 10}}
price: {{initial: {{ETH: 2000, BTC: 30000}}, volatility: {{ETH: {0}, BTC: {0}}}}}
{1}
markets:
  - id: glp
    type: gmx_glp
    max_leverage: 40
    assets: {{ETH: {{initial_pool_amount: 300}}, BTC: {{initial_pool_amount: 20}}, USDC: {{initial_pool_amount: 1000000}}}}
  - {{id: gdai, type: gtrade_vault, traded_asset: ETH, initial_vault_assets: 2000000, one_percent_depth_above: 5000000,
     one_percent_depth_below: 5000000, funding_rate: 2, rollover_rate: 0.5, max_open_interest: 3000000, vault_fee_share: 0.6}}
  - {{id: perp, type: vamm, base: ETH, quote_reserve: 8000000, initial_insurance_fund: 20000, funding_period_seconds: 600,
     toll_ratio: 0.0005, initial_margin_ratio: 0.025, maintenance_margin_ratio: 0.0125}}
)",
                     volatility, oracles);
}

struct PerpSim {
  defisim::test_support::Sim base;
  std::unique_ptr<defisim::engine::ScenarioPlan> plan;
  std::shared_ptr<Tally> tally = std::make_shared<Tally>();
  explicit PerpSim(const std::string& yaml) : base(yaml) {
    auto spec = std::make_shared<defisim::engine::ScenarioSpec>(base.spec());
    spec->agents.push_back({"random", "random_perp", std::make_shared<RandomPerpParams>(tally)});
    plan = std::make_unique<defisim::engine::ScenarioPlan>(spec);
  }
  std::size_t outcome(const std::string& name) const {
    for (std::size_t i = 0; i < plan->outcome_metrics.size(); ++i) {
      if (plan->outcome_metrics[i].name == name) return i;
    }
    FAIL("no outcome metric " << name);
    return 0;
  }
};

}  // namespace

TEST_CASE("perp in world: random transactions on three pools conserve every asset and share at every block",
          "[engine][perp]") {
  for (const char* oracles : {"", "oracles: {ETH: {type: delayed, delay_blocks: 3}, BTC: {type: delayed, delay_blocks: 3}}"}) {
    PerpSim sim(three_pools(4.0, oracles));
    for (std::uint64_t path = 0; path < 4; ++path) {
      World world(*sim.plan, path);
      world.start();
      REQUIRE(world.conservation().worst_relative_imbalance <= conservation_tolerance);
      while (world.block() < sim.plan->spec->blocks) {
        world.step();
        const auto report = world.conservation();
        INFO("oracles '" << oracles << "' path " << path << " block " << world.block() << " asset " << report.worst_asset
                         << " imbalance " << report.imbalance);
        REQUIRE(report.worst_relative_imbalance <= conservation_tolerance);
        world.check_conservation(conservation_tolerance);  // LP shares too
      }
    }
    // Every kind of transaction succeeded somewhere and many reverted: the
    // property covers settlement, not just the happy path.
    const Tally& tally = *sim.tally;
    INFO("opens " << tally.opens << " closes " << tally.closes << " liquidations " << tally.liquidations << " deposits "
                  << tally.deposits << " redeems " << tally.redeems << " reverts " << tally.reverts);
    CHECK(tally.opens > 500);
    CHECK(tally.closes > 100);
    CHECK(tally.liquidations > 10);
    CHECK(tally.deposits > 20);
    CHECK(tally.redeems > 20);
    CHECK(tally.reverts > 500);
  }
}

TEST_CASE("perp in world: the LPs' result in the outcomes is the pool's value less what LPs put in", "[engine][perp]") {
  PerpSim sim(three_pools(1.5, ""));
  int insolvent_vamm_paths = 0;
  for (std::uint64_t path = 0; path < 4; ++path) {
    World world(*sim.plan, path);
    std::vector<double> series(sim.plan->series_values_per_path());
    std::vector<double> outcomes(sim.plan->outcome_metrics.size());
    world.run(series, outcomes);
    const auto prices = world.reference_prices();
    const double now = static_cast<double>(world.block()) * sim.plan->spec->block_time_seconds;
    const auto& gmx = std::get<markets::GmxPool>(world.markets()[glp]);
    const auto& gtrade = std::get<markets::GtradeVault>(world.markets()[gdai]);
    const auto& vamm = std::get<markets::Vamm>(world.markets()[perp]);
    // gmx: AUM = PnL + net deposits (perp_gmx.hpp), the engine having marked
    // the pool to the final reference prices. Values are ~1e6-1e7: 1e-6
    // relative allows the sum's roundings.
    const double gmx_value = gmx.aum(prices);
    CHECK(outcomes[sim.outcome("glp.lp_pnl")] == Approx(gmx_value - gmx.net_deposits_usd()).epsilon(1e-9).margin(1e-3));
    CHECK(outcomes[sim.outcome("glp.fees")] + outcomes[sim.outcome("glp.trader_pnl")] +
              outcomes[sim.outcome("glp.delta_pnl")] ==
          Approx(outcomes[sim.outcome("glp.lp_pnl")]).margin(1e-6));
    // gtrade: the marked vault less deposits plus redemptions (perp_gtrade.hpp).
    const double gtrade_value = gtrade.marked_vault_assets(prices[eth], now);
    CHECK(outcomes[sim.outcome("gdai.lp_pnl")] ==
          Approx(gtrade_value - gtrade.deposited() + gtrade.redeemed()).epsilon(1e-9).margin(1e-3));
    CHECK(outcomes[sim.outcome("gdai.delta_pnl")] == 0.0);
    // vamm: the insurance fund and toll pool less the initial fund.
    CHECK(outcomes[sim.outcome("perp.lp_pnl")] == Approx(vamm.pool_value() - 20000.0).margin(1e-6));
    CHECK(outcomes[sim.outcome("perp.uncovered_bad_debt")] == Approx(vamm.uncovered_bad_debt()).margin(1e-9));
    insolvent_vamm_paths += outcomes[sim.outcome("perp.insolvent")] == 1.0 ? 1 : 0;
    // The drawdown is a fraction of the peak share price: in [0, 1] unless
    // the pool's value went negative (then the path is insolvent).
    for (const char* id : {"glp", "gdai", "perp"}) {
      INFO(id);
      const double drawdown = outcomes[sim.outcome(fmt::format("{}.max_drawdown", id))];
      const bool insolvent = outcomes[sim.outcome(fmt::format("{}.insolvent", id))] == 1.0;
      CHECK(drawdown >= 0.0);
      CHECK(insolvent == (outcomes[sim.outcome(fmt::format("{}.min_pool_value", id))] < 0.0 ||
                          outcomes[sim.outcome(fmt::format("{}.uncovered_bad_debt", id))] > 0.0));
      if (!insolvent) CHECK(drawdown <= 1.0);
      // The peak is at least the initial share price, 1: a final price s >= 0
      // is at least 1 - s below it, a negative one more than 100%.
      const double final_price = outcomes[sim.outcome(fmt::format("{}.final_share_price", id))];
      CHECK(drawdown >= (final_price >= 0.0 ? 1.0 - final_price - 1e-12 : 1.0));
      CHECK(outcomes[sim.outcome(fmt::format("{}.positions_opened", id))] > 10.0);
    }
    // The vamm's funding was settled every 600 s as the clock passed
    // (4,800 s of blocks: 8 settlements; funding_period_seconds 600).
    CHECK(vamm.next_funding_seconds() > now);
    CHECK(vamm.next_funding_seconds() <= now + 600.0);
  }
  // The vamm's fund is small (20,000) and its margins thin (40x to open):
  // the random agent's losers leave more bad debt than the fund holds, so
  // the insolvency outcome is exercised, not only its absence.
  CHECK(insolvent_vamm_paths >= 1);
}

TEST_CASE("perp in world: a path is a deterministic function of its index", "[engine][perp][determinism]") {
  PerpSim sim(three_pools(2.0, "oracles: {ETH: {type: push, deviation: 0.005, heartbeat_seconds: 600}}"));
  auto run = [&](std::uint64_t path) {
    World world(*sim.plan, path);
    std::vector<double> series(sim.plan->series_values_per_path());
    std::vector<double> outcomes(sim.plan->outcome_metrics.size());
    world.run(series, outcomes);
    outcomes.insert(outcomes.end(), series.begin(), series.end());
    return outcomes;
  };
  const std::vector<double> first = run(2);
  const std::vector<double> again = run(2);
  const std::vector<double> other = run(3);
  REQUIRE(first.size() == again.size());
  for (std::size_t i = 0; i < first.size(); ++i) {
    INFO("value " << i);
    CHECK(std::bit_cast<std::uint64_t>(first[i]) == std::bit_cast<std::uint64_t>(again[i]));
  }
  CHECK(first != other);
}

TEST_CASE("perp in world: worst_price protects opens and closes on all three pools", "[engine][perp]") {
  // A flat price (volatility 0): the oracle, the reference and the vAMM's mark
  // all stay at 2,000 until trades move the mark. Each pool gets a 5x long
  // of 2,000 USDC notional-collateral at block 1 (position id 0 on each), then
  // at block 2 a close whose worst_price, 2,010, is above what it would get
  // reverts with slippage and changes nothing: a long sells at the oracle,
  // 2,000, on gmx and gtrade; on the vamm it sells back down x.y = k at the
  // average price it bought at, 2,000 (1 + 10,000 / 8M) = 2,002.5. At block 3
  // a close with a worst price of 1,990 succeeds. An open whose
  // worst price is below the price (a long's highest) reverts.
  defisim::test_support::Sim base(three_pools(0.0, ""));
  using defisim::test_support::ScriptedTransaction;
  std::vector<ScriptedTransaction> script;
  auto add = [&](defisim::core::BlockNumber block, defisim::core::MarketIndex market, TransactionKind kind,
                 double worst_price) {
    Transaction t;
    t.market = market;
    t.kind = kind;
    t.gas_used = 100000;
    t.position = 0;
    t.worst_price = worst_price;
    if (kind == TransactionKind::perp_open) {
      t.leverage = 5.0;
      t.token_other = eth;
      t.token_in = market == glp ? eth : usdc;
      t.amount_in = market == glp ? 1.0 : 2000.0;  // 2,000 USDC of collateral
    }
    script.push_back({block, t});
  };
  for (const auto market : {glp, gdai, perp}) {
    add(1, market, TransactionKind::perp_open, 1999.0);  // below the price: slippage
    add(1, market, TransactionKind::perp_open, 2100.0);  // gtrade impact and the vAMM's walk stay below 2,100
    add(2, market, TransactionKind::perp_close, 2010.0);
    add(3, market, TransactionKind::perp_close, 1990.0);
  }
  std::vector<double> wallet(3, 0.0);
  wallet[eth] = 10.0;
  wallet[usdc] = 100000.0;
  auto [spec, log] = defisim::test_support::with_scripted_agent(base.spec(), script, "scripted", false, wallet);
  const defisim::engine::ScenarioPlan plan(spec);
  World world(plan, 0);
  world.start();
  for (int block = 1; block <= 3; ++block) {
    world.step();
    world.check_conservation(conservation_tolerance);
  }
  REQUIRE(log->receipts.size() == 12);
  for (std::size_t m = 0; m < 3; ++m) {
    INFO("market " << m);
    const Receipt* receipts[4];
    int found = 0;
    for (const Receipt& receipt : log->receipts) {
      if (receipt.transaction.market == m) receipts[found++] = &receipt;
    }
    REQUIRE(found == 4);
    CHECK(receipts[0]->revert_reason == RevertReason::slippage);
    CHECK(receipts[1]->succeeded());
    CHECK(receipts[1]->perp_position == 0);
    CHECK(receipts[2]->revert_reason == RevertReason::slippage);
    CHECK(receipts[3]->succeeded());
    CHECK(receipts[3]->amount_out > 0.0);
  }
}
