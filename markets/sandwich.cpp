#include "markets/sandwich.hpp"

#include <cmath>
#include <limits>

#include "markets/cpmm.hpp"

namespace defisim::markets {

// Derivation (the victim's limit as in Zhou, Qin, Torres, Le, Gervais, IEEE
// S&P 2021, in our notation). Pool x of A, y of B, fee f, g = 1 - f; getAmountOut is
// out(in) = R_out g in / (R_in + g in) and leaves R_out' = R_in R_out / (R_in + g in).
//
// Front-run: the attacker sells a of A.
//   out_f = y g a / (x + g a),  x1 = x + a,  y1 = x y / (x + g a).
// Victim: sells v of A, limit m of B.
//   out_v = y1 g v / (x1 + g v) = x y g v / ((x + g a)(x + a + g v)),
//   x2 = x + a + v,  y2 = y1 (x + a) / (x + a + g v).
// Back-run: sells b = out_f of B.
//   back = x2 g b / (y2 + g b),  profit P(a) = back - a (in A).
//
// Victim's limit. out_v >= m  <=>  (x + g a)(x + a + g v) <= x y g v / m, and
//   (x + g a)(x + a + g v) = g a^2 + (x (1 + g) + g^2 v) a + x (x + g v),
// so with t = a / x, u = v / x and out0 = y g v / (x + g v) (out_v at a = 0):
//   g t^2 + (1 + g + g^2 u) t - C <= 0,   C = (1 + g u)(out0 - m) / m.
// The left side increases in t >= 0, so the feasible front-runs are
// [0, t*], t* the positive root; there is none unless C > 0, i.e. out0 > m.
// Rationalised, t* = 2 C / (B + sqrt(B^2 + 4 g C)) with B = 1 + g + g^2 u:
// a sum of positive terms, so no cancellation however small C is (the
// textbook (-B + sqrt(B^2 + 4 g C)) / (2 g) loses everything as C -> 0).
// C itself carries the inherent cancellation of out0 - m: t* has a relative
// error of about eps * out0 / (out0 - m), i.e. eps / tolerance.
//
// Profit. Substituting and simplifying (checked symbolically; y cancels:
// the profit in A does not depend on the depth of the B side):
//   P(a) = x t (alpha t + beta) / D(t),   D(t) = g^2 t^2 + (1 + g^2 + g^3 u) t + 1,
//   alpha = g^2 (1 + u) - 1 = g^2 u - f (2 - f),
//   beta  = g^2 (1 + u)(1 + g u) - 1 = g^2 u (1 + g + g u) - f (2 - f),
// (1 - g^2 written as f (2 - f) so that small fees lose nothing), and
//   dP/da = N(t) / D(t)^2,   N(t) = beta + 2 alpha t - kappa t^2,
//   kappa = (1 - g^2) - g^2 f u = f (2 - f - g^2 u).
// Since beta - alpha = g^3 u (1 + u) >= 0, alpha <= beta. Cases for N on t >= 0:
//   beta <= 0: then alpha <= 0 and (kappa > 0 here: g^2 u < f (2 - f)) N <= 0:
//     P never rises; no sandwich pays (the victim is too small for the fees).
//   beta > 0, kappa > 0: N is a downward parabola positive at 0: P rises to
//     its single peak at the positive root of N, then falls.
//   beta > 0, kappa <= 0 (a fee of 0, or v >= (2 - f) x / g^2): alpha > 0 too,
//     N > 0: P rises for ever (towards x alpha / g^2 = v - x (1 - g^2) / g^2).
// So P is unimodal and the best front-run under the limit is
// min(t*, t_peak, cap / x). The peak root of kappa t^2 - 2 alpha t - beta:
//   alpha >= 0: t_peak = (alpha + sqrt(alpha^2 + kappa beta)) / kappa
//   alpha <  0: t_peak = beta / (sqrt(alpha^2 + kappa beta) - alpha)
// (each a sum of positive terms). For a small fee, t_peak ~ v / v_min - 1
// with v_min the beta = 0 victim (about f x), while t* ~ tolerance / 2: the
// peak binds only for victims within a few tens of percent of v_min with
// tolerances of several percent or more.
//
// With a cost c per unit of input (a flash-loan fee) the objective is
// P(a) - c a, whose slope is N / D^2 - c. No closed form (a quartic), so the
// root of N / D^2 = c is bracketed on [0, min(t*, t_peak, cap / x)] and
// bisected. P is concave wherever it rises (checked numerically, in 40-digit
// arithmetic, at ~1500 random (fee, size, front-run) points; not proven), so
// the crossing is unique; the bisection needs only the sign change, and the
// test checks on a grid that the result is the maximum.

namespace {

constexpr double epsilon = 2.220446049250313e-16;  // 2^-52
constexpr double infinity = std::numeric_limits<double>::infinity();

bool is_positive_finite(double value) { return value > 0.0 && std::isfinite(value); }

// The normalised profit curve p(t) = P(x t) / x and its slope dP/da.
struct ProfitCurve {
  double g2 = 0.0;      // g^2
  double linear = 0.0;  // 1 + g^2 + g^3 u
  double alpha = 0.0;
  double beta = 0.0;
  double kappa = 0.0;

