#include "markets/perp_gtrade.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace defisim::markets {

namespace {

using core::RevertReason;

bool positive_finite(double value) { return value > 0.0 && std::isfinite(value); }
bool non_negative_finite(double value) { return value >= 0.0 && std::isfinite(value); }
bool in_unit_interval(double value) { return value >= 0.0 && value <= 1.0; }
// A cap may be +inf (no cap) but not NaN or negative.
bool non_negative_cap(double value) { return value >= 0.0; }

void require(bool condition, const std::string& what) {
  if (!condition) throw std::invalid_argument("gtrade_vault: " + what);
}

// Is `price` at or beyond a trade's liquidation price `liq` (below it for a
// long, above for a short)?
bool at_or_beyond(PerpSide side, double price, double liq) {
  return side == PerpSide::long_ ? price <= liq : price >= liq;
}

}  // namespace

GtradeVault::GtradeVault(const GtradeParams& params) : params_(params) {
  const GtradeParams& p = params_;
  require(p.collateral_asset != p.traded_asset, "the collateral and traded assets must differ");
  require(non_negative_finite(p.one_percent_depth_above_usd),
          "one_percent_depth_above_usd must be >= 0");
  require(non_negative_finite(p.one_percent_depth_below_usd),
          "one_percent_depth_below_usd must be >= 0");
  require(non_negative_finite(p.funding_fee_per_second), "funding_fee_per_second must be >= 0");
  require(non_negative_finite(p.rollover_fee_per_second), "rollover_fee_per_second must be >= 0");
  require(non_negative_cap(p.max_open_interest_usd), "max_open_interest_usd must be >= 0");
  require(non_negative_cap(p.max_position_per_trader_usd),
          "max_position_per_trader_usd must be >= 0");
  require(non_negative_cap(p.max_negative_pnl_on_open), "max_negative_pnl_on_open must be >= 0");
  require(positive_finite(p.max_gain), "max_gain must be > 0");
  require(p.liquidation_loss > 0.0 && p.liquidation_loss <= 1.0,
          "liquidation_loss must be in (0, 1]");
  require(in_unit_interval(p.liquidation_reward), "liquidation_reward must be in [0, 1]");
  require(in_unit_interval(p.open_fee), "open_fee must be in [0, 1]");
  require(in_unit_interval(p.close_fee), "close_fee must be in [0, 1]");
  require(in_unit_interval(p.vault_fee_share), "vault_fee_share must be in [0, 1]");
  require(positive_finite(p.min_leverage) && p.min_leverage >= 1.0, "min_leverage must be >= 1");
  require(std::isfinite(p.max_leverage) && p.max_leverage >= p.min_leverage,
          "max_leverage must be >= min_leverage");
  // The open fee is taken from the collateral: at the highest leverage it
  // must leave some.
  require(p.open_fee * p.max_leverage < 1.0, "open_fee x max_leverage must be < 1");
  require(non_negative_finite(p.initial_vault_assets), "initial_vault_assets must be >= 0");
  require(p.max_trades > 0, "max_trades must be > 0");

  trades_.reserve(p.max_trades);
  open_ids_.reserve(p.max_trades);
  vault_assets_ = p.initial_vault_assets;
  total_shares_ = p.initial_vault_assets;  // the genesis LP mints at a share price of 1
  deposited_ = p.initial_vault_assets;
}

// ------------------------------------------------------------------ vault ----

double GtradeVault::share_price() const {
  return total_shares_ > 0.0 ? vault_assets_ / total_shares_ : 1.0;
}

double GtradeVault::marked_vault_assets(double price, double now_seconds) const {
  const Accumulators acc = projected(now_seconds);
  double marked = vault_assets_;
  for (const GtradeTradeId id : open_ids_) marked += settle(trades_[id], price, acc).vault_change;
  return marked;
}

double GtradeVault::marked_share_price(double price, double now_seconds) const {
  return share_price_at(marked_vault_assets(price, now_seconds));
}

GtradeVaultResult GtradeVault::deposit(double assets) {
  if (!positive_finite(assets)) return reverted<GtradeVaultResult>(RevertReason::invalid_amount);
  double shares = assets;  // an empty vault mints at a share price of 1 (ERC-4626)
  if (total_shares_ > 0.0) {
    // A vault whose assets are gone has no price to mint at.
    if (!(vault_assets_ > 0.0))
      return reverted<GtradeVaultResult>(RevertReason::insufficient_liquidity);
    shares = assets * (total_shares_ / vault_assets_);
  }
  vault_assets_ += assets;
  total_shares_ += shares;
  deposited_ += assets;
  GtradeVaultResult result;
  result.assets = assets;
  result.shares = shares;
  return result;
}

