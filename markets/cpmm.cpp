#include "markets/cpmm.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace defisim::markets {

namespace {

using core::RevertReason;

bool is_positive_finite(double amount) { return amount > 0.0 && std::isfinite(amount); }

// A minimum of +inf is a legal (always-reverting) limit; NaN or a negative
// minimum is a malformed transaction rather than "no limit".
bool is_valid_minimum(double minimum) { return minimum >= 0.0; }

// getAmountOut. Written as R_out * (fraction <= 1) so that the result can never
// round above the output reserve and cannot overflow for large reserves.
double constant_product_out(double reserve_in, double reserve_out, double gamma, double amount_in) {
  // Nothing in, nothing out; NaN is left to propagate so that a bug upstream
  // stays visible, and +inf takes the limit rather than inf/inf = NaN.
  if (!(amount_in > 0.0) && !std::isnan(amount_in)) return 0.0;
  if (std::isinf(amount_in)) return reserve_out;
  const double effective_in = gamma * amount_in;
  return reserve_out * (effective_in / (reserve_in + effective_in));
}

}  // namespace

Cpmm::Cpmm(const CpmmParams& params)
    : asset_x_(params.asset_x),
      asset_y_(params.asset_y),
      reserve_x_(params.reserve_x),
      reserve_y_(params.reserve_y),
      fee_(params.fee),
      total_shares_(0.0) {
  if (asset_x_ == asset_y_) throw std::invalid_argument("cpmm: asset_x and asset_y must differ");
  if (!is_positive_finite(reserve_x_) || !is_positive_finite(reserve_y_)) {
    throw std::invalid_argument("cpmm: reserves must be positive and finite");
  }
  if (!(fee_ >= 0.0 && fee_ < 1.0)) throw std::invalid_argument("cpmm: fee must be in [0, 1)");
  // sqrt(x) * sqrt(y) rather than sqrt(x * y): the product can overflow or
  // underflow for extreme (but valid) reserves.
  total_shares_ = std::sqrt(reserve_x_) * std::sqrt(reserve_y_);
  if (!is_positive_finite(total_shares_)) {
    throw std::invalid_argument("cpmm: reserves too extreme to mint initial shares");
  }
}

double Cpmm::reserve_of(core::AssetIndex asset) const {
  if (asset == asset_x_) return reserve_x_;
  if (asset == asset_y_) return reserve_y_;
  return 0.0;  // the pool holds none of an asset it does not trade
}

double Cpmm::amount_out(bool x_in, double amount_in) const {
  const double reserve_in = x_in ? reserve_x_ : reserve_y_;
  const double reserve_out = x_in ? reserve_y_ : reserve_x_;
  return constant_product_out(reserve_in, reserve_out, 1.0 - fee_, amount_in);
}

double Cpmm::amount_in_for(bool x_in, double amount_out) const {
  const double reserve_in = x_in ? reserve_x_ : reserve_y_;
  const double reserve_out = x_in ? reserve_y_ : reserve_x_;
  if (!(amount_out > 0.0) && !std::isnan(amount_out)) return 0.0;
  if (!(amount_out < reserve_out)) return std::numeric_limits<double>::infinity();
  return reserve_in * amount_out / ((reserve_out - amount_out) * (1.0 - fee_));
}

double Cpmm::price_impact(bool x_in, double amount_in) const {
  // 1 - (out/in) / (R_out/R_in) simplifies to (fee*R_in + gamma*in) / (R_in + gamma*in),
  // which has no cancellation for small trades (where it tends to the fee).
  const double reserve_in = x_in ? reserve_x_ : reserve_y_;
  const double gamma = 1.0 - fee_;
  if (std::isinf(amount_in) && amount_in > 0.0) return 1.0;
  const double effective_in = gamma * std::max(amount_in, 0.0);
  return (fee_ * reserve_in + effective_in) / (reserve_in + effective_in);
}

