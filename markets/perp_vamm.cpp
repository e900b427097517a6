#include "markets/perp_vamm.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace defisim::markets {

namespace {

using core::RevertReason;

constexpr double seconds_per_day = 86400.0;  // Amm.settleFunding scales the premium by period / 1 day
constexpr double infinity = std::numeric_limits<double>::infinity();

bool is_positive_finite(double value) { return value > 0.0 && std::isfinite(value); }
bool is_fraction(double value) { return value >= 0.0 && value < 1.0; }

}  // namespace

Vamm::Vamm(const VammParams& params)
    : params_(params),
      quote_reserve_(params.quote_reserve),
      base_reserve_(params.base_reserve),
      insurance_fund_(params.initial_insurance_fund),
      next_funding_seconds_(params.start_seconds + params.funding_period_seconds),
      twap_start_seconds_(params.start_seconds),
      twap_last_seconds_(params.start_seconds) {
  if (!is_positive_finite(params.quote_reserve) || !is_positive_finite(params.base_reserve) ||
      !std::isfinite(params.quote_reserve * params.base_reserve)) {
    throw std::invalid_argument("vamm: virtual reserves must be positive and finite");
  }
  if (!is_fraction(params.spread_ratio) || !is_fraction(params.toll_ratio)) {
    throw std::invalid_argument("vamm: spread_ratio and toll_ratio must be in [0, 1)");
  }
  if (!(params.initial_margin_ratio > 0.0 && params.initial_margin_ratio <= 1.0)) {
    throw std::invalid_argument("vamm: initial_margin_ratio must be in (0, 1]");
  }
  if (!(params.maintenance_margin_ratio > 0.0 &&
        params.maintenance_margin_ratio <= params.initial_margin_ratio)) {
    throw std::invalid_argument("vamm: maintenance_margin_ratio must be in (0, initial_margin_ratio]");
  }
  if (!is_fraction(params.liquidation_fee_ratio)) {
    throw std::invalid_argument("vamm: liquidation_fee_ratio must be in [0, 1)");
  }
  if (!(params.partial_liquidation_ratio >= 0.0 && params.partial_liquidation_ratio <= 1.0)) {
    throw std::invalid_argument("vamm: partial_liquidation_ratio must be in [0, 1]");
  }
  if (!(params.oracle_spread_limit > 0.0)) {
    throw std::invalid_argument("vamm: oracle_spread_limit must be positive (+inf: off)");
  }
  if (!is_positive_finite(params.funding_period_seconds) || !std::isfinite(params.start_seconds)) {
    throw std::invalid_argument("vamm: funding_period_seconds must be positive, start_seconds finite");
  }
  if (!(params.initial_insurance_fund >= 0.0 && std::isfinite(params.initial_insurance_fund))) {
    throw std::invalid_argument("vamm: initial_insurance_fund must be non-negative and finite");
  }
  if (params.max_positions == 0) throw std::invalid_argument("vamm: max_positions must be positive");
  positions_.reserve(params.max_positions);
  open_positions_.reserve(params.max_positions);
}

// ---------------------------------------------------------------- queries

double Vamm::mark_twap(double now_seconds) const {
  const double end = std::max(now_seconds, twap_last_seconds_);
  const double elapsed = end - twap_start_seconds_;
  if (!(elapsed > 0.0)) return mark_price();
  return (twap_accumulator_ + mark_price() * (end - twap_last_seconds_)) / elapsed;
}

double Vamm::exit_notional(PerpSide side, double size_base) const {
  if (!(size_base > 0.0)) return 0.0;
  // Q - k / (B + b) = Q b / (B + b), and k / (B - b) - Q = Q b / (B - b):
  // the product forms cannot cancel.
  if (side == PerpSide::long_) return quote_reserve_ * (size_base / (base_reserve_ + size_base));
  if (!(size_base < base_reserve_)) return infinity;
  return quote_reserve_ * (size_base / (base_reserve_ - size_base));
}

bool Vamm::valid_open(VammPositionId id) const { return id < positions_.size() && positions_[id].open; }

VammPosition Vamm::position(VammPositionId id) const {
  return id < positions_.size() ? positions_[id] : VammPosition{};
}

double Vamm::signed_size(const VammPosition& position) const {
  return side_sign(position.side) * position.size_base;
}

double Vamm::pnl_for_exit(const VammPosition& position, double exit) const {
  return position.side == PerpSide::long_ ? exit - position.open_notional : position.open_notional - exit;
}

