#include "markets/perp_gmx.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace defisim::markets {

namespace {

using core::RevertReason;

bool positive_finite(double value) { return value > 0.0 && std::isfinite(value); }
bool non_negative_finite(double value) { return value >= 0.0 && std::isfinite(value); }

void require(bool condition, const std::string& what) {
  if (!condition) throw std::invalid_argument("gmx_glp: " + what);
}

}  // namespace

// ------------------------------------------------------------ construction ----

GmxPool::GmxPool(const GmxParams& params, std::span<const double> prices) : params_(params) {
  const std::size_t count = params_.assets.size();
  require(count >= 1 && count <= max_gmx_assets, "between 1 and 8 assets");
  for (std::size_t slot = 0; slot < count; ++slot) {
    const GmxAssetParams& asset = params_.assets[slot];
    const std::string name = "asset " + std::to_string(asset.asset) + ": ";
    for (std::size_t other = 0; other < slot; ++other) {
      require(params_.assets[other].asset != asset.asset, name + "listed twice");
    }
    require(non_negative_finite(asset.initial_pool_amount),
            name + "initial_pool_amount must be >= 0 and finite");
    require(asset.asset < prices.size() && positive_finite(prices[asset.asset]),
            name + "needs a positive, finite genesis price");
  }
  require(params_.margin_fee >= 0.0 && params_.margin_fee < 1.0, "margin_fee must be in [0, 1)");
  // Vault.setMaxLeverage: above MIN_LEVERAGE (1x).
  require(params_.max_leverage > 1.0 && std::isfinite(params_.max_leverage),
          "max_leverage must be > 1 and finite");
  require(non_negative_finite(params_.liquidation_fee_usd),
          "liquidation_fee_usd must be >= 0 and finite");
  require(positive_finite(params_.funding_interval_seconds),
          "funding_interval_seconds must be > 0 and finite");
  require(non_negative_finite(params_.funding_rate_factor),
          "funding_rate_factor must be >= 0 and finite");
  require(non_negative_finite(params_.stable_funding_rate_factor),
          "stable_funding_rate_factor must be >= 0 and finite");
  require(params_.mint_burn_fee >= 0.0 && params_.mint_burn_fee < 1.0,
          "mint_burn_fee must be in [0, 1)");
  require(params_.lp_fee_share >= 0.0 && params_.lp_fee_share <= 1.0,
          "lp_fee_share must be in [0, 1]");
  require(params_.max_positions >= 1 && params_.max_positions < 0xFFFF'FFFFu,
          "max_positions must be >= 1");

  asset_count_ = count;
  for (std::size_t slot = 0; slot < count; ++slot) {
    const GmxAssetParams& asset = params_.assets[slot];
    assets_[slot] = asset.asset;
    stable_[slot] = asset.is_stable;
    shortable_[slot] = !asset.is_stable && asset.shortable;
    pool_[slot] = asset.initial_pool_amount;
    holdings_[slot] = asset.initial_pool_amount;
    marked_price_[slot] = prices[asset.asset];
  }
  positions_.reserve(params_.max_positions);
  open_positions_.reserve(params_.max_positions);
  // The genesis deposit: 1 share per numeraire of AUM, no fee.
  total_supply_ = aum(prices);
  net_deposits_usd_ = total_supply_;
}

// ----------------------------------------------------------------- queries ----

std::size_t GmxPool::slot_of(core::AssetIndex asset) const {
  for (std::size_t slot = 0; slot < asset_count_; ++slot) {
    if (assets_[slot] == asset) return slot;
  }
  return asset_count_;
}

double GmxPool::book(const std::array<double, max_gmx_assets>& entries,
                     core::AssetIndex asset) const {
  const std::size_t slot = slot_of(asset);
  return slot < asset_count_ ? entries[slot] : 0.0;
}

bool GmxPool::is_stable(core::AssetIndex asset) const {
  const std::size_t slot = slot_of(asset);
  return slot < asset_count_ && stable_[slot];
}

