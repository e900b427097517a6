#include "agents/lp.hpp"

#include <cmath>

namespace defisim::agents {

namespace {

constexpr config::KeySpec lp_keys[] = {
    {"market", "market id", "", "the pool it provides liquidity to (cpmm, or a twamm's embedded pool)"},
    {"deposit_numeraire", "number", "",
     "value deposited at block 0 at reference prices, in numeraire (> 0)"},
    {"gas_used", "integer", "150000", "gas units of the deposit (>= 0)"},
};

class LpParams;

class LiquidityProvider final : public Agent {
 public:
  LiquidityProvider(const LpParams& params, const AgentContext& context);
  void start(const View& view, TransactionSink& sink) override;
  void act(const View&, TransactionSink&) override {}
  // A passive LP never acts after its deposit: idle for good.
  bool idle_until(const View&, WakeConditions&) override { return true; }
  void on_receipt(const core::Receipt& receipt, const View& view) override;
  void record(const View& view, std::span<double> series) override;
  void finish(const View& view, std::span<double> outcomes) override;

 private:
  double position_value(const View& view) const;
  double hodl_value(const View& view) const;
  double fees_earned(const View& view) const;

  const LpParams& params_;
  core::AgentIndex index_;
  double deposited_x_ = 0.0;
  double deposited_y_ = 0.0;
  double fees_per_share_x_at_deposit_ = 0.0;
  double fees_per_share_y_at_deposit_ = 0.0;
  double gas_paid_ = 0.0;  // numeraire
};

class LpParams final : public AgentParams {
 public:
  core::MarketIndex market = 0;
  core::AssetIndex asset_x = 0;
  core::AssetIndex asset_y = 1;
  double deposit_numeraire = 0.0;
  double deposit_x = 0.0;  // tokens, at the pool's initial ratio and initial reference prices
  double deposit_y = 0.0;
  std::uint32_t gas_used = 150000;
  core::AssetIndex native_asset = 0;
  double gas_native = 0.0;  // the deposit's gas, held in the wallet from the start

