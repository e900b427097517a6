// Tests of the lending market's interest (markets/lending.hpp): the kinked
// rate curve and the accrual of the borrow and supply indices.
//
// Sources:
//  - Aave v2 DefaultReserveInterestRateStrategy.calculateInterestRates:
//      u <= U_opt: base + slope1 u / U_opt;  u > U_opt: base + slope1 + slope2 (u - U_opt) / (1 - U_opt).
//  - Compound v2 JumpRateModelV2.getBorrowRate:
//      u <= kink: u multiplier / kink + base;  u > kink: multiplier + base + (u - kink) jumpMultiplier
//    (multiplierPerBlock = multiplierPerYear / (blocksPerYear kink)), i.e.
//    slope_above_kink = jumpMultiplier (1 - kink) in the header's form.
//  - The header's compounding: total debt D(t) = D0 (1 + r / seconds_per_year) ^ t
//    (as Aave's MathUtils.calculateCompoundedInterest, exactly rather than
//    by its 3-term binomial expansion); reserve_factor of the interest to
//    reserves (Aave ReserveLogic._mintToTreasury, Compound CToken.accrueInterest).
//
// Tolerances: the rate curve is 3-4 double operations: 1e-15. The closed
// form is evaluated in long double (expl(t log1pl(r / SPY))); the market
// computes exp_det(t log1p(r / SPY)) in double, within a few ulps of it:
// 1e-13 relative. Stepwise accrual multiplies one growth factor per step,
// each rounded: 7200 steps, ~2 ulps each: 1e-11.
#include <catch2/catch.hpp>

#include <cmath>

#include "tests/markets/test_lending_support.hpp"

using namespace lending_test;

namespace {

long double closed_form_growth(double rate, double seconds) {
  return std::exp(static_cast<long double>(seconds) *
                   std::log1p(static_cast<long double>(rate) / static_cast<long double>(year_seconds)));
}

// One borrower with 10 ETH at 2000 who borrows `borrowed` USDC at t = 0
// from a genesis supply of 1,000,000 USDC.
Lending market_with_borrow(InterestRateCurve curve, double reserve_factor, double borrowed) {
  LendingParams params = aave_params();
  params.assets[1].rate = curve;
  params.assets[1].reserve_factor = reserve_factor;
  Lending market(params, venue);
  const std::vector<double> prices = prices_at(1'000'000.0);  // ample collateral
  const PositionId position = market.open_position(alice).position;
  REQUIRE(market.supply(position, eth, 10.0, 0.0).succeeded());
  REQUIRE(market.borrow(position, usdc, borrowed, prices, 0.0).succeeded());
  return market;
}

}  // namespace

TEST_CASE("lending: kinked rate curve, Aave v2 DefaultReserveInterestRateStrategy values", "[lending]") {
  // Aave v2 strategy: base 0, slope1 4%, slope2 75%, U_opt 80%.
  InterestRateCurve curve;
  curve.base_rate = 0.0;
  curve.slope_below_kink = 0.04;
  curve.slope_above_kink = 0.75;
  curve.optimal_utilisation = 0.8;
  CHECK(curve.borrow_rate(0.0) == 0.0);
  // 0.04 x 0.4 / 0.8 = 0.02
  CHECK(curve.borrow_rate(0.4) == Approx(0.02).epsilon(1e-15));
  // at the kink: base + slope1 = 0.04
  CHECK(curve.borrow_rate(0.8) == Approx(0.04).epsilon(1e-15));
  // 0.04 + 0.75 x (0.9 - 0.8) / 0.2 = 0.415
  CHECK(curve.borrow_rate(0.9) == Approx(0.415).epsilon(1e-15));
  // 0.04 + 0.75 = 0.79 at full utilisation
  CHECK(curve.borrow_rate(1.0) == Approx(0.79).epsilon(1e-15));
  // A base rate shifts every point: 0.01 + 0.02 = 0.03.
  curve.base_rate = 0.01;
  CHECK(curve.borrow_rate(0.4) == Approx(0.03).epsilon(1e-15));
}

TEST_CASE("lending: kinked rate curve reproduces Compound JumpRateModelV2", "[lending]") {
  // cUSDC's 2021 model: baseRatePerYear 0, multiplierPerYear 0.04,
  // jumpMultiplierPerYear 1.09, kink 0.8. Compound: u = 0.9 ->
  // 0.04 + (0.9 - 0.8) x 1.09 = 0.149; u = 0.5 -> 0.5 x 0.04 / 0.8 = 0.025.
  InterestRateCurve curve;
  curve.base_rate = 0.0;
  curve.slope_below_kink = 0.04;
  curve.slope_above_kink = 1.09 * (1.0 - 0.8);
  curve.optimal_utilisation = 0.8;
  CHECK(curve.borrow_rate(0.9) == Approx(0.149).epsilon(1e-15));
  CHECK(curve.borrow_rate(0.5) == Approx(0.025).epsilon(1e-15));
}