double GmxPool::pool_amount(core::AssetIndex asset) const {
  return book(pool_, asset);
}
double GmxPool::reserved_amount(core::AssetIndex asset) const {
  return book(reserved_, asset);
}
double GmxPool::guaranteed_usd(core::AssetIndex asset) const {
  return book(guaranteed_, asset);
}
double GmxPool::fee_reserves(core::AssetIndex asset) const {
  return book(fee_reserves_, asset);
}
double GmxPool::short_collateral_usd(core::AssetIndex asset) const {
  return book(short_collateral_, asset);
}
double GmxPool::holdings(core::AssetIndex asset) const {
  return book(holdings_, asset);
}
double GmxPool::global_short_size(core::AssetIndex asset) const {
  return book(short_size_, asset);
}

double GmxPool::global_short_average_price(core::AssetIndex asset) const {
  const std::size_t slot = slot_of(asset);
  if (slot >= asset_count_ || !(short_size_over_price_[slot] > 0.0)) return 0.0;
  return short_size_[slot] / short_size_over_price_[slot];
}

double GmxPool::utilisation(core::AssetIndex asset) const {
  const std::size_t slot = slot_of(asset);
  if (slot >= asset_count_ || !(pool_[slot] > 0.0)) return 0.0;
  return reserved_[slot] / pool_[slot];
}

double GmxPool::funding_factor(std::size_t slot) const {
  return stable_[slot] ? params_.stable_funding_rate_factor : params_.funding_rate_factor;
}

GmxPool::Funding GmxPool::projected_funding(std::size_t slot, double now_seconds) const {
  // Vault.updateCumulativeFundingRate / getNextFundingRate: only whole
  // intervals since the last update count, all at the utilisation of the
  // moment of the update, and the update time snaps to an interval boundary.
  Funding funding = funding_[slot];
  const double interval = params_.funding_interval_seconds;
  if (!(now_seconds >= funding.last_time + interval)) return funding;
  const double intervals = std::floor((now_seconds - funding.last_time) / interval);
  if (pool_[slot] > 0.0)
    funding.cumulative += funding_factor(slot) * (reserved_[slot] / pool_[slot]) * intervals;
  funding.last_time = std::floor(now_seconds / interval) * interval;
  return funding;
}

double GmxPool::cumulative_funding_rate(core::AssetIndex asset, double now_seconds) const {
  const std::size_t slot = slot_of(asset);
  return slot < asset_count_ ? projected_funding(slot, now_seconds).cumulative : 0.0;
}

bool GmxPool::prices_valid(std::span<const double> prices) const {
  for (std::size_t slot = 0; slot < asset_count_; ++slot) {
    if (assets_[slot] >= prices.size() || !positive_finite(prices[assets_[slot]])) return false;
  }
  return true;
}

double GmxPool::aum(std::span<const double> prices) const {
  double value = 0.0;
  for (std::size_t slot = 0; slot < asset_count_; ++slot) {
    const double price = prices[assets_[slot]];
    if (stable_[slot]) {
      value += pool_[slot] * price;
      continue;
    }
    // Shorts' losses minus profits, sum of size x (price / average - 1) over
    // shorts: price x sum(size / average) - size.
    value += price * short_size_over_price_[slot] - short_size_[slot];
    value += guaranteed_[slot] + (pool_[slot] - reserved_[slot]) * price;
  }
  return value;
}

double GmxPool::share_price(std::span<const double> prices) const {
  return total_supply_ > 0.0 ? aum(prices) / total_supply_ : 1.0;
}

double GmxPool::position_pnl_usd(GmxPositionId id, std::span<const double> prices) const {
  if (id >= positions_.size() || !positions_[id].open) return 0.0;
  const GmxPosition& p = positions_[id];
  return linear_pnl(p.side, p.size_usd, p.average_price, prices[p.index_asset]);
}

double GmxPool::borrow_fee_usd(GmxPositionId id, double now_seconds) const {
  if (id >= positions_.size() || !positions_[id].open) return 0.0;
  const GmxPosition& p = positions_[id];
  const double rate = projected_funding(slot_of(p.collateral_asset), now_seconds).cumulative;
  return p.size_usd * (rate - p.entry_funding_rate);
}