double Vamm::funding_of(const VammPosition& position) const {
  return (cumulative_premium_fraction_ - position.premium_fraction_snapshot) * signed_size(position);
}

double Vamm::funding_owed(VammPositionId id) const {
  return valid_open(id) ? funding_of(positions_[id]) : 0.0;
}

double Vamm::unrealized_pnl(VammPositionId id) const {
  if (!valid_open(id)) return 0.0;
  const VammPosition& position = positions_[id];
  return pnl_for_exit(position, exit_notional(position.side, position.size_base));
}

double Vamm::ratio_at(const VammPosition& position, double funding, double value) const {
  return (position.margin - funding + pnl_for_exit(position, value)) / value;
}

double Vamm::margin_ratio_with(const VammPosition& position, double funding, double exit) const {
  if (std::isinf(exit)) return -infinity;  // a short larger than the base reserve: unpayable
  return ratio_at(position, funding, exit);
}

double Vamm::liquidation_ratio_with(const VammPosition& position, double funding, double vamm_ratio,
                                    double index_price) const {
  if (!is_positive_finite(index_price)) return vamm_ratio;
  if (std::fabs(mark_price() / index_price - 1.0) > params_.oracle_spread_limit) {
    return std::max(vamm_ratio, ratio_at(position, funding, position.size_base * index_price));
  }
  return vamm_ratio;
}

double Vamm::margin_ratio(VammPositionId id) const {
  if (!valid_open(id)) return infinity;
  const VammPosition& position = positions_[id];
  return margin_ratio_with(position, funding_of(position),
                           exit_notional(position.side, position.size_base));
}

double Vamm::margin_ratio_at_index(VammPositionId id, double index_price) const {
  if (!valid_open(id)) return infinity;
  const VammPosition& position = positions_[id];
  return ratio_at(position, funding_of(position), position.size_base * index_price);
}

double Vamm::liquidation_margin_ratio(VammPositionId id, double index_price) const {
  if (!valid_open(id)) return infinity;
  const VammPosition& position = positions_[id];
  const double funding = funding_of(position);
  const double exit = exit_notional(position.side, position.size_base);
  return liquidation_ratio_with(position, funding, margin_ratio_with(position, funding, exit),
                                index_price);
}

bool Vamm::liquidatable(VammPositionId id, double index_price) const {
  return valid_open(id) && liquidation_margin_ratio(id, index_price) < params_.maintenance_margin_ratio;
}

// ---------------------------------------------------------------- helpers

void Vamm::accumulate_twap(double now_seconds) {
  if (now_seconds > twap_last_seconds_) {
    twap_accumulator_ += mark_price() * (now_seconds - twap_last_seconds_);
    twap_last_seconds_ = now_seconds;
  }
}

void Vamm::apply_exit(PerpSide side, double size_base) {
  const double quote = exit_notional(side, size_base);
  if (side == PerpSide::long_) {
    base_reserve_ += size_base;
    quote_reserve_ -= quote;
    long_base_ -= size_base;
  } else {
    base_reserve_ -= size_base;
    quote_reserve_ += quote;
    short_base_ -= size_base;
  }
}

bool Vamm::can_withdraw(double amount) const { return amount <= vault_ + insurance_fund_; }

void Vamm::withdraw(double amount) {
  // ClearingHouse.withdraw: a vault short of the amount (a winner paid before
  // the loser's bad debt is realised) borrows the gap from the fund, which
  // later realisations of bad debt net against.
  if (vault_ < amount) {
    const double advance = amount - vault_;
    insurance_fund_ -= advance;
    prepaid_ += advance;
    vault_ = amount;
  }
  vault_ -= amount;
}

double Vamm::realize_bad_debt(double amount) {
  bad_debt_ += amount;
  pool_pnl_.trader_pnl -= amount;
  if (prepaid_ >= amount) {
    prepaid_ -= amount;
    return 0.0;
  }
  const double needed = amount - prepaid_;
  prepaid_ = 0.0;
  const double paid = std::min(needed, insurance_fund_);
  insurance_fund_ -= paid;
  vault_ += paid;
  const double left = needed - paid;
  uncovered_ += left;
  return left;
}

void Vamm::take_fee(double notional) {
  const double spread = notional * params_.spread_ratio;
  const double toll = notional * params_.toll_ratio;
  insurance_fund_ += spread;
  toll_pool_ += toll;
  tokens_in_ += spread + toll;
  pool_pnl_.fees += spread + toll;
}

// ---------------------------------------------------------------- operations