  std::unique_ptr<Agent> create(const AgentContext& context) const override {
    return std::make_unique<LiquidityProvider>(*this, context);
  }
  std::vector<output::MetricInfo> series_metrics() const override {
    using output::RiskTail;
    return {
        {"value", "numeraire", "value of the LP position at reference prices", RiskTail::lower_is_worse},
        {"hodl_value", "numeraire", "value of the deposited tokens, had they been held", RiskTail::lower_is_worse},
        {"pnl_vs_hodl", "numeraire", "value - hodl_value", RiskTail::lower_is_worse},
        {"fees_earned", "numeraire", "fees accrued to the position's shares, at current reference prices",
         RiskTail::lower_is_worse},
    };
  }
  std::vector<output::MetricInfo> outcome_metrics() const override {
    using output::RiskTail;
    return {
        {"value", "numeraire", "final value of the LP position", RiskTail::lower_is_worse},
        {"hodl_value", "numeraire", "final value of holding the deposit instead", RiskTail::lower_is_worse},
        {"pnl_vs_hodl", "numeraire", "final value - hodl_value (gas excluded)", RiskTail::lower_is_worse},
        {"return_vs_hodl", "fraction", "pnl_vs_hodl / deposit_numeraire", RiskTail::lower_is_worse},
        {"fees_earned", "numeraire", "fees accrued to the position over the path", RiskTail::lower_is_worse},
        {"gas_paid", "numeraire", "gas paid for the deposit", RiskTail::higher_is_worse},
    };
  }
  std::vector<double> initial_wallet(std::size_t asset_count) const override {
    std::vector<double> wallet(asset_count, 0.0);
    wallet[asset_x] = deposit_x;
    wallet[asset_y] = deposit_y;
    wallet[native_asset] += gas_native;
    return wallet;
  }
};

LiquidityProvider::LiquidityProvider(const LpParams& params, const AgentContext& context)
    : params_(params), index_(context.index) {}

void LiquidityProvider::start(const View&, TransactionSink& sink) {
  core::Transaction transaction;
  transaction.sender = index_;
  transaction.market = params_.market;
  transaction.kind = core::TransactionKind::add_liquidity;
  transaction.funding = core::Funding::wallet;
  transaction.token_in = params_.asset_x;
  transaction.amount_in = params_.deposit_x;
  transaction.amount_other = params_.deposit_y;
  transaction.gas_used = params_.gas_used;
  sink.submit(transaction);
}

void LiquidityProvider::on_receipt(const core::Receipt& receipt, const View& view) {
  gas_paid_ += receipt.gas_paid_native * view.reference_prices[view.native_asset];
  if (!receipt.succeeded()) return;
  deposited_x_ = receipt.amount_in;
  deposited_y_ = receipt.amount_other;
  const auto& pool = markets::constant_product_pool(view.markets[params_.market]);
  fees_per_share_x_at_deposit_ = pool.fees_per_share_x();
  fees_per_share_y_at_deposit_ = pool.fees_per_share_y();
}

double LiquidityProvider::position_value(const View& view) const {
  const auto& pool = markets::constant_product_pool(view.markets[params_.market]);
  const double shares = view.lp_share_balance(index_, params_.market);
  if (shares <= 0.0) return 0.0;
  const double fraction = shares / pool.total_shares();
  return fraction * (pool.reserve_x() * view.reference_prices[pool.asset_x()] +
                     pool.reserve_y() * view.reference_prices[pool.asset_y()]);
}

double LiquidityProvider::hodl_value(const View& view) const {
  return deposited_x_ * view.reference_prices[params_.asset_x] +
         deposited_y_ * view.reference_prices[params_.asset_y];
}

double LiquidityProvider::fees_earned(const View& view) const {
  const auto& pool = markets::constant_product_pool(view.markets[params_.market]);
  const double shares = view.lp_share_balance(index_, params_.market);
  return shares * ((pool.fees_per_share_x() - fees_per_share_x_at_deposit_) *
                       view.reference_prices[pool.asset_x()] +
                   (pool.fees_per_share_y() - fees_per_share_y_at_deposit_) *
                       view.reference_prices[pool.asset_y()]);
}

void LiquidityProvider::record(const View& view, std::span<double> series) {
  const double value = position_value(view);
  const double hodl = hodl_value(view);
  series[0] = value;
  series[1] = hodl;
  series[2] = value - hodl;
  series[3] = fees_earned(view);
}

void LiquidityProvider::finish(const View& view, std::span<double> outcomes) {
  const double value = position_value(view);
  const double hodl = hodl_value(view);
  outcomes[0] = value;
  outcomes[1] = hodl;
  outcomes[2] = value - hodl;
  outcomes[3] = (value - hodl) / params_.deposit_numeraire;
  outcomes[4] = fees_earned(view);
  outcomes[5] = gas_paid_;
}

}  // namespace

// Needs the initial prices, which the engine passes through WorldNames.
std::shared_ptr<const AgentParams> parse_lp(const config::ConfigNode& node, const WorldNames& names) {
  auto params = std::make_shared<LpParams>();
  const config::ConfigNode market = node.child("market");
  params->market = names.market(market);
  const markets::CpmmParams* pool = markets::constant_product_params(names.markets[params->market]);
  if (pool == nullptr) market.fail("the lp provides liquidity to constant-product pools only (cpmm, or a twamm's embedded pool)");
  params->asset_x = pool->asset_x;
  params->asset_y = pool->asset_y;
  params->deposit_numeraire = node.number_in("deposit_numeraire", 0.0, 0.0, false, INFINITY, false);
  params->gas_used = static_cast<std::uint32_t>(node.integer_at_least("gas_used", 150000, 0));
  // Split the deposit at the pool's initial ratio r = y/x so every token is used:
  // x p_x + r x p_y = V.
  const double ratio = pool->reserve_y / pool->reserve_x;
  const double price_x = names.initial_prices[pool->asset_x];
  const double price_y = names.initial_prices[pool->asset_y];
  params->deposit_x = params->deposit_numeraire / (price_x + ratio * price_y);
  params->deposit_y = ratio * params->deposit_x;
  params->native_asset = names.native_asset;
  params->gas_native = params->gas_used * names.base_gas_price_gwei * core::native_per_gwei;
  return params;
}

AgentType lp_type() {
  return {"lp",
          "Deposits at block 0 and holds; records position value, HODL value and fees earned.",
          lp_keys, parse_lp};
}

}  // namespace defisim::agents