GmxPool::LiquidationCheck GmxPool::check_liquidation(const GmxPosition& p, double size_usd,
                                                     double collateral_usd, double average_price,
                                                     double borrow_fee_usd,
                                                     std::span<const double> prices) const {
  // VaultUtils.validateLiquidation, in its order.
  LiquidationCheck check;
  check.pnl_usd = linear_pnl(p.side, size_usd, average_price, prices[p.index_asset]);
  check.margin_fees_usd = borrow_fee_usd + size_usd * params_.margin_fee;
  check.remaining_usd = collateral_usd + std::min(check.pnl_usd, 0.0);
  if (check.pnl_usd < 0.0 && collateral_usd < -check.pnl_usd) {
    check.state = GmxLiquidationState::liquidatable;  // losses exceed collateral
    return check;
  }
  if (check.remaining_usd < check.margin_fees_usd + params_.liquidation_fee_usd) {
    check.state =
        GmxLiquidationState::liquidatable;  // fees (+ liquidation fee) exceed what is left
    return check;
  }
  if (check.remaining_usd * params_.max_leverage < size_usd)
    check.state = GmxLiquidationState::max_leverage_exceeded;
  return check;
}

GmxLiquidationState GmxPool::liquidation_state(GmxPositionId id, std::span<const double> prices,
                                               double now_seconds) const {
  if (id >= positions_.size() || !positions_[id].open) return GmxLiquidationState::healthy;
  const GmxPosition& p = positions_[id];
  return check_liquidation(p, p.size_usd, p.collateral_usd, p.average_price,
                           borrow_fee_usd(id, now_seconds), prices)
      .state;
}

// ------------------------------------------------------------- bookkeeping ----

core::RevertReason GmxPool::mark(std::span<const double> prices) {
  if (!prices_valid(prices)) return RevertReason::invalid_amount;
  mark_unchecked(prices);
  return RevertReason::none;
}

void GmxPool::mark_unchecked(std::span<const double> prices) {
  // The derivative of aum() in each price, split: the pool's own tokens
  // (delta) and the traders' side (longs' reserved tokens are the longs'
  // exposure; shorts' size / average price is theirs, with the sign flipped).
  for (std::size_t slot = 0; slot < asset_count_; ++slot) {
    const double price = prices[assets_[slot]];
    const double move = price - marked_price_[slot];
    if (move == 0.0) continue;
    pnl_.delta_pnl += pool_[slot] * move;
    if (!stable_[slot]) pnl_.trader_pnl += (short_size_over_price_[slot] - reserved_[slot]) * move;
    marked_price_[slot] = price;
  }
}

void GmxPool::collect_fee(std::size_t slot, double fee_tokens, double price) {
  const double to_pool = fee_tokens * params_.lp_fee_share;
  pool_[slot] += to_pool;
  fee_reserves_[slot] += fee_tokens - to_pool;
  pnl_.fees += to_pool * price;
}

void GmxPool::retire(GmxPositionId id) {
  GmxPosition& p = positions_[id];
  p.open = false;
  p.reserve_amount = 0.0;
  open_positions_.erase(id);
  // The last position on a book leaves it at exactly zero, not at the
  // rounding residue of many additions and subtractions.
  const std::size_t collateral_slot = slot_of(p.collateral_asset);
  if (--open_by_collateral_[collateral_slot] == 0) {
    reserved_[collateral_slot] = 0.0;
    guaranteed_[collateral_slot] = 0.0;
    short_collateral_[collateral_slot] = 0.0;
  }
  if (p.side == PerpSide::short_) {
    const std::size_t index_slot = slot_of(p.index_asset);
    if (--shorts_by_index_[index_slot] == 0) {
      short_size_[index_slot] = 0.0;
      short_size_over_price_[index_slot] = 0.0;
    }
  }
}

// -------------------------------------------------------------- positions ----

GmxTradeResult GmxPool::open_position(core::AgentIndex owner, PerpSide side,
                                      core::AssetIndex index_asset,
                                      core::AssetIndex collateral_asset, double collateral_amount,
                                      double size_delta_usd, std::span<const double> prices,
                                      double now_seconds) {
  if (positions_.size() >= params_.max_positions)
    return reverted<GmxTradeResult>(RevertReason::insufficient_liquidity);
  return increase(static_cast<GmxPositionId>(positions_.size()), true, owner, side, index_asset,
                  collateral_asset, collateral_amount, size_delta_usd, prices, now_seconds);
}

