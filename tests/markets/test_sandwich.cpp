// Tests of the optimal sandwich (markets/sandwich.hpp) against its derivation.
//
// Source: Zhou, Qin, Torres, Le, Gervais, "High-Frequency Trading on
// Decentralized On-Chain Exchanges", IEEE S&P 2021: the attacker's largest
// input is the one after which the victim's swap gets exactly its minimum.
// With getAmountOut out(in) = R_out g in / (R_in + g in), g = 1 - f, a pool
// of x (victim's input token) and y, a victim selling v for at least m and a
// front-run of a, the victim gets
//   out_v(a) = x y g v / ((x + g a)(x + a + g v)),
// so out_v(a) = m is the quadratic
//   g a^2 + (x (1 + g) + g^2 v) a + x (x + g v) - x y g v / m = 0,
// whose positive root is a*. (Expanding (x + g a)(x + a + g v) gives g^2 v in
// the linear coefficient: the g a times g v term.) The tests below compute it
// in long double with the textbook formula, a different route from the
// code's rationalised double one, and simulate the three swaps in long double
// from getAmountOut written out here.
//
// Profit closed form (derived in markets/sandwich.cpp, re-derived here only
// through the long double simulation): with t = a/x, u = v/x,
//   P = x t (alpha t + beta) / (g^2 t^2 + (1 + g^2 + g^3 u) t + 1),
//   alpha = g^2 (1 + u) - 1,  beta = g^2 (1 + u)(1 + g u) - 1.
//
// Tolerances. A double operation errs by <= eps/2 = 2^-53; long double (x87,
// 64-bit mantissa) by 2^-64, so the long double references are exact to the
// double level. The code's t* carries the inherent cancellation of
// out0 - m (= tolerance * out0): relative error ~ eps / tolerance; we allow
// 64 eps / tolerance (the code's a also moves down by steps of eps (x + a +
// v) until the victim's swap executes: one or two steps, i.e. ~eps / t ~
// 2 eps / tolerance relative, inside the same allowance).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "markets/cpmm.hpp"
#include "markets/sandwich.hpp"

using defisim::core::RevertReason;
using defisim::markets::Cpmm;
using defisim::markets::CpmmParams;
using defisim::markets::optimal_sandwich;
using defisim::markets::SandwichBound;
using defisim::markets::SandwichPlan;

namespace {

constexpr double eps = std::numeric_limits<double>::epsilon();
constexpr double inf = std::numeric_limits<double>::infinity();

// getAmountOut in long double.
long double amount_out_ld(long double reserve_in, long double reserve_out, long double g, long double in) {
  return reserve_out * g * in / (reserve_in + g * in);
}

// The three swaps in long double: the attacker's profit in the input token
// for a front-run a (no limits checked), and the victim's output.
struct SimulatedSandwich {
  long double profit = 0;
  long double victim_out = 0;
};
SimulatedSandwich simulate_ld(long double x, long double y, long double fee, long double v, long double a) {
  const long double g = 1.0L - fee;
  const long double out_f = amount_out_ld(x, y, g, a);
  const long double x1 = x + a, y1 = y - out_f;
  const long double out_v = amount_out_ld(x1, y1, g, v);
  const long double x2 = x1 + v, y2 = y1 - out_v;
  const long double back = amount_out_ld(y2, x2, g, out_f);
  return {back - a, out_v};
}

// The positive root of the quadratic above, textbook formula, long double.
long double front_run_root_ld(long double x, long double y, long double fee, long double v, long double m) {
  const long double g = 1.0L - fee;
  const long double a2 = g;
  const long double a1 = x * (1.0L + g) + g * g * v;
  const long double a0 = x * (x + g * v) - x * y * g * v / m;
  return (-a1 + std::sqrt(a1 * a1 - 4.0L * a2 * a0)) / (2.0L * a2);
}

// The closed-form profit, long double.
long double closed_form_profit_ld(long double x, long double fee, long double v, long double a) {
  const long double g = 1.0L - fee, t = a / x, u = v / x;
  const long double alpha = g * g * (1.0L + u) - 1.0L;
  const long double beta = g * g * (1.0L + u) * (1.0L + g * u) - 1.0L;
  return x * t * (alpha * t + beta) / (g * g * t * t + (1.0L + g * g + g * g * g * u) * t + 1.0L);
}

// The victim's minimum as a trader with this slippage tolerance quotes it
// (agents/noise_trader.cpp): the pool's quote times (1 - tolerance).
double victim_minimum(double x, double y, double fee, double v, double tolerance) {
  const Cpmm pool(CpmmParams{0, 1, x, y, fee});
  return pool.amount_out(true, v) * (1.0 - tolerance);
}

struct Case {
  double x, y, fee, v, tolerance;
};

std::vector<Case> single_swap_cases() {
  std::vector<Case> cases;
  for (const double x : {1e3, 1e6}) {
    for (const double price : {2000.0, 1e-3}) {
      for (const double size : {0.02, 0.2, 1.5}) {
        for (const double fee : {0.0, 0.0005, 0.003, 0.01}) {
          for (const double tolerance : {0.001, 0.005, 0.02, 0.1}) {
            cases.push_back({x, x * price, fee, size * x, tolerance});
          }
        }
      }
    }
  }
  return cases;
}

}  // namespace