VammOpenResult Vamm::open_position(core::AgentIndex owner, PerpSide side, double margin, double leverage,
                                   double base_limit, double now_seconds) {
  if (!is_positive_finite(margin) || !is_positive_finite(leverage) || !(base_limit >= 0.0) ||
      !std::isfinite(now_seconds)) {
    return reverted<VammOpenResult>(RevertReason::invalid_amount);
  }
  // ClearingHouse.openPosition: requireMoreMarginRatio(1 / leverage, initMarginRatio).
  if (1.0 / leverage < params_.initial_margin_ratio)
    return reverted<VammOpenResult>(RevertReason::unhealthy);
  if (positions_.size() >= params_.max_positions)
    return reverted<VammOpenResult>(RevertReason::cap_exceeded);
  const double notional = margin * leverage;
  if (!std::isfinite(notional) || (side == PerpSide::short_ && !(notional < quote_reserve_))) {
    return reverted<VammOpenResult>(RevertReason::insufficient_liquidity);
  }
  // Amm.getInputPrice: B - k / (Q + n) = B n / (Q + n) for a long,
  // k / (Q - n) - B = B n / (Q - n) for a short.
  const double size = side == PerpSide::long_ ? base_reserve_ * (notional / (quote_reserve_ + notional))
                                              : base_reserve_ * (notional / (quote_reserve_ - notional));
  if (!(size > 0.0) || !std::isfinite(size)) {
    return reverted<VammOpenResult>(RevertReason::invalid_amount);  // too small to register
  }
  const bool slipped = side == PerpSide::long_ ? size < base_limit : (base_limit > 0.0 && size > base_limit);
  if (slipped) return reverted<VammOpenResult>(RevertReason::slippage);

  accumulate_twap(now_seconds);
  if (side == PerpSide::long_) {
    quote_reserve_ += notional;
    base_reserve_ -= size;
    long_base_ += size;
  } else {
    quote_reserve_ -= notional;
    base_reserve_ += size;
    short_base_ += size;
  }
  VammPosition position;
  position.owner = owner;
  position.side = side;
  position.open = true;
  position.size_base = size;
  position.open_notional = notional;
  position.margin = margin;
  position.premium_fraction_snapshot = cumulative_premium_fraction_;
  const auto id = static_cast<VammPositionId>(positions_.size());
  open_positions_.insert(id);
  positions_.push_back(position);  // within the reserved capacity
  vault_ += margin;
  tokens_in_ += margin;
  take_fee(notional);

  VammOpenResult result;
  result.position = id;
  result.size_base = size;
  result.notional = notional;
  result.fee = notional * params_.fee_ratio();
  return result;
}

bool Vamm::owns_open(core::AgentIndex owner, VammPositionId id) const {
  return valid_open(id) && positions_[id].owner == owner;
}

VammCloseResult Vamm::close_position(core::AgentIndex owner, VammPositionId id, double quote_limit,
                                     double now_seconds) {
  if (!owns_open(owner, id)) return reverted<VammCloseResult>(RevertReason::not_owner);
  if (!(quote_limit >= 0.0) || !std::isfinite(now_seconds)) {
    return reverted<VammCloseResult>(RevertReason::invalid_amount);
  }
  VammPosition& position = positions_[id];
  const double exit = exit_notional(position.side, position.size_base);
  if (std::isinf(exit)) return reverted<VammCloseResult>(RevertReason::insufficient_liquidity);
  const bool slipped = position.side == PerpSide::long_ ? exit < quote_limit
                                                        : (quote_limit > 0.0 && exit > quote_limit);
  if (slipped) return reverted<VammCloseResult>(RevertReason::slippage);
  const double pnl = pnl_for_exit(position, exit);
  const double funding = funding_of(position);
  const double remain = position.margin - funding + pnl;
  // ClearingHouse.closePosition: require(badDebt == 0, "bad debt"); an
  // underwater position is for a liquidator.
  if (remain < 0.0) return reverted<VammCloseResult>(RevertReason::unhealthy);
  if (!can_withdraw(remain)) return reverted<VammCloseResult>(RevertReason::insufficient_liquidity);

  accumulate_twap(now_seconds);
  apply_exit(position.side, position.size_base);
  realized_trading_pnl_ += pnl;
  withdraw(remain);
  tokens_out_ += remain;
  take_fee(exit);
  position.open = false;
  open_positions_.erase(id);
  position.size_base = 0.0;
  position.margin = 0.0;

  VammCloseResult result;
  result.exit_notional = exit;
  result.realized_pnl = pnl;
  result.funding_paid = funding;
  result.payout = remain;
  result.fee = exit * params_.fee_ratio();
  return result;
}