GmxTradeResult GmxPool::increase_position(GmxPositionId id, core::AgentIndex owner,
                                          double collateral_amount, double size_delta_usd,
                                          std::span<const double> prices, double now_seconds) {
  if (id >= positions_.size() || !positions_[id].open)
    return reverted<GmxTradeResult>(RevertReason::invalid_amount);
  const GmxPosition& p = positions_[id];
  if (p.owner != owner) return reverted<GmxTradeResult>(RevertReason::not_owner);
  return increase(id, false, owner, p.side, p.index_asset, p.collateral_asset, collateral_amount,
                  size_delta_usd, prices, now_seconds);
}

GmxTradeResult GmxPool::increase(GmxPositionId id, bool is_new, core::AgentIndex owner,
                                 PerpSide side, core::AssetIndex index_asset,
                                 core::AssetIndex collateral_asset, double collateral_amount,
                                 double size_delta_usd, std::span<const double> prices,
                                 double now_seconds) {
  // Vault._validateTokens.
  const std::size_t index_slot = slot_of(index_asset);
  const std::size_t collateral_slot = slot_of(collateral_asset);
  if (index_slot >= asset_count_ || collateral_slot >= asset_count_)
    return reverted<GmxTradeResult>(RevertReason::invalid_token);
  if (side == PerpSide::long_) {
    if (collateral_slot != index_slot || stable_[index_slot])
      return reverted<GmxTradeResult>(RevertReason::invalid_token);
  } else if (!stable_[collateral_slot] || !shortable_[index_slot]) {
    return reverted<GmxTradeResult>(RevertReason::invalid_token);
  }
  if (!non_negative_finite(collateral_amount) || !non_negative_finite(size_delta_usd) ||
      !std::isfinite(now_seconds) || !prices_valid(prices)) {
    return reverted<GmxTradeResult>(RevertReason::invalid_amount);
  }
  if (collateral_amount == 0.0 && size_delta_usd == 0.0)
    return reverted<GmxTradeResult>(RevertReason::invalid_amount);

  const double price = prices[index_asset];
  const double collateral_price = prices[collateral_asset];
  const Funding funding = projected_funding(collateral_slot, now_seconds);

  GmxPosition next;
  if (is_new) {
    next.owner = owner;
    next.side = side;
    next.index_asset = index_asset;
    next.collateral_asset = collateral_asset;
    next.open = true;
  } else {
    next = positions_[id];
  }
  const double size = next.size_usd;
  // Fees on the old size (borrow) and on the size added (position fee),
  // taken from the collateral (Vault._collectMarginFees).
  const double borrow_fee = size * (funding.cumulative - next.entry_funding_rate);
  const double position_fee = size_delta_usd * params_.margin_fee;
  const double fee = borrow_fee + position_fee;
  const double collateral_in_usd = collateral_amount * collateral_price;
  const double collateral_before_fee = next.collateral_usd + collateral_in_usd;
  if (collateral_before_fee < fee) return reverted<GmxTradeResult>(RevertReason::unhealthy);

  // getNextAveragePrice keeps the position's PnL at the new price unchanged:
  // size / average is additive (a harmonic mean of entry prices).
  if (size == 0.0) {
    next.average_price = price;
  } else if (size_delta_usd > 0.0) {
    next.average_price =
        (size + size_delta_usd) / (size / next.average_price + size_delta_usd / price);
  }
  next.collateral_usd = collateral_before_fee - fee;
  next.size_usd = size + size_delta_usd;
  next.entry_funding_rate = funding.cumulative;
  if (!(next.size_usd > 0.0) || next.size_usd < next.collateral_usd) {
    // _validatePosition: 1x <= leverage
    return reverted<GmxTradeResult>(RevertReason::invalid_amount);
  }
  // No borrow fee owed: it was just collected.
  if (check_liquidation(next, next.size_usd, next.collateral_usd, next.average_price, 0.0, prices)
          .state != GmxLiquidationState::healthy) {
    return reverted<GmxTradeResult>(RevertReason::unhealthy);
  }

  // Reserve the tokens the position's profit could need (usdToTokenMax).
  const double reserve_delta = size_delta_usd / collateral_price;
  const double reserved_after = reserved_[collateral_slot] + reserve_delta;
  const double fee_tokens = fee / collateral_price;
  const double fee_to_pool = fee_tokens * params_.lp_fee_share;
  double pool_after = pool_[collateral_slot] + fee_to_pool;
  if (side == PerpSide::long_) pool_after += collateral_amount - fee_tokens;
  // Vault checks reserved <= pool before a long's collateral joins the pool
  // (_increaseReservedAmount comes first), and again after the fee leaves it.
  if (reserved_after > pool_[collateral_slot] || reserved_after > pool_after) {
    return reverted<GmxTradeResult>(RevertReason::insufficient_liquidity);
  }

  // ---- commit
  mark_unchecked(prices);
  funding_[collateral_slot] = funding;
  next.reserve_amount += reserve_delta;
  if (side == PerpSide::long_) {
    // guaranteed_usd is the sum of (size - collateral) over longs.
    guaranteed_[collateral_slot] += size_delta_usd + fee - collateral_in_usd;
    pool_[collateral_slot] += collateral_amount - fee_tokens;
  } else {
    short_collateral_[collateral_slot] += collateral_in_usd - fee;
    short_size_[index_slot] += size_delta_usd;
    short_size_over_price_[index_slot] += size_delta_usd / price;
    if (is_new) ++shorts_by_index_[index_slot];
  }
  collect_fee(collateral_slot, fee_tokens, collateral_price);
  reserved_[collateral_slot] = reserved_after;
  holdings_[collateral_slot] += collateral_amount;
  if (is_new) {
    ++open_by_collateral_[collateral_slot];
    open_positions_.insert(id);
    positions_.push_back(next);
  } else {
    positions_[id] = next;
  }

  GmxTradeResult result;
  result.position = id;
  result.collateral_asset = collateral_asset;
  result.collateral_in = collateral_amount;
  result.position_fee_usd = position_fee;
  result.borrow_fee_usd = borrow_fee;
  return result;
}