TEST_CASE("sandwich: the front-run is the positive root of the victim's quadratic", "[markets][sandwich]") {
  std::size_t checked = 0;
  for (const Case& c : single_swap_cases()) {
    const double m = victim_minimum(c.x, c.y, c.fee, c.v, c.tolerance);
    const SandwichPlan plan = optimal_sandwich(c.x, c.y, c.fee, c.v, m);
    INFO("x " << c.x << " y " << c.y << " fee " << c.fee << " v " << c.v << " tolerance " << c.tolerance);
    REQUIRE(plan.feasible);
    // Every case here is a victim well above the smallest sandwichable size
    // (v >= 0.02 x >= 2 f x) with a tolerance far below the peak (t* ~
    // tolerance / 2 << t_peak ~ v / (f x) - 1), so the limit binds.
    REQUIRE(plan.bound == SandwichBound::victim_limit);
    const long double root = front_run_root_ld(c.x, c.y, c.fee, c.v, m);
    const double relative_tolerance = 64 * eps / c.tolerance;
    CHECK(std::fabs(static_cast<long double>(plan.front_run_in) - root) <= relative_tolerance * root);
    CHECK(std::fabs(static_cast<long double>(plan.max_front_run_in) - root) <= relative_tolerance * root);
    ++checked;
  }
  CHECK(checked == 192);
}

TEST_CASE("sandwich: after the front-run the victim gets its minimum on a real Cpmm, and 1e-9 more makes it revert",
          "[markets][sandwich]") {
  for (const Case& c : single_swap_cases()) {
    const double m = victim_minimum(c.x, c.y, c.fee, c.v, c.tolerance);
    const SandwichPlan plan = optimal_sandwich(c.x, c.y, c.fee, c.v, m);
    INFO("x " << c.x << " y " << c.y << " fee " << c.fee << " v " << c.v << " tolerance " << c.tolerance);
    REQUIRE(plan.bound == SandwichBound::victim_limit);
    {
      Cpmm pool(CpmmParams{0, 1, c.x, c.y, c.fee});
      REQUIRE(pool.swap(0, plan.front_run_in, 0.0).succeeded());
      const auto victim = pool.swap(0, c.v, m);
      REQUIRE(victim.succeeded());
      // d ln out_v / d ln a = -a (g/(x + g a) + 1/(x + a + g v)) ~ -2t ~ -tolerance:
      // an error of ~eps/tolerance in a moves out_v by ~eps, and each of the
      // code's downward steps (eps (x + a + v)) by about an ulp: 1e-12 is
      // thousands of ulps.
      CHECK(victim.amount_out >= m);
      CHECK(victim.amount_out <= m * (1 + 1e-12));
      CHECK(victim.amount_out == plan.victim_out);
    }
    {
      // 1e-9 more front-run lowers out_v by ~1e-9 * 2t >= ~1e-12 relative,
      // thousands of ulps: the victim's limit is violated.
      Cpmm pool(CpmmParams{0, 1, c.x, c.y, c.fee});
      REQUIRE(pool.swap(0, plan.front_run_in * (1 + 1e-9), 0.0).succeeded());
      CHECK(pool.swap(0, c.v, m).revert_reason == RevertReason::slippage);
    }
  }
}