RevertReason Vamm::check_margin_change(core::AgentIndex owner, VammPositionId id, double amount) const {
  if (!owns_open(owner, id)) return RevertReason::not_owner;
  if (!is_positive_finite(amount)) return RevertReason::invalid_amount;
  return RevertReason::none;
}

VammMarginResult Vamm::add_margin(core::AgentIndex owner, VammPositionId id, double amount) {
  VammMarginResult result;
  result.revert_reason = check_margin_change(owner, id, amount);
  if (!result.succeeded()) return result;
  // ClearingHouse.addMargin adds without settling funding.
  positions_[id].margin += amount;
  vault_ += amount;
  tokens_in_ += amount;
  result.margin = positions_[id].margin;
  return result;
}

VammMarginResult Vamm::remove_margin(core::AgentIndex owner, VammPositionId id, double amount) {
  const RevertReason invalid = check_margin_change(owner, id, amount);
  if (invalid != RevertReason::none) return reverted<VammMarginResult>(invalid);
  VammPosition& position = positions_[id];
  const double funding = funding_of(position);
  const double margin = position.margin - funding - amount;
  const double exit = exit_notional(position.side, position.size_base);
  const double pnl = pnl_for_exit(position, exit);
  // calcFreeCollateral: unrealised profit does not support a withdrawal, a
  // loss counts; the requirement is on the open notional (long) or the
  // exit notional (short).
  const double collateral = pnl > 0.0 ? margin : margin + pnl;
  const double requirement =
      params_.initial_margin_ratio * (position.side == PerpSide::long_ ? position.open_notional : exit);
  if (margin < 0.0 || !(collateral >= requirement))
    return reverted<VammMarginResult>(RevertReason::unhealthy);
  if (!can_withdraw(amount))
    return reverted<VammMarginResult>(RevertReason::insufficient_liquidity);
  position.margin = margin;
  position.premium_fraction_snapshot = cumulative_premium_fraction_;
  withdraw(amount);
  tokens_out_ += amount;

  VammMarginResult result;
  result.funding_paid = funding;
  result.margin = margin;
  return result;
}