GmxTradeResult GmxPool::decrease_position(GmxPositionId id, core::AgentIndex owner,
                                          double collateral_delta_usd, double size_delta_usd,
                                          std::span<const double> prices, double now_seconds) {
  return decrease(id, collateral_delta_usd, size_delta_usd, prices, now_seconds, true, owner);
}

GmxTradeResult GmxPool::close_position(GmxPositionId id, core::AgentIndex owner,
                                       std::span<const double> prices, double now_seconds) {
  if (id >= positions_.size() || !positions_[id].open)
    return reverted<GmxTradeResult>(RevertReason::invalid_amount);
  return decrease(id, 0.0, positions_[id].size_usd, prices, now_seconds, true, owner);
}

GmxTradeResult GmxPool::decrease(GmxPositionId id, double collateral_delta_usd,
                                 double size_delta_usd, std::span<const double> prices,
                                 double now_seconds, bool check_owner, core::AgentIndex owner) {
  if (id >= positions_.size() || !positions_[id].open)
    return reverted<GmxTradeResult>(RevertReason::invalid_amount);
  const GmxPosition& p = positions_[id];
  if (check_owner && p.owner != owner) return reverted<GmxTradeResult>(RevertReason::not_owner);
  if (!non_negative_finite(collateral_delta_usd) || !non_negative_finite(size_delta_usd) ||
      !std::isfinite(now_seconds) || !prices_valid(prices)) {
    return reverted<GmxTradeResult>(RevertReason::invalid_amount);
  }
  if (collateral_delta_usd == 0.0 && size_delta_usd == 0.0)
    return reverted<GmxTradeResult>(RevertReason::invalid_amount);
  if (size_delta_usd > p.size_usd || collateral_delta_usd > p.collateral_usd) {
    return reverted<GmxTradeResult>(RevertReason::invalid_amount);
  }

  const std::size_t collateral_slot = slot_of(p.collateral_asset);
  const std::size_t index_slot = slot_of(p.index_asset);
  const double collateral_price = prices[p.collateral_asset];
  const Funding funding = projected_funding(collateral_slot, now_seconds);
  const bool full = size_delta_usd == p.size_usd;

  // Vault._reduceCollateral.
  const double borrow_fee = p.size_usd * (funding.cumulative - p.entry_funding_rate);
  const double position_fee = size_delta_usd * params_.margin_fee;
  const double fee = borrow_fee + position_fee;
  const double pnl = linear_pnl(p.side, p.size_usd, p.average_price, prices[p.index_asset]);
  const double realised = full ? pnl : pnl * (size_delta_usd / p.size_usd);
  double usd_out = 0.0;
  double collateral = p.collateral_usd;
  if (realised > 0.0) {
    usd_out = realised;
  } else if (realised < 0.0) {
    if (collateral < -realised)
      return reverted<GmxTradeResult>(RevertReason::unhealthy);  // losses exceed collateral
    collateral += realised;
  }
  if (collateral < collateral_delta_usd) return reverted<GmxTradeResult>(RevertReason::unhealthy);
  usd_out += collateral_delta_usd;
  collateral -= collateral_delta_usd;
  if (full) {
    usd_out += collateral;
    collateral = 0.0;
  }
  const bool fee_from_collateral = !(usd_out > fee);
  double paid_usd = usd_out - fee;
  if (fee_from_collateral) {
    if (collateral < fee) return reverted<GmxTradeResult>(RevertReason::unhealthy);
    collateral -= fee;
    paid_usd = usd_out;
  }
  const double size_after = p.size_usd - size_delta_usd;
  if (!full) {
    if (size_after < collateral)
      return reverted<GmxTradeResult>(RevertReason::invalid_amount);  // _validatePosition
    // No borrow fee owed: it was just collected.
    if (check_liquidation(p, size_after, collateral, p.average_price, 0.0, prices).state !=
        GmxLiquidationState::healthy) {
      return reverted<GmxTradeResult>(RevertReason::unhealthy);
    }
  }

  const double reserve_delta =
      full ? p.reserve_amount : p.reserve_amount * (size_delta_usd / p.size_usd);
  const double fee_tokens = fee / collateral_price;
  const double fee_to_pool = fee_tokens * params_.lp_fee_share;
  // Tokens out of the pool: a long's payout (its collateral is pool tokens)
  // and a fee taken from its collateral; a short's profit, or its loss in.
  double pool_change = fee_to_pool;
  if (p.side == PerpSide::long_) {
    pool_change -= usd_out / collateral_price;
    if (fee_from_collateral) pool_change -= fee_tokens;
  } else {
    pool_change -= realised / collateral_price;
  }
  const double pool_after = pool_[collateral_slot] + pool_change;
  const double reserved_after = reserved_[collateral_slot] - reserve_delta;
  if (pool_after < 0.0 || reserved_after > pool_after)
    return reverted<GmxTradeResult>(RevertReason::insufficient_liquidity);

  // ---- commit
  mark_unchecked(prices);
  funding_[collateral_slot] = funding;
  GmxPosition& position = positions_[id];
  const double collateral_before = position.collateral_usd;
  pool_[collateral_slot] = pool_after - fee_to_pool;
  collect_fee(collateral_slot, fee_tokens, collateral_price);
  reserved_[collateral_slot] = reserved_after;
  if (position.side == PerpSide::long_) {
    guaranteed_[collateral_slot] += (collateral_before - collateral) - size_delta_usd;
  } else {
    short_collateral_[collateral_slot] += collateral - collateral_before;
    short_size_[index_slot] -= size_delta_usd;
    short_size_over_price_[index_slot] -= size_delta_usd / position.average_price;
  }
  const double amount_out = paid_usd / collateral_price;
  holdings_[collateral_slot] -= amount_out;
  position.realised_pnl_usd += realised;
  position.reserve_amount -= reserve_delta;
  position.entry_funding_rate = funding.cumulative;
  position.size_usd = size_after;
  position.collateral_usd = collateral;
  if (full) retire(id);

  GmxTradeResult result;
  result.position = id;
  result.collateral_asset = position.collateral_asset;
  result.amount_out = amount_out;
  result.position_fee_usd = position_fee;
  result.borrow_fee_usd = borrow_fee;
  result.realised_pnl_usd = realised;
  result.closed = full;
  return result;
}