GtradeVaultResult GtradeVault::redeem(double shares) {
  if (!positive_finite(shares)) return reverted<GtradeVaultResult>(RevertReason::invalid_amount);
  if (shares > total_shares_)
    return reverted<GtradeVaultResult>(RevertReason::insufficient_liquidity);
  // The last shares take everything: no dust left by the division.
  const double assets =
      shares == total_shares_ ? vault_assets_ : vault_assets_ * (shares / total_shares_);
  vault_assets_ -= assets;
  total_shares_ -= shares;
  redeemed_ += assets;
  GtradeVaultResult result;
  result.assets = assets;
  result.shares = shares;
  return result;
}

// ----------------------------------------------------------- accumulators ----

bool GtradeVault::valid_time(double now_seconds) const {
  return std::isfinite(now_seconds) && now_seconds >= last_update_seconds_;
}

GtradeVault::Accumulators GtradeVault::projected(double now_seconds) const {
  Accumulators acc = acc_;
  const double dt = std::max(0.0, now_seconds - last_update_seconds_);
  if (!(dt > 0.0)) return acc;
  // getPendingAccRolloverFees: a flat rate per unit of collateral.
  acc.rollover += params_.rollover_fee_per_second * dt;
  // getPendingAccFundingFees: longs pay the imbalance, shorts receive it.
  const double paid_by_longs =
      (open_interest_long_usd_ - open_interest_short_usd_) * params_.funding_fee_per_second * dt;
  if (open_interest_long_usd_ > 0.0) acc.funding_long += paid_by_longs / open_interest_long_usd_;
  if (open_interest_short_usd_ > 0.0) acc.funding_short -= paid_by_longs / open_interest_short_usd_;
  return acc;
}

double GtradeVault::acc_funding_per_notional(PerpSide side, double now_seconds) const {
  return projected(now_seconds).funding(side);
}

double GtradeVault::acc_rollover_per_collateral(double now_seconds) const {
  return projected(now_seconds).rollover;
}

double GtradeVault::funding_of(const GtradeTrade& trade, const Accumulators& acc) const {
  return (acc.funding(trade.side) - trade.acc_funding_at_open) * trade.notional_usd;
}

double GtradeVault::rollover_of(const GtradeTrade& trade, const Accumulators& acc) const {
  return (acc.rollover - trade.acc_rollover_at_open) * trade.collateral;
}

// ------------------------------------------------------------- trade math ----

double GtradeVault::open_interest_usd(PerpSide side) const {
  return side == PerpSide::long_ ? open_interest_long_usd_ : open_interest_short_usd_;
}

double GtradeVault::trader_open_notional_usd(core::AgentIndex owner) const {
  double total = 0.0;
  for (const GtradeTradeId id : open_ids_) {
    if (trades_[id].owner == owner) total += trades_[id].notional_usd;
  }
  return total;
}

double GtradeVault::price_impact(PerpSide side, double notional_usd) const {
  // getTradePriceImpactPure: (start OI + trade OI / 2) / one-percent depth,
  // in percent; as a fraction, divided by 100.
  const double depth = side == PerpSide::long_ ? params_.one_percent_depth_above_usd
                                               : params_.one_percent_depth_below_usd;
  if (!(depth > 0.0)) return 0.0;
  return (open_interest_usd(side) + notional_usd / 2.0) / depth / 100.0;
}

double GtradeVault::pending_rollover_fee(GtradeTradeId trade, double now_seconds) const {
  return rollover_of(trades_[trade], projected(now_seconds));
}

double GtradeVault::pending_funding_fee(GtradeTradeId trade, double now_seconds) const {
  return funding_of(trades_[trade], projected(now_seconds));
}

double GtradeVault::liquidation_price_with(const GtradeTrade& trade, double rollover,
                                           double funding) const {
  // getTradeLiquidationPricePure: the price distance at which the loss
  // reaches liquidation_loss x collateral less the fees already owed.
  const double distance = trade.open_price *
                          (params_.liquidation_loss * trade.collateral - rollover - funding) /
                          trade.collateral / trade.leverage;
  const double price =
      trade.side == PerpSide::long_ ? trade.open_price - distance : trade.open_price + distance;
  return std::max(price, 0.0);
}