TEST_CASE("sandwich: the gross profit is that of the three swaps on a Cpmm and of the closed form",
          "[markets][sandwich]") {
  for (const Case& c : single_swap_cases()) {
    const double m = victim_minimum(c.x, c.y, c.fee, c.v, c.tolerance);
    const SandwichPlan plan = optimal_sandwich(c.x, c.y, c.fee, c.v, m);
    INFO("x " << c.x << " y " << c.y << " fee " << c.fee << " v " << c.v << " tolerance " << c.tolerance);
    REQUIRE(plan.feasible);
    // The same swaps on a fresh pool: bit-identical amounts (the plan is
    // what such a pool pays).
    Cpmm pool(CpmmParams{0, 1, c.x, c.y, c.fee});
    const auto front = pool.swap(0, plan.front_run_in, 0.0);
    const auto victim = pool.swap(0, c.v, m);
    const auto back = pool.swap(1, front.amount_out, 0.0);
    REQUIRE((front.succeeded() && victim.succeeded() && back.succeeded()));
    CHECK(plan.front_run_out == front.amount_out);
    CHECK(plan.back_run_in == front.amount_out);
    CHECK(plan.back_run_out == back.amount_out);
    CHECK(plan.profit == back.amount_out - plan.front_run_in);
    CHECK(plan.profit > 0.0);
    // Against the long double simulation and the closed form: the profit is a
    // difference of amounts of size ~a + v, each exact to a few ulps, so the
    // tolerance is 16 eps of (a + v), not of the profit.
    const long double a = plan.front_run_in;
    const long double simulated = simulate_ld(c.x, c.y, c.fee, c.v, a).profit;
    const long double closed = closed_form_profit_ld(c.x, c.fee, c.v, a);
    const long double scale = 16 * eps * (a + c.v);
    CHECK(std::fabs(plan.profit - simulated) <= scale);
    // The two long double routes agree to long double rounding of the same scale.
    CHECK(std::fabs(simulated - closed) <= 1e-3L * scale);
  }
}