GmxLiquidationResult GmxPool::liquidate(GmxPositionId id, std::span<const double> prices,
                                        double now_seconds) {
  if (id >= positions_.size() || !positions_[id].open)
    return reverted<GmxLiquidationResult>(RevertReason::invalid_amount);
  if (!std::isfinite(now_seconds) || !prices_valid(prices))
    return reverted<GmxLiquidationResult>(RevertReason::invalid_amount);
  const GmxPosition& p = positions_[id];
  const std::size_t collateral_slot = slot_of(p.collateral_asset);
  const Funding funding = projected_funding(collateral_slot, now_seconds);
  const LiquidationCheck check =
      check_liquidation(p, p.size_usd, p.collateral_usd, p.average_price,
                        p.size_usd * (funding.cumulative - p.entry_funding_rate), prices);
  if (check.state == GmxLiquidationState::healthy)
    return reverted<GmxLiquidationResult>(RevertReason::healthy);

  GmxLiquidationResult result;
  result.state = check.state;
  result.collateral_asset = p.collateral_asset;
  if (check.state == GmxLiquidationState::max_leverage_exceeded) {
    // liquidatePosition: collateral is left after losses, so the position is
    // closed for its owner (a decrease of the whole size), no liquidation fee.
    const GmxTradeResult closed =
        decrease(id, 0.0, p.size_usd, prices, now_seconds, false, core::no_agent);
    if (!closed.succeeded()) return reverted<GmxLiquidationResult>(closed.revert_reason);
    result.owner_out = closed.amount_out;
    result.fees_usd = closed.position_fee_usd + closed.borrow_fee_usd;
    return result;
  }

  const std::size_t index_slot = slot_of(p.index_asset);
  const double collateral_price = prices[p.collateral_asset];
  // Fees come only out of what the position holds: what is left after
  // losses (validateLiquidation caps them so), or its collateral when the
  // losses exceed it (GMX then still books the whole fee; see the header).
  const double fee = check.remaining_usd < 0.0
                         ? std::min(check.margin_fees_usd, p.collateral_usd)
                         : std::min(check.margin_fees_usd, check.remaining_usd);
  const double fee_tokens = fee / collateral_price;
  const double fee_to_pool = fee_tokens * params_.lp_fee_share;
  const double liquidator_tokens = params_.liquidation_fee_usd / collateral_price;
  double pool_change = fee_to_pool - liquidator_tokens;
  if (p.side == PerpSide::long_) {
    pool_change -= fee_tokens;  // the collateral was pool tokens already
  } else {
    pool_change +=
        (p.collateral_usd - fee) / collateral_price;  // the pool keeps the rest of the collateral
  }
  const double pool_after = pool_[collateral_slot] + pool_change;
  const double reserved_after = reserved_[collateral_slot] - p.reserve_amount;
  if (pool_after < 0.0 || reserved_after > pool_after)
    return reverted<GmxLiquidationResult>(RevertReason::insufficient_liquidity);

  // ---- commit
  mark_unchecked(prices);
  funding_[collateral_slot] = funding;
  GmxPosition& position = positions_[id];
  const double equity = position.collateral_usd + check.pnl_usd;
  pool_[collateral_slot] = pool_after - fee_to_pool;
  collect_fee(collateral_slot, fee_tokens, collateral_price);
  reserved_[collateral_slot] = reserved_after;
  if (position.side == PerpSide::long_) {
    guaranteed_[collateral_slot] -= position.size_usd - position.collateral_usd;
  } else {
    short_collateral_[collateral_slot] -= position.collateral_usd;
    short_size_[index_slot] -= position.size_usd;
    short_size_over_price_[index_slot] -= position.size_usd / position.average_price;
  }
  holdings_[collateral_slot] -= liquidator_tokens;
  // The pool as counterparty: it takes over the position's equity (negative:
  // bad debt) less the fees booked and the liquidator's fee it pays.
  pnl_.trader_pnl += equity - fee - params_.liquidation_fee_usd;
  position.realised_pnl_usd += check.pnl_usd;
  position.size_usd = 0.0;
  position.collateral_usd = 0.0;
  retire(id);

  result.liquidator_fee = liquidator_tokens;
  result.fees_usd = fee;
  result.bad_debt_usd = std::max(0.0, -equity);
  return result;
}

