#include "agents/arbitrageur.hpp"

#include <fmt/format.h>

#include <cmath>

#include "agents/sandwich_exposure.hpp"

namespace defisim::agents {

namespace {

constexpr config::KeySpec arbitrageur_keys[] = {
    {"markets", "list of market ids", "every market with a constant-product pool", "the pools it arbitrages (cpmm, or a twamm's embedded pool)"},
    {"gas_used", "integer", "120000", "gas units per arbitrage transaction (>= 0)"},
    {"priority_fee_gwei", "number", "0", "tip per gas unit to the builder, gwei (>= 0)"},
    {"private_channel", "boolean", "true",
     "send trades through a private relay (as CEX-DEX arbitrageurs do, in their own bundles), so they are not in "
     "the public mempool; false exposes them to front-running and sandwiches (their limit is break-even)"},
    {"min_profit", "number", "0",
     "trades only if expected profit after gas exceeds this, numeraire (>= 0)"},
};

class ArbitrageurParams;

class Arbitrageur final : public Agent {
 public:
  Arbitrageur(const ArbitrageurParams& params, const AgentContext& context);
  void act(const View& view, TransactionSink& sink) override;
  bool idle_until(const View& view, WakeConditions& wake) override;
  void on_receipt(const core::Receipt& receipt, const View& view) override;
  void record(const View& view, std::span<double> series) override;
  void finish(const View& view, std::span<double> outcomes) override;

 private:
  const ArbitrageurParams& params_;
  core::AgentIndex index_;
  double profit_ = 0.0;  // numeraire, net of gas
  double gas_paid_ = 0.0;
  double volume_ = 0.0;  // numeraire, input side at reference
  double trades_ = 0.0;
  double reverts_ = 0.0;
  SandwichExposure sandwiches_;  // when its trades are public
};

class ArbitrageurParams final : public AgentParams {
 public:
  std::vector<core::MarketIndex> markets;
  std::uint32_t gas_used = 120000;
  double priority_fee_gwei = 0.0;
  double min_profit = 0.0;
  bool private_channel = true;