TEST_CASE("sandwich: no room in the victim's limit, or no profit, gives an infeasible plan", "[markets][sandwich]") {
  const double x = 1e6, y = 2e9, fee = 0.003, v = 5e4;
  const Cpmm pool(CpmmParams{0, 1, x, y, fee});
  const double out0 = pool.amount_out(true, v);
  SECTION("zero slippage tolerance: m equals the unattacked output") {
    const SandwichPlan plan = optimal_sandwich(x, y, fee, v, out0);
    CHECK_FALSE(plan.feasible);
    CHECK(plan.bound == SandwichBound::none);
    CHECK(plan.front_run_in == 0.0);
    CHECK(plan.max_front_run_in == 0.0);
  }
  SECTION("a limit the victim misses even unattacked") {
    CHECK_FALSE(optimal_sandwich(x, y, fee, v, out0 * 1.01).feasible);
  }
  SECTION("a victim too small to pay the two fees: beta = g^2 (1 + u)(1 + g u) - 1 <= 0") {
    // u = 1e-3 with f = 0.003: beta ~ 2u - 2f < 0.
    const double small = 1e3;
    CHECK_FALSE(optimal_sandwich(x, y, fee, small, pool.amount_out(true, small) * 0.5).feasible);
  }
  SECTION("a flash-loan cost above the first unit's margin beta") {
    // u = 0.05, f = 0.003: beta = g^2 (1.05)(1 + 0.05 g) - 1 ~ 0.096.
    CHECK(optimal_sandwich(x, y, fee, v, out0 * 0.5, inf, 0.09).feasible);
    CHECK_FALSE(optimal_sandwich(x, y, fee, v, out0 * 0.5, inf, 0.1).feasible);
  }
  SECTION("invalid inputs") {
    const double nan = std::nan("");
    CHECK_FALSE(optimal_sandwich(0.0, y, fee, v, 0.0, 1e5).feasible);
    CHECK_FALSE(optimal_sandwich(x, -y, fee, v, 0.0, 1e5).feasible);
    CHECK_FALSE(optimal_sandwich(x, y, 1.0, v, 0.0, 1e5).feasible);
    CHECK_FALSE(optimal_sandwich(x, y, nan, v, 0.0, 1e5).feasible);
    CHECK_FALSE(optimal_sandwich(x, y, fee, 0.0, 0.0, 1e5).feasible);
    CHECK_FALSE(optimal_sandwich(x, y, fee, inf, 0.0, 1e5).feasible);
    CHECK_FALSE(optimal_sandwich(x, y, fee, v, nan, 1e5).feasible);
    CHECK_FALSE(optimal_sandwich(x, y, fee, v, -1.0, 1e5).feasible);
    CHECK_FALSE(optimal_sandwich(x, y, fee, v, 0.0, nan).feasible);
    CHECK_FALSE(optimal_sandwich(x, y, fee, v, 0.0, 0.0).feasible);
    CHECK_FALSE(optimal_sandwich(x, y, fee, v, 0.0, 1e5, -0.1).feasible);
    CHECK_FALSE(optimal_sandwich(x, y, fee, v, 0.0, 1e5, nan).feasible);
  }
}

TEST_CASE("sandwich: a victim without a limit is bounded by the cap or the profit peak", "[markets][sandwich]") {
  const double x = 1e6, y = 2e9, v = 2e4;
  SECTION("the cap binds below the peak") {
    // u = 0.02, f = 0.003: t_peak ~ u / f - 1 ~ 5.7 (a ~ 5.7e6) > the cap 10 v = 2e5.
    const SandwichPlan plan = optimal_sandwich(x, y, 0.003, v, 0.0, 10 * v);
    REQUIRE(plan.feasible);
    CHECK(plan.bound == SandwichBound::front_run_cap);
    CHECK(plan.front_run_in == 10 * v);
    CHECK(plan.max_front_run_in == inf);
  }
  SECTION("without a cap the peak binds: the root of beta + 2 alpha t - kappa t^2") {
    const double fee = 0.003, g = 1 - fee, u = v / x;
    const SandwichPlan plan = optimal_sandwich(x, y, fee, v, 0.0);
    REQUIRE(plan.feasible);
    CHECK(plan.bound == SandwichBound::profit_peak);
    // The derivative's numerator, from the closed form above by hand:
    // dP/da = (beta + 2 alpha t - kappa t^2) / D^2, kappa = 1 - g^2 - g^2 f u.
    const long double gl = g, ul = u;
    const long double alpha = gl * gl * (1 + ul) - 1, beta = gl * gl * (1 + ul) * (1 + gl * ul) - 1;
    const long double kappa = 1 - gl * gl - gl * gl * fee * ul;
    const long double t_peak = (alpha + std::sqrt(alpha * alpha + kappa * beta)) / kappa;
    // 1 - g^2 in long double loses ~eps_ld / f; the code's own peak is exact
    // to ~10 eps: 1e-12 relative.
    CHECK(std::fabs(plan.front_run_in / x - t_peak) <= 1e-12L * t_peak);
  }
  SECTION("no fee and no cap: the profit rises for ever, no finite optimum") {
    CHECK_FALSE(optimal_sandwich(x, y, 0.0, v, 0.0).feasible);
    CHECK(optimal_sandwich(x, y, 0.0, v, 0.0, 10 * v).bound == SandwichBound::front_run_cap);
  }
}