// -------------------------------------------------------------- liquidity ----

GmxLiquidityResult GmxPool::add_liquidity(core::AssetIndex asset, double amount,
                                          std::span<const double> prices, double now_seconds) {
  const std::size_t slot = slot_of(asset);
  if (slot >= asset_count_) return reverted<GmxLiquidityResult>(RevertReason::invalid_token);
  if (!positive_finite(amount) || !std::isfinite(now_seconds) || !prices_valid(prices)) {
    return reverted<GmxLiquidityResult>(RevertReason::invalid_amount);
  }
  // GlpManager._addLiquidity: AUM before the deposit; Vault.buyUSDG: the fee
  // is taken in tokens, the rest is valued at the price.
  const double value_before = aum(prices);
  const double price = prices[asset];
  const double fee_tokens = amount * params_.mint_burn_fee;
  const double deposited = amount - fee_tokens;
  const double deposited_usd = deposited * price;
  double shares = deposited_usd;
  if (total_supply_ > 0.0) {
    if (!(value_before > 0.0))
      return reverted<GmxLiquidityResult>(RevertReason::insufficient_liquidity);
    shares = deposited_usd * (total_supply_ / value_before);
  }
  if (!positive_finite(shares)) return reverted<GmxLiquidityResult>(RevertReason::invalid_amount);

  mark_unchecked(prices);
  funding_[slot] = projected_funding(slot, now_seconds);
  pool_[slot] += deposited;
  collect_fee(slot, fee_tokens, price);
  holdings_[slot] += amount;
  total_supply_ += shares;
  net_deposits_usd_ += deposited_usd;

  GmxLiquidityResult result;
  result.shares = shares;
  result.amount = amount;
  result.fee = fee_tokens;
  return result;
}

