#pragma once
// Constant-product market maker: Uniswap v2 (Adams, Zinsmeister, Robinson,
// "Uniswap v2 Core", 2020; UniswapV2Library.getAmountOut/getAmountIn).
//
// Reserves x (asset_x) and y (asset_y) with x*y = k before fees; the fee is
// taken on the input and stays in the pool, so k grows with every swap.
// Amounts are continuous token amounts (doubles), not integer wei: there is no
// integer rounding and no MINIMUM_LIQUIDITY lock. A market knows nothing of
// agents, randomness, configs or files.
#include "framework/core/transaction.hpp"
#include "framework/core/units.hpp"

namespace defisim::markets {

struct CpmmParams {
  core::AssetIndex asset_x = 0;
  core::AssetIndex asset_y = 1;
  double reserve_x = 0.0;  // tokens of asset_x
  double reserve_y = 0.0;  // tokens of asset_y
  double fee = 0.003;      // fraction of the input, in [0, 1)
};

struct SwapResult {
  core::RevertReason revert_reason = core::RevertReason::none;
  core::AssetIndex token_out = 0;
  double amount_in = 0.0;   // taken (all of it on success, 0 on revert)
  double amount_out = 0.0;  // paid out
  double fee_paid = 0.0;    // fee * amount_in, in the input token
  bool succeeded() const { return revert_reason == core::RevertReason::none; }
};

struct LiquidityResult {
  core::RevertReason revert_reason = core::RevertReason::none;
  double amount_x = 0.0;  // deposited (add) or paid out (remove)
  double amount_y = 0.0;
  double shares = 0.0;    // minted (add) or burnt (remove)
  bool succeeded() const { return revert_reason == core::RevertReason::none; }
};

class Cpmm {
 public:
  // The initial reserves mint sqrt(x*y) shares (Uniswap v2's first mint,
  // without the 1000-wei lock) to whoever supplied them.
  explicit Cpmm(const CpmmParams& params);

  core::AssetIndex asset_x() const { return asset_x_; }
  core::AssetIndex asset_y() const { return asset_y_; }
  bool trades(core::AssetIndex asset) const { return asset == asset_x_ || asset == asset_y_; }
  double reserve_x() const { return reserve_x_; }
  double reserve_y() const { return reserve_y_; }
  double reserve_of(core::AssetIndex asset) const;
  double fee() const { return fee_; }
  double total_shares() const { return total_shares_; }

  // Marginal price of x in units of y, before fees: y / x.
  double spot_price() const { return reserve_y_ / reserve_x_; }

  // getAmountOut: the output for amount_in of the input token (x if x_in).
  //   out = R_out * (1 - fee) * in / (R_in + (1 - fee) * in)
  double amount_out(bool x_in, double amount_in) const;
  // getAmountIn without integer rounding: the input that yields amount_out;
  // +inf if amount_out >= the output reserve.
  //   in = R_in * out / ((R_out - out) * (1 - fee))
  double amount_in_for(bool x_in, double amount_out) const;
  // 1 - (execution price / spot price) for this trade, fee included; in [0, 1).
  double price_impact(bool x_in, double amount_in) const;

  // Executes a swap, or reverts with the reason and leaves the state unchanged.
  SwapResult swap(core::AssetIndex token_in, double amount_in, double min_amount_out);
  // Deposits at the current ratio, using as much of (max_x, max_y) as fits;
  // shares = total * min(dx/x, dy/y).
  LiquidityResult add_liquidity(double max_amount_x, double max_amount_y, double min_shares);
  // Burns shares for the pro-rata reserves.
  LiquidityResult remove_liquidity(double shares, double min_amount_x, double min_amount_y);

  // Cumulative fees paid into the pool per share, in each token (the fee part
  // of every input divided by the shares outstanding at the time). An LP's fee
  // income between two times is shares * the difference.
  double fees_per_share_x() const { return fees_per_share_x_; }
  double fees_per_share_y() const { return fees_per_share_y_; }

