#include "agents/perp_lp.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace defisim::agents {

namespace {

constexpr config::KeySpec perp_lp_keys[] = {
    {"market", "string", "", "the pool it provides liquidity to (gmx_glp or gtrade_vault; a vamm has no LP shares)"},
    {"asset", "string", "gmx: the pool's first stable asset; gtrade: the vault's stablecoin",
     "the token it deposits and redeems for (gmx: any asset of the pool; gtrade: the vault's stablecoin)"},
    {"deposit_numeraire", "number", "1000000",
     "value deposited at block 0, numeraire at the initial reference price (> 0); bought at the reference venue"},
    {"leave_after_drawdown", "number", "0",
     "redeems all its shares once the share price (marked at reference prices) is this fraction below its peak "
     "since the deposit, in [0, 1); 0 = never"},
    {"leave_at_seconds", "number", "never", "redeems all its shares at the first block at or after this time (>= 0)"},
    {"gas_used", "integer", "300000", "gas units of the deposit and of the redemption (0 to 100000000)"},
    {"gas_budget_native", "number", "1",
     "native tokens in its wallet at the start, for the redemption's gas (>= 0; the deposit is venue-funded)"},
};

class PerpLpParams;

class PerpLiquidityProvider final : public Agent {
 public:
  PerpLiquidityProvider(const PerpLpParams& params, const AgentContext& context);
  void start(const View& view, TransactionSink& sink) override;
  void act(const View& view, TransactionSink& sink) override;
  bool idle_until(const View& view, WakeConditions& wake) override;
  void on_receipt(const core::Receipt& receipt, const View& view) override;
  void record(const View& view, std::span<double> series) override;
  void finish(const View& view, std::span<double> outcomes) override;

 private:
  // Numeraire per share, marked at reference prices.
  double share_price(const View& view) const;
  // What its position is worth now: what it redeemed, or its shares marked.
  double position_value(const View& view) const;

  const PerpLpParams& params_;
  core::AgentIndex index_;
  bool deposited_ = false, redeeming_ = false, left_ = false;
  double deposited_value_ = 0, redeemed_value_ = 0, peak_share_price_ = 0, left_at_seconds_ = 0;
  double fees_paid_ = 0, gas_paid_ = 0;
};

class PerpLpParams final : public AgentParams {
 public:
  core::MarketIndex market = 0;
  bool gmx = true;
  core::AssetIndex asset = 0;
  double deposit_tokens = 0.0;  // deposit_numeraire at the initial reference price
  double leave_after_drawdown = 0.0;
  double leave_at_seconds = INFINITY;
  std::uint32_t gas_used = 300000;
  core::AssetIndex native_asset = 0;
  double gas_budget_native = 1.0;