VammLiquidationResult Vamm::liquidate(VammPositionId id, double index_price, double now_seconds) {
  if (!valid_open(id)) return reverted<VammLiquidationResult>(RevertReason::not_owner);
  if (!is_positive_finite(index_price) || !std::isfinite(now_seconds)) {
    return reverted<VammLiquidationResult>(RevertReason::invalid_amount);
  }
  VammPosition& position = positions_[id];
  const double full_exit = exit_notional(position.side, position.size_base);
  const double funding = funding_of(position);
  const double vamm_ratio = margin_ratio_with(position, funding, full_exit);
  if (!(liquidation_ratio_with(position, funding, vamm_ratio, index_price) <
        params_.maintenance_margin_ratio)) {
    return reverted<VammLiquidationResult>(RevertReason::healthy);
  }
  if (std::isinf(full_exit))
    return reverted<VammLiquidationResult>(RevertReason::insufficient_liquidity);
  const double unrealized = pnl_for_exit(position, full_exit);
  const double ratio = params_.partial_liquidation_ratio;
  bool partial = ratio > 0.0 && ratio < 1.0 && vamm_ratio > params_.liquidation_fee_ratio;
  // Close `ratio` of the size; realise that share of the unrealised PnL; the
  // penalty on the closed notional is split liquidator / fund. The margin
  // ratio above the fee ratio keeps the margin left positive unless funding
  // owed exceeds the margin and an unrealised profit covers it; then (Perp
  // v1 would underflow and revert) the whole position is liquidated.
  const double closed = position.size_base * ratio;
  const double exit = partial ? exit_notional(position.side, closed) : 0.0;
  const double realized = unrealized * ratio;
  const double penalty = exit * params_.liquidation_fee_ratio;
  if (partial && !(position.margin - funding + realized - penalty >= 0.0)) partial = false;

  VammLiquidationResult result;
  if (partial) {
    const double to_liquidator = penalty / 2.0;
    const double to_fund = penalty - to_liquidator;
    if (!can_withdraw(penalty))
      return reverted<VammLiquidationResult>(RevertReason::insufficient_liquidity);
    // openReversePosition: what is left is worth full_exit - exit at the
    // vAMM after this trade; its open notional keeps the unrealised PnL not
    // realised.
    const double remaining_notional = full_exit - exit;
    const double unrealized_after = unrealized - realized;
    const double open_notional = position.side == PerpSide::long_ ? remaining_notional - unrealized_after
                                                                  : remaining_notional + unrealized_after;
    accumulate_twap(now_seconds);
    apply_exit(position.side, closed);
    realized_trading_pnl_ += realized;
    position.size_base -= closed;
    position.open_notional = open_notional;
    position.margin = position.margin - funding + realized - penalty;
    position.premium_fraction_snapshot = cumulative_premium_fraction_;
    withdraw(penalty);
    insurance_fund_ += to_fund;
    tokens_out_ += to_liquidator;
    pool_pnl_.fees += to_fund;

    result.partial = true;
    result.size_closed_base = closed;
    result.exit_notional = exit;
    result.realized_pnl = realized;
    result.funding_paid = funding;
    result.fee_to_liquidator = to_liquidator;
    result.to_insurance_fund = to_fund;
    return result;
  }

  // Full: close everything; the liquidator receives half the fee ratio of the
  // exit notional whatever is left; the fund receives the rest of the margin.
  const double to_liquidator = full_exit * params_.liquidation_fee_ratio / 2.0;
  if (!can_withdraw(to_liquidator)) {  // vault + fund: the moves below keep the sum
    return reverted<VammLiquidationResult>(RevertReason::insufficient_liquidity);
  }
  double remain = position.margin - funding + unrealized;
  double bad_debt = 0.0;
  if (remain < 0.0) {
    bad_debt = -remain;
    remain = 0.0;
  }
  if (to_liquidator > remain) {
    bad_debt += to_liquidator - remain;
    remain = 0.0;
  } else {
    remain -= to_liquidator;
  }
  const double size = position.size_base;
  accumulate_twap(now_seconds);
  apply_exit(position.side, size);
  realized_trading_pnl_ += unrealized;
  position.open = false;
  open_positions_.erase(id);
  position.size_base = 0.0;
  position.margin = 0.0;
  const double uncovered = bad_debt > 0.0 ? realize_bad_debt(bad_debt) : 0.0;
  if (remain > 0.0) {
    withdraw(remain);
    insurance_fund_ += remain;
    pool_pnl_.fees += remain;
  }
  withdraw(to_liquidator);
  tokens_out_ += to_liquidator;

  result.size_closed_base = size;
  result.exit_notional = full_exit;
  result.realized_pnl = unrealized;
  result.funding_paid = funding;
  result.fee_to_liquidator = to_liquidator;
  result.to_insurance_fund = remain;
  result.bad_debt = bad_debt;
  result.bad_debt_uncovered = uncovered;
  result.bad_debt_covered = bad_debt - uncovered;
  return result;
}

VammFundingResult Vamm::settle_funding(double index_price, double now_seconds) {
  if (!is_positive_finite(index_price) || !std::isfinite(now_seconds)) {
    return reverted<VammFundingResult>(RevertReason::invalid_amount);
  }
  if (now_seconds < next_funding_seconds_) {  // Amm.settleFunding: "settle funding too early"
    return reverted<VammFundingResult>(RevertReason::unsupported);
  }
  accumulate_twap(now_seconds);
  const double twap = mark_twap(now_seconds);
  const double premium_fraction = (twap - index_price) * params_.funding_period_seconds / seconds_per_day;
  cumulative_premium_fraction_ += premium_fraction;
  // payFunding: the traders' net position pays premium x net more than the
  // other side receives; the fund takes (or pays) the difference now.
  const double imbalance = premium_fraction * net_size_base();
  double uncovered = 0.0;
  if (imbalance >= 0.0) {
    withdraw(imbalance);  // an advance from the fund to itself if the vault is short
    insurance_fund_ += imbalance;
  } else {
    const double paid = std::min(-imbalance, insurance_fund_);
    insurance_fund_ -= paid;
    vault_ += paid;
    uncovered = -imbalance - paid;
    uncovered_ += uncovered;
  }
  pool_pnl_.fees += imbalance;
  // Next time: one period on, but at least half a period from now
  // (fundingBufferPeriod), without Perp v1's rounding to the hour.
  next_funding_seconds_ = std::max(next_funding_seconds_ + params_.funding_period_seconds,
                                   now_seconds + params_.funding_period_seconds / 2.0);
  twap_start_seconds_ = twap_last_seconds_;
  twap_accumulator_ = 0.0;

  VammFundingResult result;
  result.mark_twap = twap;
  result.premium_fraction = premium_fraction;
  result.funding_rate = premium_fraction / index_price;
  result.to_insurance_fund = imbalance;
  result.uncovered = uncovered;
  return result;
}

}  // namespace defisim::markets