GmxLiquidityResult GmxPool::remove_liquidity(double shares, core::AssetIndex asset_out,
                                             std::span<const double> prices, double now_seconds) {
  const std::size_t slot = slot_of(asset_out);
  if (slot >= asset_count_) return reverted<GmxLiquidityResult>(RevertReason::invalid_token);
  if (!positive_finite(shares) || !std::isfinite(now_seconds) || !prices_valid(prices)) {
    return reverted<GmxLiquidityResult>(RevertReason::invalid_amount);
  }
  if (shares > total_supply_) return reverted<GmxLiquidityResult>(RevertReason::invalid_amount);
  // GlpManager._removeLiquidity then Vault.sellUSDG: the share of AUM in
  // tokens leaves the pool; the fee on it stays (in fee reserves / the pool).
  const double value_before = aum(prices);
  if (!(value_before > 0.0))
    return reverted<GmxLiquidityResult>(RevertReason::insufficient_liquidity);
  const double redeemed_usd =
      shares == total_supply_ ? value_before : value_before * (shares / total_supply_);
  const double price = prices[asset_out];
  const double tokens = redeemed_usd / price;
  if (pool_[slot] - tokens < reserved_[slot])
    return reverted<GmxLiquidityResult>(RevertReason::insufficient_liquidity);
  const double fee_tokens = tokens * params_.mint_burn_fee;
  const double amount_out = tokens - fee_tokens;

  mark_unchecked(prices);
  funding_[slot] = projected_funding(slot, now_seconds);
  pool_[slot] -= tokens;
  collect_fee(slot, fee_tokens, price);
  holdings_[slot] -= amount_out;
  total_supply_ = shares == total_supply_ ? 0.0 : total_supply_ - shares;
  net_deposits_usd_ -= redeemed_usd;

  GmxLiquidityResult result;
  result.shares = shares;
  result.amount = amount_out;
  result.fee = fee_tokens;
  return result;
}

}  // namespace defisim::markets