TEST_CASE("lending: the market's rate is the curve at its utilisation", "[lending]") {
  InterestRateCurve curve;
  curve.slope_below_kink = 0.04;
  curve.slope_above_kink = 0.75;
  curve.optimal_utilisation = 0.8;
  const Lending market = market_with_borrow(curve, 0.1, 900'000.0);
  // u = 900,000 / (100,000 cash + 900,000 debt) = 0.9 -> 0.415 (above).
  CHECK(market.utilisation(usdc, 0.0) == Approx(0.9).epsilon(1e-15));
  CHECK(market.borrow_rate(usdc, 0.0) == Approx(0.415).epsilon(1e-15));
  CHECK(market.borrow_rate(eth, 0.0) == 0.0);  // nothing borrowed
}

TEST_CASE("lending: interest accrual matches the closed form D0 (1 + r/SPY)^t with a flat curve", "[lending]") {
  const double rate = 0.05;
  const double borrowed = 500'000.0;
  const double reserve_factor = 0.1;
  Lending market = market_with_borrow(flat_rate(rate), reserve_factor, borrowed);
  const double supplied = 1'000'000.0;

  SECTION("projected over a year, without writing") {
    const long double growth = closed_form_growth(rate, year_seconds);
    const double expected_debt = static_cast<double>(borrowed * growth);
    CHECK(relatively_close(market.total_debt(usdc, year_seconds), expected_debt, 1e-13));
    CHECK(relatively_close(market.borrow_index(usdc, year_seconds), static_cast<double>(growth), 1e-13));
    CHECK(relatively_close(market.debt(1, usdc, year_seconds), expected_debt, 1e-13));
    // The supply side gets (1 - reserve factor) of the interest, the
    // reserves the rest: total supply = S0 + 0.9 I, reserves = 0.1 I.
    const double interest = expected_debt - borrowed;
    CHECK(relatively_close(market.total_supply(usdc, year_seconds), supplied + (1.0 - reserve_factor) * interest,
                           1e-13));
    CHECK(relatively_close(market.reserves(usdc, year_seconds), reserve_factor * interest, 1e-11));
    CHECK(relatively_close(market.collateral(0, usdc, year_seconds), supplied + (1.0 - reserve_factor) * interest,
                           1e-13));
    // A query does not write: nothing accrued at t = 0.
    CHECK(market.borrow_index(usdc, 0.0) == 1.0);
  }

  SECTION("accrued block by block for a day") {
    const double step_seconds = 12.0;
    const int steps = 7200;
    for (int step = 1; step <= steps; ++step) market.accrue(step * step_seconds);
    const double day = steps * step_seconds;
    const double expected_debt = static_cast<double>(borrowed * closed_form_growth(rate, day));
    CHECK(relatively_close(market.total_debt(usdc, day), expected_debt, 1e-11));
    const double interest = expected_debt - borrowed;
    CHECK(relatively_close(market.total_supply(usdc, day) - supplied, (1.0 - reserve_factor) * interest, 1e-8));
    CHECK(relatively_close(market.reserves(usdc, day), reserve_factor * interest, 1e-8));
    // Each step rounds a few terms of size 1e6 (~1e-10 each): 7200 steps
    // stay far below 1e-12 of the pool.
    CHECK(std::abs(identity_gap(market, usdc, day)) <= 1e-12 * supplied);
  }

  SECTION("repaying after a year takes the compounded debt") {
    const double owed = static_cast<double>(borrowed * closed_form_growth(rate, year_seconds));
    const LendingResult repaid = market.repay(1, usdc, inf, year_seconds);
    REQUIRE(repaid.succeeded());
    CHECK(relatively_close(repaid.amount, owed, 1e-13));
    CHECK(market.debt(1, usdc, year_seconds) == 0.0);
    CHECK(market.total_debt(usdc, year_seconds) == 0.0);
    // Cash = 1,000,000 - 500,000 + owed = supply + reserves.
    CHECK(relatively_close(market.cash(usdc), supplied - borrowed + owed, 1e-15));
    CHECK(std::abs(identity_gap(market, usdc, year_seconds)) <= 1e-14 * supplied);
  }
}

TEST_CASE("lending: the rate of an interval is the rate of its starting utilisation", "[lending]") {
  // Kinked curve, u0 = 0.5 -> r0 = 0.04 x 0.5 / 0.8 = 0.025. One projection
  // over a year uses r0 throughout (utilisation rises as debt grows, but only
  // the next touch sees it).
  InterestRateCurve curve;
  curve.slope_below_kink = 0.04;
  curve.slope_above_kink = 0.75;
  curve.optimal_utilisation = 0.8;
  const Lending market = market_with_borrow(curve, 0.1, 500'000.0);
  const double expected = static_cast<double>(500'000.0L * closed_form_growth(0.025, year_seconds));
  CHECK(relatively_close(market.total_debt(usdc, year_seconds), expected, 1e-13));
}
