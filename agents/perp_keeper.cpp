#include "agents/perp_keeper.hpp"

#include <fmt/format.h>

#include <cmath>
#include <type_traits>

#include "agents/perp_support.hpp"

namespace defisim::agents {

namespace {

constexpr config::KeySpec perp_keeper_keys[] = {
    {"market", "string", "", "the perpetual pool it liquidates on (gmx_glp, gtrade_vault or vamm)"},
    {"gas_used", "integer", "600000", "gas units per liquidation (0 to 100000000)"},
    {"priority_fee_gwei", "number", "0", "its gas bid: tip per gas unit to the builder, gwei (>= 0)"},
    {"max_liquidations_per_block", "integer", "50", "liquidations it sends per block at most (1 to 1000000)"},
    {"min_profit_numeraire", "number", "0",
     "liquidates only when the reward exceeds the gas cost by more than this, numeraire at reference prices (>= 0)"},
    {"closes_over_max_leverage", "boolean", "true",
     "gmx_glp: also closes positions above the pool's max_leverage, which pays no reward (GMX's own position keeper "
     "does, paying the gas); false: only rewarded liquidations"},
    {"gas_budget_native", "number", "100",
     "native tokens in its wallet at the start, for gas (>= 0); a liquidation it cannot pay for is not included"},
};

class PerpKeeperParams;

class PerpKeeper final : public Agent {
 public:
  PerpKeeper(const PerpKeeperParams& params, const AgentContext& context);
  void act(const View& view, TransactionSink& sink) override;
  bool idle_until(const View& view, WakeConditions& wake) override;
  void on_receipt(const core::Receipt& receipt, const View& view) override;
  void record(const View& view, std::span<double> series) override;
  void finish(const View& view, std::span<double> outcomes) override;

 private:
  // The reward liquidating `id` would pay now, numeraire at reference
  // prices; negative if the market would not liquidate it (healthy, or a
  // liquidation that would revert), 0 if it would but pays nothing.
  double reward(const View& view, const markets::GmxPool& pool, markets::GmxPositionId id) const;
  double reward(const View& view, const markets::GtradeVault& vault, markets::GtradeTradeId id) const;
  double reward(const View& view, const markets::Vamm& vamm, markets::VammPositionId id) const;
  // Calls `f` with the market as its mechanism's class: the mechanism is
  // resolved once per call, not once per position.
  template <typename F>
  decltype(auto) with_market(const View& view, F&& f) const;
  template <typename Pool>
  void liquidate(const View& view, const Pool& pool, TransactionSink& sink);

  const PerpKeeperParams& params_;
  core::AgentIndex index_;
  double liquidations_ = 0, rewards_ = 0, gas_paid_ = 0, skipped_unprofitable_ = 0, reverted_ = 0, unfunded_ = 0;
};

class PerpKeeperParams final : public AgentParams {
 public:
  core::MarketIndex market = 0;
  PerpMechanism mechanism = PerpMechanism::gmx;
  std::uint32_t gas_used = 600000;
  double priority_fee_gwei = 0.0;
  std::uint32_t max_liquidations_per_block = 50;
  double min_profit_numeraire = 0.0;
  core::AssetIndex native_asset = 0;
  double gas_budget_native = 100.0;
  bool closes_over_max_leverage = true;