  std::unique_ptr<Agent> create(const AgentContext& context) const override {
    return std::make_unique<PerpLiquidityProvider>(*this, context);
  }
  std::vector<double> initial_wallet(std::size_t asset_count) const override {
    std::vector<double> wallet(asset_count, 0.0);
    wallet[native_asset] = gas_budget_native;
    return wallet;
  }
  std::vector<output::MetricInfo> series_metrics() const override {
    return {{"position_value", "numeraire",
             "its shares x the share price marked at reference prices; after it left, the value it redeemed",
             output::RiskTail::lower_is_worse}};
  }
  std::vector<output::MetricInfo> outcome_metrics() const override {
    using output::RiskTail;
    return {
        {"pnl", "numeraire",
         "value redeemed (at the reference price when redeemed) or its shares' marked value at the end, minus the "
         "value paid for the deposit (gas excluded)",
         RiskTail::lower_is_worse},
        {"return", "fraction", "pnl / value deposited (0 if the deposit failed)", RiskTail::lower_is_worse},
        {"left", "0/1", "1 if it redeemed its shares", RiskTail::higher_is_worse},
        {"left_at_seconds", "seconds", "when it redeemed; the path's length if it never did", RiskTail::lower_is_worse},
        {"fees_paid", "numeraire", "mint and burn fees (gmx mint_burn_fee), at reference prices when paid",
         RiskTail::higher_is_worse},
        {"gas_paid", "numeraire", "gas paid, at reference prices", RiskTail::higher_is_worse},
    };
  }
};

PerpLiquidityProvider::PerpLiquidityProvider(const PerpLpParams& params, const AgentContext& context)
    : params_(params), index_(context.index) {}

double PerpLiquidityProvider::share_price(const View& view) const {
  const markets::Market& market = view.markets[params_.market];
  if (params_.gmx) return std::get<markets::GmxPool>(market).share_price(view.reference_prices);
  const auto& vault = std::get<markets::GtradeVault>(market);
  return vault.marked_share_price(view.reference_prices[vault.params().traded_asset], view.time_seconds) *
         view.reference_prices[vault.params().collateral_asset];
}

double PerpLiquidityProvider::position_value(const View& view) const {
  if (left_) return redeemed_value_;
  const double shares = view.lp_share_balance(index_, params_.market);
  return shares > 0.0 ? shares * share_price(view) : 0.0;
}

void PerpLiquidityProvider::start(const View&, TransactionSink& sink) {
  core::Transaction deposit;
  deposit.sender = index_;
  deposit.market = params_.market;
  deposit.kind = core::TransactionKind::perp_deposit;
  deposit.funding = core::Funding::reference_venue;
  deposit.token_in = params_.asset;
  deposit.amount_in = params_.deposit_tokens;
  deposit.gas_used = params_.gas_used;
  sink.submit(deposit);
}

void PerpLiquidityProvider::act(const View& view, TransactionSink& sink) {
  if (!deposited_ || left_ || redeeming_) return;
  const double shares = view.lp_share_balance(index_, params_.market);
  if (!(shares > 0.0)) return;
  const double price = share_price(view);
  peak_share_price_ = std::max(peak_share_price_, price);
  const bool drawdown =
      params_.leave_after_drawdown > 0.0 && price <= peak_share_price_ * (1.0 - params_.leave_after_drawdown);
  if (!drawdown && !(view.time_seconds >= params_.leave_at_seconds)) return;
  core::Transaction redeem;
  redeem.sender = index_;
  redeem.market = params_.market;
  redeem.kind = core::TransactionKind::perp_redeem;
  redeem.funding = core::Funding::wallet;  // perp_redeem is wallet-only
  redeem.amount_in = shares;
  redeem.token_other = params_.asset;
  redeem.gas_used = params_.gas_used;
  if (sink.submit(redeem)) redeeming_ = true;
}

bool PerpLiquidityProvider::idle_until(const View& view, WakeConditions& wake) {
  if (!deposited_ || left_) return true;                               // nothing left to do
  if (redeeming_ || params_.leave_after_drawdown > 0.0) return false;  // watches the share price every block
  if (std::isfinite(params_.leave_at_seconds)) {
    // Wake no later than the first block at or after leave_at_seconds
    // (rounding down: an early wake only calls act() once more).
    const double block = std::floor(params_.leave_at_seconds / view.block_time_seconds);
    if (block < static_cast<double>(WakeConditions::never)) {  // else never: a time past any path
      wake.wake_block = static_cast<core::BlockNumber>(std::max(block, 0.0));
    }
    if (wake.wake_block <= view.block) return false;
  }
  return true;
}

void PerpLiquidityProvider::on_receipt(const core::Receipt& receipt, const View& view) {
  gas_paid_ += receipt.gas_paid_native * view.reference_prices[view.native_asset];
  const bool deposit = receipt.transaction.kind == core::TransactionKind::perp_deposit;
  if (!receipt.succeeded()) {
    if (!deposit) redeeming_ = false;  // retried next block
    return;
  }
  if (deposit) {
    deposited_ = true;
    deposited_value_ = receipt.amount_in * view.reference_prices[receipt.transaction.token_in];
    fees_paid_ += receipt.fee_paid * view.reference_prices[receipt.transaction.token_in];
    peak_share_price_ = share_price(view);
    return;
  }
  redeeming_ = false;
  left_ = true;
  left_at_seconds_ = view.time_seconds;
  redeemed_value_ = receipt.amount_out * view.reference_prices[receipt.token_out];
  fees_paid_ += receipt.fee_paid * view.reference_prices[receipt.token_out];
}

void PerpLiquidityProvider::record(const View& view, std::span<double> series) { series[0] = position_value(view); }

void PerpLiquidityProvider::finish(const View& view, std::span<double> outcomes) {
  const double pnl = deposited_ ? position_value(view) - deposited_value_ : 0.0;
  outcomes[0] = pnl;
  outcomes[1] = deposited_value_ > 0.0 ? pnl / deposited_value_ : 0.0;
  outcomes[2] = left_ ? 1.0 : 0.0;
  outcomes[3] = left_ ? left_at_seconds_ : view.time_seconds;
  outcomes[4] = fees_paid_;
  outcomes[5] = gas_paid_;
}

std::shared_ptr<const AgentParams> parse_perp_lp(const config::ConfigNode& node, const WorldNames& names) {
  auto params = std::make_shared<PerpLpParams>();
  const config::ConfigNode market = node.child("market");
  params->market = names.market(market);
  const markets::MarketParams& market_params = names.markets[params->market];
  if (const auto* gmx = std::get_if<markets::GmxParams>(&market_params)) {
    params->gmx = true;
    if (node.has("asset")) {
      const config::ConfigNode asset = node.child("asset");
      params->asset = names.asset(asset);
      const bool listed = std::any_of(gmx->assets.begin(), gmx->assets.end(),
                                      [&](const markets::GmxAssetParams& a) { return a.asset == params->asset; });
      if (!listed) asset.fail(fmt::format("'{}' is not in the pool '{}'", asset.as_string(), market.as_string()));
    } else {
      // The config loader ensures a pool has a stablecoin.
      params->asset = std::find_if(gmx->assets.begin(), gmx->assets.end(), [](const markets::GmxAssetParams& a) {
                        return a.is_stable;
                      })->asset;
    }
  } else if (const auto* gtrade = std::get_if<markets::GtradeParams>(&market_params)) {
    params->gmx = false;
    params->asset = gtrade->collateral_asset;
    if (node.has("asset") && names.asset(node.child("asset")) != gtrade->collateral_asset) {
      node.child("asset").fail(fmt::format("the vault '{}' takes only its stablecoin '{}'", market.as_string(),
                                           names.assets[gtrade->collateral_asset]));
    }
  } else if (std::holds_alternative<markets::VammParams>(market_params)) {
    market.fail(
        fmt::format("'{}' is a vamm: its insurance fund has no shares to provide liquidity for (use a "
                    "gmx_glp or gtrade_vault market)",
                    market.as_string()));
  } else {
    market.fail(
        fmt::format("'{}' is not a perpetual pool with LP shares (gmx_glp or gtrade_vault)", market.as_string()));
  }
  params->deposit_tokens =
      node.number_in("deposit_numeraire", 1e6, 0.0, false, INFINITY, false) / names.initial_prices[params->asset];
  params->leave_after_drawdown = node.number_in("leave_after_drawdown", 0.0, 0.0, true, 1.0, false);
  params->leave_at_seconds = node.number_in("leave_at_seconds", INFINITY, 0.0, true, INFINITY, false);
  const std::int64_t gas_used = node.integer_in("gas_used", 300000, 0, 100000000);
  params->gas_used = static_cast<std::uint32_t>(gas_used);
  params->native_asset = names.native_asset;
  params->gas_budget_native = node.number_in("gas_budget_native", 1.0, 0.0, true, INFINITY, false);
  return params;
}

}  // namespace

AgentType perp_lp_type() {
  return {"perp_lp",
          "Deposits into a perpetual pool's LP shares (gmx_glp GLP, gtrade_vault) at block 0 and leaves after a "
          "drawdown of the share price or at a given time.",
          perp_lp_keys, parse_perp_lp};
}

}  // namespace defisim::agents