  std::unique_ptr<Agent> create(const AgentContext& context) const override {
    return std::make_unique<Arbitrageur>(*this, context);
  }
  std::vector<output::MetricInfo> series_metrics() const override {
    return {{"profit", "numeraire", "cumulative arbitrage profit after gas", output::RiskTail::lower_is_worse}};
  }
  std::vector<output::MetricInfo> outcome_metrics() const override {
    using output::RiskTail;
    return {
        {"profit", "numeraire", "arbitrage profit after gas over the path", RiskTail::lower_is_worse},
        {"gas_paid", "numeraire", "gas paid over the path", RiskTail::higher_is_worse},
        {"volume", "numeraire", "value sold into pools at reference prices", RiskTail::lower_is_worse},
        {"trades", "count", "successful arbitrage transactions", RiskTail::lower_is_worse},
        {"reverts", "count", "included arbitrage transactions that reverted", RiskTail::higher_is_worse},
        SandwichExposure::outcome_metrics()[0],
        SandwichExposure::outcome_metrics()[1],
    };
  }
};

Arbitrageur::Arbitrageur(const ArbitrageurParams& params, const AgentContext& context)
    : params_(params), index_(context.index) {}

void Arbitrageur::act(const View& view, TransactionSink& sink) {
  const double gas_cost = view.gas_cost_numeraire(params_.gas_used, params_.priority_fee_gwei);
  for (const core::MarketIndex market_index : params_.markets) {
    const auto& pool = markets::constant_product_pool(view.markets[market_index]);
    const double price_x = view.reference_prices[pool.asset_x()];
    const double price_y = view.reference_prices[pool.asset_y()];
    // Most blocks no trade pays for its gas: one well-predicted branch says so.
    if (!markets::arbitrage_may_exceed(pool.reserve_x(), pool.reserve_y(), pool.fee(), price_x, price_y,
                                       gas_cost + params_.min_profit)) {
      continue;
    }
    const markets::ArbitrageTrade trade =
        markets::optimal_arbitrage(pool.reserve_x(), pool.reserve_y(), pool.fee(), price_x / price_y);
    if (!trade.profitable || trade.profit_in_y * price_y <= gas_cost + params_.min_profit) continue;

    core::Transaction transaction;
    transaction.sender = index_;
    transaction.market = market_index;
    transaction.kind = core::TransactionKind::swap;
    transaction.funding = core::Funding::reference_venue;
    transaction.token_in = trade.x_in ? pool.asset_x() : pool.asset_y();
    transaction.amount_in = trade.amount_in;
    // Break-even after gas: the output must be worth the input plus gas.
    const double price_in = trade.x_in ? price_x : price_y;
    const double price_out = trade.x_in ? price_y : price_x;
    transaction.min_amount_out = (trade.amount_in * price_in + gas_cost) / price_out;
    transaction.priority_fee_gwei = params_.priority_fee_gwei;
    transaction.gas_used = params_.gas_used;
    transaction.private_channel = params_.private_channel;
    sink.submit(transaction);
  }
}

// Sleeps until some pool's reference price ratio S = p_x / p_y leaves the
// range in which no trade can pay for its gas (markets::quiet_price_range) or
// a pool changes. The gas threshold moves with the native asset's price, so
// the range is computed for a floor on it: every price the threshold reads may
// move by threshold_price_slack before the agent wakes and recomputes.
bool Arbitrageur::idle_until(const View& view, WakeConditions& wake) {
  constexpr double threshold_price_slack = 0.05;
  const double gas_native = static_cast<double>(params_.gas_used) *
                            (view.base_gas_price_gwei + params_.priority_fee_gwei) * core::native_per_gwei;
  const core::AssetIndex native = view.native_asset;
  const core::AssetIndex numeraire = view.numeraire;
  const double native_price = view.reference_prices[native];
  const double native_price_floor = native == numeraire ? native_price : native_price * (1.0 - threshold_price_slack);
  if (native != numeraire && !wake.restrict_price(native, native_price_floor, INFINITY)) return false;
  for (const core::MarketIndex market_index : params_.markets) {
    // A twamm selling long-term orders moves every block, which would wake
    // the arbitrageur every block anyway: stay awake rather than pay for
    // falling asleep each time (act() alone is cheaper).
    if (markets::moves_between_blocks(view.markets[market_index])) return false;
    const auto& pool = markets::constant_product_pool(view.markets[market_index]);
    const core::AssetIndex asset_x = pool.asset_x();
    const core::AssetIndex asset_y = pool.asset_y();
    const double price_x = view.reference_prices[asset_x];
    const double price_y = view.reference_prices[asset_y];
    const double price_y_ceiling = asset_y == numeraire ? price_y : price_y * (1.0 + threshold_price_slack);
    const double threshold_in_y = (gas_native * native_price_floor + params_.min_profit) / price_y_ceiling;
    const markets::QuietPriceRange range =
        markets::quiet_price_range(pool.reserve_x(), pool.reserve_y(), pool.fee(), threshold_in_y);
    const double ratio = price_x / price_y;
    if (!(range.low < ratio && ratio < range.high)) return false;
    bool stored = wake.watch_market(market_index);
    if (asset_y == numeraire) {
      stored = stored && wake.restrict_price(asset_x, range.low, range.high);
    } else if (asset_x == numeraire) {
      stored = stored && wake.restrict_price(asset_y, 1.0 / range.high, 1.0 / range.low);
    } else {
      // Split the ratio's room between the two prices: with p_x in
      // (p_x sqrt(low/S), p_x sqrt(high/S)) and p_y in (p_y sqrt(S/high),
      // p_y sqrt(S/low)), p_x / p_y stays in (low, high).
      stored = stored &&
               wake.restrict_price(asset_x, price_x * std::sqrt(range.low / ratio),
                                   price_x * std::sqrt(range.high / ratio)) &&
               wake.restrict_price(asset_y, price_y * std::sqrt(ratio / range.high),
                                   price_y * std::sqrt(ratio / range.low));
    }
    if (asset_y != numeraire) stored = stored && wake.restrict_price(asset_y, 0.0, price_y_ceiling);
    if (!stored) return false;
  }
  return true;
}

void Arbitrageur::on_receipt(const core::Receipt& receipt, const View& view) {
  profit_ += receipt.venue_settlement;
  gas_paid_ += receipt.gas_paid_native * view.reference_prices[view.native_asset];
  sandwiches_.observe(receipt, view);
  if (receipt.succeeded()) {
    trades_ += 1.0;
    volume_ += receipt.amount_in * view.reference_prices[receipt.transaction.token_in];
  } else if (receipt.included) {
    reverts_ += 1.0;
  }
}

void Arbitrageur::record(const View&, std::span<double> series) { series[0] = profit_; }

void Arbitrageur::finish(const View&, std::span<double> outcomes) {
  outcomes[0] = profit_;
  outcomes[1] = gas_paid_;
  outcomes[2] = volume_;
  outcomes[3] = trades_;
  outcomes[4] = reverts_;
  outcomes[5] = sandwiches_.sandwiched();
  outcomes[6] = sandwiches_.loss();
}

std::shared_ptr<const AgentParams> parse_arbitrageur(const config::ConfigNode& node,
                                                     const WorldNames& names) {
  auto params = std::make_shared<ArbitrageurParams>();
  params->markets = names.pool_markets(node, "arbitrageur");
  params->gas_used = static_cast<std::uint32_t>(node.integer_at_least("gas_used", 120000, 0));
  params->priority_fee_gwei = node.number_in("priority_fee_gwei", 0.0, 0.0, true, 1e6, true);
  params->min_profit = node.number_in("min_profit", 0.0, 0.0, true, INFINITY, false);
  params->private_channel = node.boolean("private_channel", true);
  return params;
}

}  // namespace

AgentType arbitrageur_type() {
  return {"arbitrageur",
          "Closes the gap between a pool and the reference price with the closed-form optimal "
          "trade, hedged at the reference venue, when profit exceeds gas.",
          arbitrageur_keys, parse_arbitrageur};
}

}  // namespace defisim::agents