  std::unique_ptr<Agent> create(const AgentContext& context) const override {
    return std::make_unique<PerpKeeper>(*this, context);
  }
  std::vector<double> initial_wallet(std::size_t asset_count) const override {
    std::vector<double> wallet(asset_count, 0.0);
    wallet[native_asset] = gas_budget_native;
    return wallet;
  }
  std::vector<output::MetricInfo> series_metrics() const override {
    return {
        {"profit", "numeraire", "cumulative rewards minus gas, at reference prices", output::RiskTail::lower_is_worse}};
  }
  std::vector<output::MetricInfo> outcome_metrics() const override {
    using output::RiskTail;
    return {
        {"liquidations", "count", "successful liquidations", RiskTail::lower_is_worse},
        {"rewards", "numeraire", "liquidation rewards received, at reference prices when received",
         RiskTail::lower_is_worse},
        {"gas_paid", "numeraire", "gas paid (liquidations and lost races), at reference prices",
         RiskTail::higher_is_worse},
        {"profit", "numeraire", "rewards - gas_paid", RiskTail::lower_is_worse},
        {"skipped_unprofitable", "count",
         "liquidatable positions (counted per block) it left because the reward did not exceed gas + "
         "min_profit_numeraire (gmx: incl. positions only over the maximum leverage, which pay no reward)",
         RiskTail::higher_is_worse},
        {"reverted", "count", "included liquidations that reverted (lost races)", RiskTail::higher_is_worse},
        {"unfunded", "count", "liquidations not included because its wallet could not pay the gas",
         RiskTail::higher_is_worse},
    };
  }
};

PerpKeeper::PerpKeeper(const PerpKeeperParams& params, const AgentContext& context)
    : params_(params), index_(context.index) {}

double PerpKeeper::reward(const View& view, const markets::GmxPool& pool, markets::GmxPositionId id) const {
  switch (pool.liquidation_state(id, view.oracle_prices, view.time_seconds)) {
    case markets::GmxLiquidationState::healthy: return -1.0;
    case markets::GmxLiquidationState::max_leverage_exceeded: return 0.0;  // closed for its owner, no fee
    case markets::GmxLiquidationState::liquidatable: break;
  }
  // Vault.liquidatePosition pays liquidationFeeUsd in collateral tokens at
  // the oracle price; the keeper values them at the reference price.
  const core::AssetIndex collateral = pool.position(id).collateral_asset;
  return pool.params().liquidation_fee_usd / view.oracle_prices[collateral] * view.reference_prices[collateral];
}

double PerpKeeper::reward(const View& view, const markets::GtradeVault& vault, markets::GtradeTradeId id) const {
  const markets::GtradeParams& market = vault.params();
  if (!vault.liquidatable(id, view.oracle_prices[market.traded_asset], view.time_seconds)) return -1.0;
  return market.liquidation_reward * vault.trade(id).collateral * view.reference_prices[market.collateral_asset];
}

double PerpKeeper::reward(const View& view, const markets::Vamm& vamm, markets::VammPositionId id) const {
  const markets::VammParams& market = vamm.params();
  if (!vamm.liquidatable(id, view.oracle_prices[market.base_asset])) return -1.0;
  // Vamm::liquidate: a partial liquidation when the ratio is in (0, 1), the
  // margin ratio is above the fee ratio and the margin left stays >= 0;
  // the liquidator gets half the penalty on the closed notional. Otherwise
  // the whole position, half the fee ratio of its exit notional.
  const markets::VammPosition position = vamm.position(id);
  const double full_exit = vamm.exit_notional(position.side, position.size_base);
  if (!std::isfinite(full_exit)) return -1.0;  // the market would revert (insufficient liquidity)
  const double ratio = market.partial_liquidation_ratio;
  if (ratio > 0.0 && ratio < 1.0 && vamm.margin_ratio(id) > market.liquidation_fee_ratio) {
    const double exit = vamm.exit_notional(position.side, position.size_base * ratio);
    const double penalty = exit * market.liquidation_fee_ratio;
    const double margin_left = position.margin - vamm.funding_owed(id) + vamm.unrealized_pnl(id) * ratio - penalty;
    if (margin_left >= 0.0) return penalty / 2.0 * view.reference_prices[market.quote_asset];
  }
  return full_exit * market.liquidation_fee_ratio / 2.0 * view.reference_prices[market.quote_asset];
}

// The markets' lists of open positions under one name, for liquidate().
std::size_t open_count(const markets::GmxPool& pool) { return pool.open_position_count(); }
std::size_t open_count(const markets::GtradeVault& vault) { return vault.open_trade_count(); }
std::size_t open_count(const markets::Vamm& vamm) { return vamm.open_position_count(); }
std::uint32_t open_id(const markets::GmxPool& pool, std::size_t slot) { return pool.open_position_id(slot); }
std::uint32_t open_id(const markets::GtradeVault& vault, std::size_t slot) { return vault.open_trade_id(slot); }
std::uint32_t open_id(const markets::Vamm& vamm, std::size_t slot) { return vamm.open_position_id(slot); }

template <typename F>
decltype(auto) PerpKeeper::with_market(const View& view, F&& f) const {
  const markets::Market& market = view.markets[params_.market];
  switch (params_.mechanism) {
    case PerpMechanism::gmx: return f(*std::get_if<markets::GmxPool>(&market));
    case PerpMechanism::gtrade: return f(*std::get_if<markets::GtradeVault>(&market));
    case PerpMechanism::vamm: break;
  }
  return f(*std::get_if<markets::Vamm>(&market));
}

template <typename Pool>
void PerpKeeper::liquidate(const View& view, const Pool& pool, TransactionSink& sink) {
  const std::size_t count = open_count(pool);
  if (count == 0) return;
  const double gas_cost = view.gas_cost_numeraire(params_.gas_used, params_.priority_fee_gwei);
  core::Transaction liquidation;
  liquidation.sender = index_;
  liquidation.market = params_.market;
  liquidation.kind = core::TransactionKind::perp_liquidate;
  liquidation.funding = core::Funding::wallet;  // perp_liquidate is wallet-only
  liquidation.gas_used = params_.gas_used;
  liquidation.priority_fee_gwei = params_.priority_fee_gwei;
  // Only a gmx close for exceeding the maximum leverage pays nothing: the
  // protocol's keeper does it anyway.
  const bool closes_unrewarded = std::is_same_v<Pool, markets::GmxPool> && params_.closes_over_max_leverage;
  std::uint32_t sent = 0;
  // Markets do not change while agents act, so the open list is stable here.
  for (std::size_t slot = 0; slot < count && sent < params_.max_liquidations_per_block; ++slot) {
    const std::uint32_t id = open_id(pool, slot);
    const double value = reward(view, pool, id);
    if (value < 0.0) continue;  // healthy
    if (!(closes_unrewarded && value == 0.0) && !(value - gas_cost > params_.min_profit_numeraire)) {
      skipped_unprofitable_ += 1.0;
      continue;
    }
    liquidation.position = id;
    if (!sink.submit(liquidation)) return;
    ++sent;
  }
}

void PerpKeeper::act(const View& view, TransactionSink& sink) {
  with_market(view, [&](const auto& pool) { liquidate(view, pool, sink); });
}

bool PerpKeeper::idle_until(const View& view, WakeConditions& wake) {
  // With no open position nothing can become liquidatable until one opens,
  // which changes the market. With some open, oracle prices and time (which
  // no wake condition covers) can make them liquidatable: stay awake.
  if (with_market(view, [](const auto& pool) { return open_count(pool); }) != 0) return false;
  return wake.watch_market(params_.market);
}

void PerpKeeper::on_receipt(const core::Receipt& receipt, const View& view) {
  const double gas = receipt.gas_paid_native * view.reference_prices[view.native_asset];
  gas_paid_ += gas;
  if (!receipt.succeeded()) {
    if (receipt.included) reverted_ += 1.0;
    if (!receipt.included && receipt.revert_reason == core::RevertReason::insufficient_balance) unfunded_ += 1.0;
    return;
  }
  liquidations_ += 1.0;
  rewards_ += receipt.amount_out * view.reference_prices[receipt.token_out];
}

void PerpKeeper::record(const View&, std::span<double> series) { series[0] = rewards_ - gas_paid_; }

void PerpKeeper::finish(const View&, std::span<double> outcomes) {
  outcomes[0] = liquidations_;
  outcomes[1] = rewards_;
  outcomes[2] = gas_paid_;
  outcomes[3] = rewards_ - gas_paid_;
  outcomes[4] = skipped_unprofitable_;
  outcomes[5] = reverted_;
  outcomes[6] = unfunded_;
}

std::shared_ptr<const AgentParams> parse_perp_keeper(const config::ConfigNode& node, const WorldNames& names) {
  auto params = std::make_shared<PerpKeeperParams>();
  const config::ConfigNode market = node.child("market");
  params->market = names.market(market);
  const markets::MarketParams& market_params = names.markets[params->market];
  if (std::holds_alternative<markets::GmxParams>(market_params)) {
    params->mechanism = PerpMechanism::gmx;
  } else if (std::holds_alternative<markets::GtradeParams>(market_params)) {
    params->mechanism = PerpMechanism::gtrade;
  } else if (std::holds_alternative<markets::VammParams>(market_params)) {
    params->mechanism = PerpMechanism::vamm;
  } else {
    market.fail(fmt::format("'{}' is not a perpetual pool (gmx_glp, gtrade_vault or vamm)", market.as_string()));
  }
  const std::int64_t gas_used = node.integer_in("gas_used", 600000, 0, 100000000);
  params->gas_used = static_cast<std::uint32_t>(gas_used);
  params->priority_fee_gwei = node.number_in("priority_fee_gwei", 0.0, 0.0, true, 1e6, true);
  const std::int64_t per_block = node.integer_in("max_liquidations_per_block", 50, 1, 1000000);
  params->max_liquidations_per_block = static_cast<std::uint32_t>(per_block);
  params->min_profit_numeraire = node.number_in("min_profit_numeraire", 0.0, 0.0, true, INFINITY, false);
  params->native_asset = names.native_asset;
  params->gas_budget_native = node.number_in("gas_budget_native", 100.0, 0.0, true, INFINITY, false);
  params->closes_over_max_leverage = node.boolean("closes_over_max_leverage", true);
  return params;
}

}  // namespace

AgentType perp_keeper_type() {
  return {"perp_keeper",
          "Liquidates the positions of a perpetual pool (gmx_glp, gtrade_vault, vamm) that the market would "
          "liquidate at the oracle prices, when the reward exceeds the gas cost.",
          perp_keeper_keys, parse_perp_keeper};
}

}  // namespace defisim::agents