SwapResult Cpmm::swap(core::AssetIndex token_in, double amount_in, double min_amount_out) {
  SwapResult result;
  if (!trades(token_in)) {
    result.revert_reason = RevertReason::invalid_token;
    return result;
  }
  const bool x_in = token_in == asset_x_;
  result.token_out = x_in ? asset_y_ : asset_x_;
  if (!is_positive_finite(amount_in) || !is_valid_minimum(min_amount_out)) {
    result.revert_reason = RevertReason::invalid_amount;
    return result;
  }
  double& reserve_in = x_in ? reserve_x_ : reserve_y_;
  double& reserve_out = x_in ? reserve_y_ : reserve_x_;
  const double paid_out = constant_product_out(reserve_in, reserve_out, 1.0 - fee_, amount_in);
  // Covers the empty pool too (out = 0 = reserve): the pool must keep a
  // positive reserve of what it pays out.
  if (!(paid_out < reserve_out)) {
    result.revert_reason = RevertReason::insufficient_liquidity;
    return result;
  }
  if (paid_out < min_amount_out) {
    result.revert_reason = RevertReason::slippage;
    return result;
  }
  const double new_reserve_in = reserve_in + amount_in;
  if (!std::isfinite(new_reserve_in)) {
    result.revert_reason = RevertReason::invalid_amount;
    return result;
  }
  const double fee_paid = fee_ * amount_in;
  reserve_in = new_reserve_in;
  reserve_out -= paid_out;
  (x_in ? fees_per_share_x_ : fees_per_share_y_) += fee_paid / total_shares_;
  result.amount_in = amount_in;
  result.amount_out = paid_out;
  result.fee_paid = fee_paid;
  return result;
}

LiquidityResult Cpmm::add_liquidity(double max_amount_x, double max_amount_y, double min_shares) {
  LiquidityResult result;
  if (!is_positive_finite(max_amount_x) || !is_positive_finite(max_amount_y) ||
      !is_valid_minimum(min_shares)) {
    result.revert_reason = RevertReason::invalid_amount;
    return result;
  }
  double deposit_x = max_amount_x;
  double deposit_y = max_amount_y;
  double shares = 0.0;
  if (total_shares_ > 0.0) {
    const double ratio_x = max_amount_x / reserve_x_;
    const double ratio_y = max_amount_y / reserve_y_;
    // The non-binding side is clamped to its maximum: with equal ratios the
    // proportional amount may otherwise round an ulp above what was offered.
    if (ratio_x <= ratio_y) {
      deposit_y = std::min(reserve_y_ * ratio_x, max_amount_y);
      shares = total_shares_ * ratio_x;
    } else {
      deposit_x = std::min(reserve_x_ * ratio_y, max_amount_x);
      shares = total_shares_ * ratio_y;
    }
  } else {
    // Empty pool (every share was burnt): no ratio to respect, so this is a
    // first mint again, as in Uniswap v2 when totalSupply == 0.
    shares = std::sqrt(max_amount_x) * std::sqrt(max_amount_y);
  }
  const double new_reserve_x = reserve_x_ + deposit_x;
  const double new_reserve_y = reserve_y_ + deposit_y;
  const double new_total_shares = total_shares_ + shares;
  // Zero shares means the deposit underflowed against the pool: the depositor
  // would pay for nothing.
  if (!(shares > 0.0) || !(deposit_x > 0.0) || !(deposit_y > 0.0) ||
      !std::isfinite(new_reserve_x) || !std::isfinite(new_reserve_y) ||
      !std::isfinite(new_total_shares)) {
    result.revert_reason = RevertReason::invalid_amount;
    return result;
  }
  if (shares < min_shares) {
    result.revert_reason = RevertReason::slippage;
    return result;
  }
  reserve_x_ = new_reserve_x;
  reserve_y_ = new_reserve_y;
  total_shares_ = new_total_shares;
  result.amount_x = deposit_x;
  result.amount_y = deposit_y;
  result.shares = shares;
  return result;
}

LiquidityResult Cpmm::remove_liquidity(double shares, double min_amount_x, double min_amount_y) {
  LiquidityResult result;
  if (!is_positive_finite(shares) || !is_valid_minimum(min_amount_x) ||
      !is_valid_minimum(min_amount_y)) {
    result.revert_reason = RevertReason::invalid_amount;
    return result;
  }
  if (shares > total_shares_) {
    result.revert_reason = RevertReason::insufficient_liquidity;
    return result;
  }
  const bool burns_everything = shares == total_shares_;
  // Burning everything pays the reserves exactly rather than reserve * (T/T),
  // so nothing is stranded by rounding.
  const double share_fraction = shares / total_shares_;
  const double paid_x = burns_everything ? reserve_x_ : reserve_x_ * share_fraction;
  const double paid_y = burns_everything ? reserve_y_ : reserve_y_ * share_fraction;
  const double new_reserve_x = burns_everything ? 0.0 : reserve_x_ - paid_x;
  const double new_reserve_y = burns_everything ? 0.0 : reserve_y_ - paid_y;
  // Shares left outstanding must still be backed by both tokens.
  if (!burns_everything && (!(new_reserve_x > 0.0) || !(new_reserve_y > 0.0))) {
    result.revert_reason = RevertReason::insufficient_liquidity;
    return result;
  }
  if (paid_x < min_amount_x || paid_y < min_amount_y) {
    result.revert_reason = RevertReason::slippage;
    return result;
  }
  reserve_x_ = new_reserve_x;
  reserve_y_ = new_reserve_y;
  total_shares_ = burns_everything ? 0.0 : total_shares_ - shares;
  result.amount_x = paid_x;
  result.amount_y = paid_y;
  result.shares = shares;
  return result;
}