  // For the Twamm only (markets/twamm.hpp): sets the reserves after its
  // virtual orders traded against this pool in closed form, and credits the
  // fee parts of their inputs (already included in the new reserves) to the
  // fee accumulators, as a swap does. The Twamm is responsible for the
  // reserves being positive and conserving tokens; no check is made here.
  void apply_virtual_trade(double new_reserve_x, double new_reserve_y, double fee_x, double fee_y);

 private:
  core::AssetIndex asset_x_;
  core::AssetIndex asset_y_;
  double reserve_x_;
  double reserve_y_;
  double fee_;
  double total_shares_;
  double fees_per_share_x_ = 0.0;
  double fees_per_share_y_ = 0.0;
};

// The closed-form optimal arbitrage against a reference price S (of x in y),
// for a trader who can trade any amount at S elsewhere. With gamma = 1 - fee:
//   pool too cheap (gamma * S * x > y): sell y, in = (sqrt(gamma*x*y*S) - y) / gamma
//   pool too dear  (gamma * y > S * x): sell x, in = (sqrt(gamma*x*y/S) - x) / gamma
// profit (in y) = value at S of what comes out - value at S of what goes in.
// Derivation: maximise S*out(in) - in; d out/d in = gamma*R_in*R_out/(R_in+gamma*in)^2.
struct ArbitrageTrade {
  bool profitable = false;  // false inside the no-trade band
  bool x_in = false;        // true: sell x to the pool
  double amount_in = 0.0;
  double amount_out = 0.0;
  double profit_in_y = 0.0;
};
ArbitrageTrade optimal_arbitrage(double reserve_x, double reserve_y, double fee,
                                 double reference_price);

// A cheap test that no arbitrage can earn more than `threshold` (in
// numeraire), for searchers that must decide every block: false means the
// optimal profit is certainly <= threshold. With value_x = p_x x and
// value_y = p_y y, buying x pays only if d = gamma value_x - value_y > 0, and
// its optimal profit (sqrt(gamma value_x) - sqrt(value_y))^2 / gamma
// = d^2 / (gamma (sqrt(gamma value_x) + sqrt(value_y))^2) <= d^2 / (4 gamma value_y);
// selling x likewise with d = gamma value_y - value_x. An upper bound, so it
// never rules out a trade that pays. Branch-free (bitwise & and |) and without
// sqrt, so the common "nothing to do" block costs a few multiplications.
inline bool arbitrage_may_exceed(double reserve_x, double reserve_y, double fee, double price_x,
                                 double price_y, double threshold) {
  const double gamma = 1.0 - fee;
  const double value_x = price_x * reserve_x;
  const double value_y = price_y * reserve_y;
  const double bound_factor = 4.0 * gamma * threshold;
  const double buy_gap = gamma * value_x - value_y;
  const double sell_gap = gamma * value_y - value_x;
  const bool buy_may_pay = (buy_gap > 0.0) & (buy_gap * buy_gap > bound_factor * value_y);
  const bool sell_may_pay = (sell_gap > 0.0) & (sell_gap * sell_gap > bound_factor * value_x);
  return buy_may_pay | sell_may_pay;
}

// The reference prices S (of x in y) at which arbitrage_may_exceed is false
// for every threshold >= `threshold_in_y` (numeraire threshold / p_y): the
// open interval (low, high), shrunk by a relative 1e-9 so that rounding in
// arbitrage_may_exceed cannot flip its answer inside it. For an agent that
// wants to sleep until a trade might pay (agents/wake.hpp). Dividing the two
// tests of arbitrage_may_exceed by p_y^2:
//   buy side quiet  <=> gamma S x - y <= 2 sqrt(gamma tau y)
//                   <=> S <= (y + 2 sqrt(gamma tau y)) / (gamma x)
//   sell side quiet <=> gamma y - S x <= 2 sqrt(gamma tau S x); with u = sqrt(S x),
//                   u^2 + 2 sqrt(gamma tau) u - gamma y >= 0
//                   <=> u >= gamma y / (sqrt(gamma tau) + sqrt(gamma tau + gamma y))
// (the positive root, rationalised so that tau = 0 loses nothing to cancellation).
struct QuietPriceRange {
  double low = 0.0;
  double high = 0.0;
};
QuietPriceRange quiet_price_range(double reserve_x, double reserve_y, double fee, double threshold_in_y);

}  // namespace defisim::markets