double GtradeVault::liquidation_price(GtradeTradeId trade, double now_seconds) const {
  const GtradeTrade& t = trades_[trade];
  const Accumulators acc = projected(now_seconds);
  return liquidation_price_with(t, rollover_of(t, acc), funding_of(t, acc));
}

bool GtradeVault::liquidatable(GtradeTradeId trade, double price, double now_seconds) const {
  return is_open(trade) &&
         at_or_beyond(trades_[trade].side, price, liquidation_price(trade, now_seconds));
}

GtradeVault::Settlement GtradeVault::settle(const GtradeTrade& t, double price,
                                            const Accumulators& acc) const {
  Settlement s;
  s.rollover_fee = rollover_of(t, acc);
  s.funding_fee = funding_of(t, acc);
  s.closing_fee = params_.close_fee * t.notional_usd;
  // currentPercentProfit, capped at max_gain of the collateral.
  s.profit = std::min(linear_pnl(t.side, t.notional_usd, t.open_price, price),
                      params_.max_gain * t.collateral);
  // getTradeValuePure.
  const double value = t.collateral + s.profit - s.rollover_fee - s.funding_fee;
  if (value <= t.collateral * (1.0 - params_.liquidation_loss)) {
    s.payout = 0.0;
  } else {
    s.payout = std::max(value - s.closing_fee, 0.0);
  }
  // v6.3 unregisterTrade: the closing fee comes out of the collateral (the
  // vault's share to the vault); the vault takes the rest of the collateral
  // and pays the payout.
  s.vault_fee = params_.vault_fee_share * s.closing_fee;
  s.vault_change = s.vault_fee + (t.collateral - s.closing_fee - s.payout);
  return s;
}

double GtradeVault::trade_payout(GtradeTradeId trade, double price, double now_seconds) const {
  return settle(trades_[trade], price, projected(now_seconds)).payout;
}

// ----------------------------------------------------------------- trades ----

GtradeOpenResult GtradeVault::open_trade(core::AgentIndex owner, PerpSide side, double collateral,
                                         double leverage, double price, double now_seconds,
                                         double worst_price) {
  if (!positive_finite(collateral) || !positive_finite(price) || !valid_time(now_seconds) ||
      !(leverage >= params_.min_leverage && leverage <= params_.max_leverage) ||
      !std::isfinite(worst_price) || worst_price < 0.0) {
    return reverted<GtradeOpenResult>(RevertReason::invalid_amount);
  }
  if (trades_.size() >= params_.max_trades)
    return reverted<GtradeOpenResult>(RevertReason::cap_exceeded);

  // gTrade checks exposure and impact with the requested notional (the
  // collateral before the open fee, times leverage).
  const double requested_usd = collateral * leverage;
  if (open_interest_usd(side) + requested_usd > params_.max_open_interest_usd) {
    return reverted<GtradeOpenResult>(RevertReason::cap_exceeded);
  }
  // The owner's open notional is a walk over the open trades: only with a cap.
  if (params_.max_position_per_trader_usd < std::numeric_limits<double>::infinity() &&
      trader_open_notional_usd(owner) + requested_usd > params_.max_position_per_trader_usd) {
    return reverted<GtradeOpenResult>(RevertReason::cap_exceeded);
  }
  const double impact = price_impact(side, requested_usd);
  // maxNegativePnlOnOpenP: the impact alone must not cost too much of the
  // collateral.
  if (impact * leverage > params_.max_negative_pnl_on_open)
    return reverted<GtradeOpenResult>(RevertReason::slippage);
  const double open_price =
      side == PerpSide::long_ ? price * (1.0 + impact) : price * (1.0 - impact);
  if (!(open_price > 0.0)) return reverted<GtradeOpenResult>(RevertReason::slippage);
  if (worst_price > 0.0 &&
      (side == PerpSide::long_ ? open_price > worst_price : open_price < worst_price)) {
    return reverted<GtradeOpenResult>(RevertReason::slippage);
  }

  const double fee = params_.open_fee * requested_usd;
  const double kept = collateral - fee;  // > 0: open_fee x max_leverage < 1

  // Accrue funding with the open interest before this trade, then add it
  // (storeTradeInitialAccFees before storeTrade).
  acc_ = projected(now_seconds);
  last_update_seconds_ = now_seconds;

  GtradeTrade t;
  t.owner = owner;
  t.side = side;
  t.open = true;
  t.collateral = kept;
  t.leverage = leverage;
  t.notional_usd = kept * leverage;
  t.open_price = open_price;
  t.acc_rollover_at_open = acc_.rollover;
  t.acc_funding_at_open = acc_.funding(side);
  const auto id = static_cast<GtradeTradeId>(trades_.size());
  trades_.push_back(t);
  open_ids_.insert(id);

  (side == PerpSide::long_ ? open_interest_long_usd_ : open_interest_short_usd_) += t.notional_usd;
  ++(side == PerpSide::long_ ? open_longs_ : open_shorts_);
  collateral_held_ += kept;
  collateral_paid_in_ += collateral;
  const double vault_fee = params_.vault_fee_share * fee;
  vault_assets_ += vault_fee;
  protocol_fees_ += fee - vault_fee;
  pnl_.fees += vault_fee;

  GtradeOpenResult result;
  result.trade = id;
  result.open_price = open_price;
  result.price_impact = impact;
  result.collateral = kept;
  result.notional_usd = t.notional_usd;
  result.open_fee = fee;
  return result;
}