void Cpmm::apply_virtual_trade(double new_reserve_x, double new_reserve_y, double fee_x,
                               double fee_y) {
  reserve_x_ = new_reserve_x;
  reserve_y_ = new_reserve_y;
  // An empty pool has no LP to credit (and x / 0 would poison the
  // accumulators); the Twamm does not trade against an empty pool anyway.
  if (total_shares_ > 0.0) {
    fees_per_share_x_ += fee_x / total_shares_;
    fees_per_share_y_ += fee_y / total_shares_;
  }
}

ArbitrageTrade optimal_arbitrage(double reserve_x, double reserve_y, double fee,
                                 double reference_price) {
  ArbitrageTrade trade;
  if (!is_positive_finite(reserve_x) || !is_positive_finite(reserve_y) ||
      !(fee >= 0.0 && fee < 1.0) || !is_positive_finite(reference_price)) {
    return trade;
  }
  const double gamma = 1.0 - fee;
  const double x = reserve_x;
  const double y = reserve_y;
  const double price = reference_price;
  // The band tests and the amounts share the same computed products, and the
  // amounts are rationalised so that the difference of square roots
  // sqrt(a) - sqrt(b) becomes (a - b) / (sqrt(a) + sqrt(b)): the sign of the
  // band test then always matches the sign of the amount, and near the band
  // edge no precision is lost to sqrt(...) - y cancelling.
  const double gamma_price_x = gamma * price * x;
  const double gamma_y = gamma * y;
  const double price_x = price * x;
  if (gamma_price_x > y) {
    // Pool too cheap: buy x with y. (sqrt(gamma*x*y*S) - y) / gamma
    //   = sqrt(y) * (gamma*S*x - y) / (gamma * (sqrt(gamma*S*x) + sqrt(y))).
    const double gap = gamma_price_x - y;
    const double root_sum = std::sqrt(gamma_price_x) + std::sqrt(y);
    trade.x_in = false;
    trade.amount_in = std::sqrt(y) * gap / (gamma * root_sum);
    trade.amount_out = constant_product_out(y, x, gamma, trade.amount_in);
    // S*out - in at the optimum = (sqrt(gamma*S*x) - sqrt(y))^2 / gamma.
    const double root_gap = gap / root_sum;
    trade.profit_in_y = root_gap * root_gap / gamma;
  } else if (gamma_y > price_x) {
    // Pool too dear: sell x for y. (sqrt(gamma*x*y/S) - x) / gamma
    //   = sqrt(x) * (gamma*y - S*x) / (gamma * sqrt(S) * (sqrt(gamma*y) + sqrt(S*x))).
    const double gap = gamma_y - price_x;
    const double root_sum = std::sqrt(gamma_y) + std::sqrt(price_x);
    trade.x_in = true;
    trade.amount_in = std::sqrt(x) * gap / (gamma * std::sqrt(price) * root_sum);
    trade.amount_out = constant_product_out(x, y, gamma, trade.amount_in);
    // out - S*in at the optimum = (sqrt(gamma*y) - sqrt(S*x))^2 / gamma.
    const double root_gap = gap / root_sum;
    trade.profit_in_y = root_gap * root_gap / gamma;
  } else {
    return trade;
  }
  // A gap so small that the amount underflows is no trade.
  trade.profitable = trade.amount_in > 0.0 && trade.amount_out > 0.0;
  if (!trade.profitable) trade = ArbitrageTrade{};
  return trade;
}

QuietPriceRange quiet_price_range(double reserve_x, double reserve_y, double fee, double threshold_in_y) {
  // Far above the few-ulp rounding of the products in arbitrage_may_exceed.
  constexpr double rounding_margin = 1e-9;
  const double gamma = 1.0 - fee;
  const double gamma_tau = gamma * threshold_in_y;
  const double high = (reserve_y + 2.0 * std::sqrt(gamma_tau * reserve_y)) / (gamma * reserve_x);
  const double root = gamma * reserve_y / (std::sqrt(gamma_tau) + std::sqrt(gamma_tau + gamma * reserve_y));
  const double low = root * root / reserve_x;
  return {low * (1.0 + rounding_margin), high * (1.0 - rounding_margin)};
}

}  // namespace defisim::markets