TEST_CASE("sandwich: profit rises up to the plan's front-run and not after it, on a grid", "[markets][sandwich]") {
  // Property: the plan maximises the profit over [0, min(a*, cap)]. Checked
  // with the long double simulation at 24 points each side. Tolerance: the
  // simulated profits are exact to ~1e-18 of (a + v); 1e-15 of it separates
  // rounding from any real decrease (which, near a binding limit, is of the
  // order of the fee times a).
  std::size_t by_bound[4] = {0, 0, 0, 0};
  for (const double x : {1e2, 1e5, 1e8}) {
    for (const double fee : {0.0, 0.0005, 0.003, 0.01, 0.05, 0.3}) {
      const double g = 1 - fee;
      // The smallest sandwichable victim: beta = 0, i.e. g^3 u^2 + g^2 (1 + g) u - f (2 - f) = 0.
      const double u_min =
          fee == 0 ? 0.0 : (-(1 + g) + std::sqrt((1 + g) * (1 + g) + 4 * fee * (2 - fee) / g)) / (2 * g);
      for (const double u : {u_min * 1.01, u_min * 1.1, u_min * 1.5, u_min * 3, 0.01, 0.1, 1.0, 3.0}) {
        if (!(u > 0)) continue;
        for (const double tolerance : {0.001, 0.01, 0.1, 0.3, 0.6}) {
          for (const double input_cost : {0.0, 0.0009}) {
           for (const double cap : {inf, 0.05 * x}) {
            const double v = u * x, y = 3 * x;
            const double m = victim_minimum(x, y, fee, v, tolerance);
            const SandwichPlan plan = optimal_sandwich(x, y, fee, v, m, cap, input_cost);
            INFO("x " << x << " fee " << fee << " u " << u << " tolerance " << tolerance << " cost " << input_cost
                      << " cap " << cap);
            ++by_bound[static_cast<int>(plan.bound)];
            const long double upper = std::fmin(plan.max_front_run_in, cap);
            auto net = [&](long double a) { return simulate_ld(x, y, fee, v, a).profit - input_cost * a; };
            if (!plan.feasible) {
              // Nothing pays: the net profit is <= 0 on (0, upper] (up to rounding).
              for (int k = 1; k <= 24; ++k) CHECK(net(upper * k / 24) <= 1e-15L * (upper + v));
              continue;
            }
            const long double a = plan.front_run_in;
            const long double tolerance_abs = 1e-15L * (a + v);
            long double previous = 0;
            for (int k = 1; k <= 24; ++k) {
              const long double current = net(a * k / 24);
              CHECK(current >= previous - tolerance_abs);
              previous = current;
            }
            // Beyond a victim-limit plan the victim's swap reverts (within
            // the few ulps by which the code keeps it executing, a rise of
            // the profit there is not available).
            if (plan.bound == SandwichBound::victim_limit) continue;
            const long double best = net(a);
            for (int k = 1; k <= 24; ++k) {
              const long double beyond = a + (upper - a) * k / 24;
              if (beyond > a) CHECK(net(beyond) <= best + 1e-15L * (beyond + v));
            }
           }
          }
        }
      }
    }
  }
  // Every regime occurs on the grid.
  CHECK(by_bound[static_cast<int>(SandwichBound::none)] > 0);
  CHECK(by_bound[static_cast<int>(SandwichBound::victim_limit)] > 0);
  CHECK(by_bound[static_cast<int>(SandwichBound::profit_peak)] > 0);
  CHECK(by_bound[static_cast<int>(SandwichBound::front_run_cap)] > 0);
}