  double slope(double t) const {
    const double d = (g2 * t + linear) * t + 1.0;
    // Divided twice rather than by d^2, which overflows first.
    return (beta + (2.0 * alpha - kappa * t) * t) / d / d;
  }
};

// sqrt(p^2 + q^2) for p, q >= 0 without overflow (std::hypot is not
// correctly rounded on every libm, and results must not depend on one).
double norm(double p, double q) {
  const double s = p > q ? p : q;
  if (s == 0.0 || !std::isfinite(s)) return s;
  const double ps = p / s, qs = q / s;
  return s * std::sqrt(ps * ps + qs * qs);
}

}  // namespace

SandwichPlan optimal_sandwich(double reserve_in, double reserve_out, double fee, double victim_amount_in,
                              double victim_min_amount_out, double max_front_run_in, double input_cost) {
  SandwichPlan plan;
  const double x = reserve_in;
  const double v = victim_amount_in;
  const double m = victim_min_amount_out;
  if (!is_positive_finite(x) || !is_positive_finite(reserve_out) || !(fee >= 0.0 && fee < 1.0) ||
      !is_positive_finite(v) || !(m >= 0.0) || !(max_front_run_in >= 0.0) || !(input_cost >= 0.0) ||
      !std::isfinite(input_cost)) {
    return plan;
  }
  // Validated above, so this constructor cannot throw.
  const Cpmm pool(CpmmParams{0, 1, reserve_in, reserve_out, fee});
  const double g = 1.0 - fee;
  const double u = v / x;
  if (!std::isfinite(u)) return plan;

  // The victim's limit: t* (+inf without one).
  const double out0 = pool.amount_out(true, v);
  if (!(out0 > m)) return plan;  // the limit leaves no room (or the victim reverts anyway)
  const double c = (1.0 + g * u) * ((out0 - m) / m);  // +inf when m is 0
  double t_limit = infinity;
  if (std::isfinite(c)) {
    const double b = 1.0 + g + g * g * u;
    const double root = norm(b, 2.0 * std::sqrt(g) * std::sqrt(c));  // sqrt(b^2 + 4 g c)
    t_limit = c / (0.5 * (b + root));
  }
  plan.max_front_run_in = x * t_limit;

  // The profit curve and its peak.
  ProfitCurve curve;
  const double fee_pair = fee * (2.0 - fee);  // 1 - g^2
  curve.g2 = g * g;
  curve.linear = 1.0 + curve.g2 + curve.g2 * g * u;
  curve.alpha = curve.g2 * u - fee_pair;
  curve.beta = curve.g2 * u * (1.0 + g + g * u) - fee_pair;
  curve.kappa = fee * (2.0 - fee - curve.g2 * u);
  if (!(curve.beta > input_cost)) return plan;  // the first unit of front-run already loses
  double t_peak = infinity;
  if (curve.kappa > 0.0) {
    const double discriminant = std::sqrt(curve.alpha * curve.alpha + curve.kappa * curve.beta);
    t_peak = curve.alpha >= 0.0 ? (curve.alpha + discriminant) / curve.kappa
                                : curve.beta / (discriminant - curve.alpha);
  }

  // The largest useful front-run, and what bounds it.
  const double t_cap = max_front_run_in / x;
  double t_best = t_limit;
  plan.bound = SandwichBound::victim_limit;
  if (t_cap < t_best) {
    t_best = t_cap;
    plan.bound = SandwichBound::front_run_cap;
  }
  if (t_peak < t_best) {
    t_best = t_peak;
    plan.bound = SandwichBound::profit_peak;
  }
  if (input_cost > 0.0 && !(std::isfinite(t_best) && curve.slope(t_best) >= input_cost)) {
    // The net profit peaks inside: bracket the slope's crossing of the cost
    // (slope(0) = beta > cost) and bisect to a relative 2 eps.
    double low = 0.0;
    double high = t_best;
    if (!std::isfinite(high)) {
      // The slope decays like 1/t^2 here (kappa <= 0), so doubling soon
      // finds a point below any positive cost; 2^1000 is a safety stop.
      high = 1.0;
      for (int i = 0; i < 1000 && curve.slope(high) >= input_cost; ++i) high *= 2.0;
      if (curve.slope(high) >= input_cost) {
        plan.bound = SandwichBound::none;
        return plan;
      }
    }
    for (int i = 0; i < 2100 && high - low > 2.0 * epsilon * high; ++i) {
      const double middle = 0.5 * (low + high);
      (curve.slope(middle) >= input_cost ? low : high) = middle;
    }
    t_best = low;
    plan.bound = SandwichBound::profit_peak;
  }
  if (!std::isfinite(t_best)) {
    plan.bound = SandwichBound::none;  // unbounded: no limit, no cap, profit still rising
    return plan;
  }

  // Execute on a copy of the pool. The closed forms are exact in real
  // arithmetic; at the victim's limit rounding may leave its output a few
  // ulps short of m. d ln out_v / da = -(g / (x + g a) + 1 / (x + a + g v)),
  // so a step of eps (x + a + v) moves out_v by about an ulp: pull the
  // front-run down by such steps, doubling, until the victim's swap executes
  // (at most 2^20 - 1 steps in all, 2.3e-10 of x + a + v; in practice one or
  // two).
  double a = plan.bound == SandwichBound::front_run_cap ? max_front_run_in : x * t_best;
  const double step = epsilon * (x + a + v);
  for (int attempt = 0; attempt < 20; ++attempt) {
    if (!(a > 0.0)) break;
    Cpmm trial = pool;
    const SwapResult front = trial.swap(0, a, 0.0);
    if (!front.succeeded()) break;
    const SwapResult victim = trial.swap(0, v, m);
    if (victim.revert_reason == core::RevertReason::slippage) {
      a -= step * static_cast<double>(1u << attempt);
      continue;
    }
    if (!victim.succeeded()) break;
    const SwapResult back = trial.swap(1, front.amount_out, 0.0);
    if (!back.succeeded()) break;
    plan.front_run_in = a;
    plan.front_run_out = front.amount_out;
    plan.victim_out = victim.amount_out;
    plan.back_run_in = front.amount_out;
    plan.back_run_out = back.amount_out;
    plan.profit = back.amount_out - a;
    plan.feasible = plan.profit - input_cost * a > 0.0;
    if (!plan.feasible) plan.bound = SandwichBound::none;
    return plan;
  }
  plan.bound = SandwichBound::none;
  return plan;
}

}  // namespace defisim::markets