void GtradeVault::remove_open(GtradeTradeId trade) {
  GtradeTrade& t = trades_[trade];
  open_ids_.erase(trade);
  const bool long_side = t.side == PerpSide::long_;
  double& oi = long_side ? open_interest_long_usd_ : open_interest_short_usd_;
  std::uint32_t& side_trades = long_side ? open_longs_ : open_shorts_;
  oi -= t.notional_usd;
  // The last trade of a side leaves exactly nothing (no rounding residue that
  // would keep funding flowing on a phantom OI).
  if (--side_trades == 0 || oi < 0.0) oi = 0.0;
  collateral_held_ -= t.collateral;
  if (open_ids_.empty()) collateral_held_ = 0.0;
  t.open = false;
}

GtradeCloseResult GtradeVault::close_trade(GtradeTradeId trade, core::AgentIndex owner,
                                           double price, double now_seconds) {
  if (!positive_finite(price) || !valid_time(now_seconds) || !is_open(trade))
    return reverted<GtradeCloseResult>(RevertReason::invalid_amount);
  const GtradeTrade& t = trades_[trade];
  if (t.owner != owner) return reverted<GtradeCloseResult>(RevertReason::not_owner);

  const Accumulators acc = projected(now_seconds);
  const Settlement s = settle(t, price, acc);
  if (vault_assets_ + s.vault_change < 0.0)
    return reverted<GtradeCloseResult>(RevertReason::insufficient_liquidity);

  acc_ = acc;
  last_update_seconds_ = now_seconds;
  vault_assets_ += s.vault_change;
  protocol_fees_ += s.closing_fee - s.vault_fee;
  paid_to_traders_ += s.payout;
  rollover_fees_ += s.rollover_fee;
  funding_fees_ += s.funding_fee;
  const double fees = s.vault_fee + s.rollover_fee + s.funding_fee;
  pnl_.fees += fees;
  pnl_.trader_pnl += s.vault_change - fees;
  remove_open(trade);

  GtradeCloseResult result;
  result.payout = s.payout;
  result.closing_fee = s.closing_fee;
  result.rollover_fee = s.rollover_fee;
  result.funding_fee = s.funding_fee;
  result.profit = s.profit;
  result.vault_change = s.vault_change;
  return result;
}

GtradeCloseResult GtradeVault::liquidate(GtradeTradeId trade, double price, double now_seconds) {
  if (!positive_finite(price) || !valid_time(now_seconds) || !is_open(trade))
    return reverted<GtradeCloseResult>(RevertReason::invalid_amount);
  const GtradeTrade& t = trades_[trade];
  const Accumulators acc = projected(now_seconds);
  const double rollover = rollover_of(t, acc);
  const double funding = funding_of(t, acc);
  if (!at_or_beyond(t.side, price, liquidation_price_with(t, rollover, funding)))
    return reverted<GtradeCloseResult>(RevertReason::healthy);

  const double reward = params_.liquidation_reward * t.collateral;
  const double vault_change = t.collateral - reward;

  acc_ = acc;
  last_update_seconds_ = now_seconds;
  vault_assets_ += vault_change;
  paid_to_liquidators_ += reward;
  rollover_fees_ += rollover;
  funding_fees_ += funding;
  const double fees = rollover + funding;
  pnl_.fees += fees;
  pnl_.trader_pnl += vault_change - fees;

  GtradeCloseResult result;
  result.liquidator_reward = reward;
  result.rollover_fee = rollover;
  result.funding_fee = funding;
  result.profit = linear_pnl(t.side, t.notional_usd, t.open_price, price);
  result.vault_change = vault_change;
  remove_open(trade);
  return result;
}

}  // namespace defisim::markets
