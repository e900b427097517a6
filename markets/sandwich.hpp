#pragma once
// The optimal sandwich on a constant-product pool (Uniswap v2, fee on the
// input): a front-run in the victim's direction, the victim's swap, and a
// back-run selling exactly what the front-run bought. Source: Zhou, Qin,
// Torres, Le, Gervais, "High-Frequency Trading on Decentralized On-Chain
// Exchanges", IEEE S&P 2021, who derive the largest adversarial input that
// still lets the victim's swap execute at its slippage limit. The profit
// closed form, its derivative and the cases where the profit peaks before
// that limit are derived in markets/sandwich.cpp.
//
// Notation: the victim sells v of token A for at least m of token B into a
// pool holding x of A and y of B, fee f, g = 1 - f; the attacker sells a of A
// first and sells back what it got right after the victim. With t = a / x and
// u = v / x:
//
//   victim's limit: the victim still gets m while
//     g t^2 + (1 + g + g^2 u) t - (1 + g u) (out0 - m) / m <= 0,
//     out0 = y g v / (x + g v) (its output unattacked);
//     the largest front-run a* = x t* is the positive root.
//   gross profit (in A, gas and bribes excluded), independent of y:
//     P(a) = x t (alpha t + beta) / (g^2 t^2 + (1 + g^2 + g^3 u) t + 1),
//     alpha = g^2 u - f (2 - f),  beta = g^2 u (1 + g + g u) - f (2 - f).
//   dP/da = (beta + 2 alpha t - kappa t^2) / D(t)^2,  kappa = f (2 - f - g^2 u),
//   D(t) the denominator of P / x.
//
// So P is unimodal in a: no sandwich pays at all unless beta > 0 (roughly
// v > f x: the victim must move the price by more than the two fees); it
// increases for ever when kappa <= 0 (no fee, or v >= about 2 x); otherwise
// it peaks at the positive root of the numerator. The peak comes before a*
// only for victims barely above the threshold with loose limits (t_peak is
// close to v / v_min - 1, v_min the smallest sandwichable victim, while t* is
// close to tolerance / 2), e.g. fee 0.3%, v = 1.1 v_min and a tolerance of 30%.
#include <cstdint>
#include <limits>

namespace defisim::markets {

// What stops the front-run from being larger.
enum class SandwichBound : std::uint8_t {
  none,           // infeasible
  victim_limit,   // a*: one more ulp and the victim's swap would revert (it gets ~ its minimum)
  profit_peak,    // the profit (net of input_cost) peaks before a*
  front_run_cap,  // max_front_run_in
};

struct SandwichPlan {
  // A front-run of front_run_in > 0 exists after which, on a pool with these
  // reserves, the victim's swap and the back-run execute, with profit -
  // input_cost * front_run_in > 0.
  bool feasible = false;
  SandwichBound bound = SandwichBound::none;
  double max_front_run_in = 0.0;  // a*, in A: the largest the victim's limit allows (+inf if min_out is 0)
  double front_run_in = 0.0;      // a, in A
  double front_run_out = 0.0;     // in B
  double victim_out = 0.0;        // in B, >= the victim's min_amount_out
  double back_run_in = 0.0;       // in B (= front_run_out)
  double back_run_out = 0.0;      // in A
  double profit = 0.0;            // back_run_out - front_run_in, in A: gross of gas, bribes and input_cost
};

// The sandwich maximising profit - input_cost * a over 0 < a <= min(a*,
// max_front_run_in), on a pool holding reserve_in of the victim's input token
// and reserve_out of its output token. input_cost is a cost per unit of
// front-run input (a flash-loan fee), in [0, inf). The amounts are those of
// three swaps executed on a markets::Cpmm with these reserves, so executing
// the plan on such a pool pays them exactly; a* is pulled down by the
// smallest amount (steps of eps (x + a + v), doubling) that keeps rounding
// from making the victim's swap revert.
//
// Infeasible (feasible == false) when an input is invalid (reserves not
// positive and finite, fee outside [0, 1), victim amount not positive and
// finite, a negative or NaN minimum, cap or cost); when the victim's limit
// leaves no room (min_out >= its unattacked output: e.g. a zero slippage
// tolerance); when no front-run pays (beta <= input_cost); and when the
// optimum is unbounded (min_out 0 and no finite cap while the profit still
// rises: pass a finite max_front_run_in for victims without a limit).
// Allocates nothing and never throws.
SandwichPlan optimal_sandwich(double reserve_in, double reserve_out, double fee, double victim_amount_in,
                              double victim_min_amount_out,
                              double max_front_run_in = std::numeric_limits<double>::infinity(),
                              double input_cost = 0.0);

}  // namespace defisim::markets
