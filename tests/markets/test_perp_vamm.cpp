// Tests of the virtual-AMM perpetual (markets/perp_vamm.hpp) against values
// worked out by hand from Perpetual Protocol v1's contracts
// (perpetual-protocol/perpetual-protocol, src/Amm.sol and
// src/ClearingHouse.sol):
//   Amm.getInputPrice:   base for quote n: B - k / (Q +- n)
//   Amm.getOutputPrice:  quote for base b: |Q - k / (B -+ b)|
//   Amm.getSpotPrice:    Q / B
//   Amm.calcFee / ClearingHouse.transferFee: notional x (toll, spread)
//   Amm.settleFunding:   premium fraction = (mark TWAP - index) x period / 1 day
//   ClearingHouse.calcRemainMarginWithFundingPayment: funding = (cumulative -
//                        snapshot) x signed size; remain = margin + PnL - funding
//   ClearingHouse._getMarginRatio: (remain - bad debt) / position notional
//   ClearingHouse.liquidate: full: liquidator gets notional x feeRatio / 2,
//                        the fund the margin left, bad debt from the fund;
//                        partial: ratio of the size, penalty notional x
//                        feeRatio split half and half
//   ClearingHouse.payFunding: premium fraction x net size to the fund
// The worked examples use Q = 10,000, B = 100 (k = 1e6, mark 100), so that a
// 10x long of margin 100 (notional 1,000) receives 100 / 11 base.
//
// Tolerances: the closed forms take a handful of operations, so 1e-12
// relative (as test_cpmm.cpp); sums over random sequences of thousands of
// operations use 1e-9 relative to the amounts involved.
#include <catch2/catch.hpp>

#include <malloc.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "markets/perp_vamm.hpp"
#include "tests/markets/open_ids_check.hpp"

using defisim::core::AgentIndex;
using defisim::core::RevertReason;
using defisim::markets::PerpSide;
using defisim::markets::Vamm;
using defisim::markets::VammParams;
using defisim::markets::VammPositionId;

namespace {

constexpr AgentIndex alice = 1;
constexpr AgentIndex bob = 2;
constexpr AgentIndex carol = 3;
constexpr AgentIndex keeper = 9;
constexpr double rel = 1e-12;
constexpr double k_example = 10'000.0 * 100.0;

VammParams example_params() {
  VammParams params;
  params.quote_reserve = 10'000.0;
  params.base_reserve = 100.0;
  params.spread_ratio = 0.001;
  params.toll_ratio = 0.0;
  params.initial_margin_ratio = 0.1;
  params.maintenance_margin_ratio = 0.0625;
  params.liquidation_fee_ratio = 0.025;
  params.partial_liquidation_ratio = 0.0;
  params.funding_period_seconds = 3600.0;
  params.initial_insurance_fund = 1000.0;
  params.max_positions = 64;
  return params;
}

// Everything a revert must leave as it was.
bool same_state(const Vamm& a, const Vamm& b) {
  if (a.quote_reserve() != b.quote_reserve() || a.base_reserve() != b.base_reserve() ||
      a.vault() != b.vault() || a.insurance_fund() != b.insurance_fund() || a.toll_pool() != b.toll_pool() ||
      a.tokens_in() != b.tokens_in() || a.tokens_out() != b.tokens_out() || a.bad_debt() != b.bad_debt() ||
      a.uncovered_bad_debt() != b.uncovered_bad_debt() || a.prepaid_bad_debt() != b.prepaid_bad_debt() ||
      a.realized_trading_pnl() != b.realized_trading_pnl() ||
      a.open_interest_long_base() != b.open_interest_long_base() ||
      a.open_interest_short_base() != b.open_interest_short_base() ||
      a.cumulative_premium_fraction() != b.cumulative_premium_fraction() ||
      a.next_funding_seconds() != b.next_funding_seconds() || a.mark_twap(1e9) != b.mark_twap(1e9) ||
      a.pool_pnl().fees != b.pool_pnl().fees || a.pool_pnl().trader_pnl != b.pool_pnl().trader_pnl ||
      a.position_count() != b.position_count()) {
    return false;
  }
  for (VammPositionId id = 0; id < a.position_count(); ++id) {
    const auto pa = a.position(id);
    const auto pb = b.position(id);
    if (pa.open != pb.open || pa.owner != pb.owner || pa.side != pb.side || pa.size_base != pb.size_base ||
        pa.open_notional != pb.open_notional || pa.margin != pb.margin ||
        pa.premium_fraction_snapshot != pb.premium_fraction_snapshot) {
      return false;
    }
  }
  return true;
}

// The quote reserve Q1 (before the position closes) at which a long of
// `size` base has exit notional E: E = Q1 b / (k / Q1 + b), i.e.
// b Q1^2 - E b Q1 - E k = 0, the positive root.
double quote_reserve_for_exit(double exit, double size, double k) {
  return (exit + std::sqrt(exit * exit + 4.0 * exit * k / size)) / 2.0;
}

}  // namespace

TEST_CASE("vamm: a long's base from x y = k, the new mark and the fee", "[perp][vamm]") {
  Vamm market(example_params());
  CHECK(market.mark_price() == 100.0);  // Q / B = 10,000 / 100
  const auto open = market.open_position(alice, PerpSide::long_, 100.0, 10.0, 0.0, 0.0);
  REQUIRE(open.succeeded());
  // getInputPrice: notional 1,000; B - k / (Q + n) = 100 - 1e6 / 11,000 = 100 / 11.
  CHECK(open.notional == 1000.0);
  CHECK(open.size_base == Approx(100.0 / 11.0).epsilon(rel));
  // Mark Q' / B' = 11,000 / (1e6 / 11,000) = 121.
  CHECK(market.mark_price() == Approx(121.0).epsilon(rel));
  // transferFee: spread 0.001 x 1,000 = 1 to the insurance fund.
  CHECK(open.fee == Approx(1.0).epsilon(rel));
  CHECK(market.insurance_fund() == Approx(1001.0).epsilon(rel));
  CHECK(market.vault() == 100.0);
  CHECK(market.open_interest_long_base() == Approx(100.0 / 11.0).epsilon(rel));
  // Right after opening, closing gives the notional back: PnL 0, margin ratio
  // = margin / notional = 0.1.
  CHECK(market.unrealized_pnl(open.position) == Approx(0.0).margin(1e-9));
  CHECK(market.margin_ratio(open.position) == Approx(0.1).epsilon(1e-12));
}

TEST_CASE("vamm: a short's base owed and its mark", "[perp][vamm]") {
  Vamm market(example_params());
  const auto open = market.open_position(bob, PerpSide::short_, 100.0, 10.0, 0.0, 0.0);
  REQUIRE(open.succeeded());
  // getInputPrice REMOVE_FROM_AMM: k / (Q - n) - B = 1e6 / 9,000 - 100 = 100 / 9.
  CHECK(open.size_base == Approx(100.0 / 9.0).epsilon(rel));
  // Mark 9,000 / (1e6 / 9,000) = 81.
  CHECK(market.mark_price() == Approx(81.0).epsilon(rel));
  CHECK(market.open_interest_short_base() == Approx(100.0 / 9.0).epsilon(rel));
}

TEST_CASE("vamm: close after another trader's trade moves the mark", "[perp][vamm]") {
  Vamm market(example_params());
  const auto a = market.open_position(alice, PerpSide::long_, 100.0, 10.0, 0.0, 0.0);
  const auto b = market.open_position(bob, PerpSide::long_, 250.0, 4.0, 0.0, 10.0);
  REQUIRE(a.succeeded());
  REQUIRE(b.succeeded());
  // Bob: Q 11,000 -> 12,000, B 1e6/11,000 -> 1e6/12,000; base 250 / 33.
  CHECK(b.size_base == Approx(250.0 / 33.0).epsilon(rel));
  // Alice sells 100/11 base: B = 250/3 + 100/11 = 3050/33, Q = 33e6 / 3050;
  // exit = 12,000 - 33e6 / 3050 = 3.6e6 / 3050 = 1180.327868852459...
  const double exit_a = 3.6e6 / 3050.0;
  const auto close_a = market.close_position(alice, a.position, 0.0, 20.0);
  REQUIRE(close_a.succeeded());
  CHECK(close_a.exit_notional == Approx(exit_a).epsilon(rel));
  CHECK(close_a.realized_pnl == Approx(exit_a - 1000.0).epsilon(rel));
  CHECK(close_a.payout == Approx(100.0 + exit_a - 1000.0).epsilon(rel));
  CHECK(close_a.fee == Approx(0.001 * exit_a).epsilon(rel));
  // Bob sells 250/33: B back to 100, Q back to 10,000; his exit is
  // 33e6/3050 - 10,000 = 1000 - (exit_a - 1000): he loses what Alice won.
  const auto close_b = market.close_position(bob, b.position, 0.0, 30.0);
  REQUIRE(close_b.succeeded());
  CHECK(close_b.realized_pnl == Approx(-(exit_a - 1000.0)).epsilon(1e-10));
  CHECK(market.quote_reserve() == Approx(10'000.0).epsilon(rel));
  CHECK(market.base_reserve() == Approx(100.0).epsilon(rel));
  CHECK(market.realized_trading_pnl() == Approx(0.0).margin(1e-9));
  // Fees: 1 + 1 at open, 0.001 x (exit_a + exit_b) at close, all to the fund.
  const double exit_b = 2000.0 - exit_a;
  CHECK(market.insurance_fund() == Approx(1000.0 + 2.0 + 0.001 * (exit_a + exit_b)).epsilon(rel));
  CHECK(close_b.payout == Approx(250.0 - (exit_a - 1000.0)).epsilon(1e-10));
  // Real tokens: margins 350 in, payouts 350 out (zero-sum), fees in.
  CHECK(market.vault() == Approx(0.0).margin(1e-9));
  CHECK(market.pool_pnl().fees == Approx(4.0).epsilon(rel));
  CHECK(market.pool_pnl().trader_pnl == 0.0);
}

TEST_CASE("vamm: funding over one period for a given premium", "[perp][vamm]") {
  Vamm market(example_params());
  const auto a = market.open_position(alice, PerpSide::long_, 100.0, 10.0, 0.0, 0.0);
  REQUIRE(a.succeeded());
  // Too early: reverts, changes nothing.
  const Vamm before = market;
  CHECK(market.settle_funding(110.0, 3599.0).revert_reason == RevertReason::unsupported);
  CHECK(same_state(market, before));
  // Mark 121 all period, index 110: premium 11; premium fraction
  // 11 x 3600 / 86400 = 11/24 per base; rate (11/24) / 110 = 1/240.
  const auto funding = market.settle_funding(110.0, 3600.0);
  REQUIRE(funding.succeeded());
  CHECK(funding.mark_twap == Approx(121.0).epsilon(rel));
  CHECK(funding.premium_fraction == Approx(11.0 / 24.0).epsilon(rel));
  CHECK(funding.funding_rate == Approx(1.0 / 240.0).epsilon(rel));
  // Alice (long 100/11) owes 11/24 x 100/11 = 100/24; the net position is
  // hers alone, so the fund receives the same amount now (payFunding).
  CHECK(market.funding_owed(a.position) == Approx(100.0 / 24.0).epsilon(rel));
  CHECK(funding.to_insurance_fund == Approx(100.0 / 24.0).epsilon(rel));
  CHECK(market.insurance_fund() == Approx(1001.0 + 100.0 / 24.0).epsilon(rel));
  CHECK(market.next_funding_seconds() == 7200.0);
  // Closing now (mark unchanged, PnL 0) pays margin - funding.
  const auto close = market.close_position(alice, a.position, 0.0, 3600.0);
  REQUIRE(close.succeeded());
  CHECK(close.funding_paid == Approx(100.0 / 24.0).epsilon(rel));
  CHECK(close.payout == Approx(100.0 - 100.0 / 24.0).epsilon(1e-10));
  CHECK(market.vault() == Approx(0.0).margin(1e-9));
}

TEST_CASE("vamm: the mark TWAP is the time average since the last settlement", "[perp][vamm]") {
  Vamm market(example_params());
  // Mark 100 for 1,800 s, then 121 for 1,800 s: TWAP 110.5; index 110:
  // premium 0.5, fraction 0.5 / 24.
  REQUIRE(market.open_position(alice, PerpSide::long_, 100.0, 10.0, 0.0, 1800.0).succeeded());
  const auto funding = market.settle_funding(110.0, 3600.0);
  REQUIRE(funding.succeeded());
  CHECK(funding.mark_twap == Approx(110.5).epsilon(rel));
  CHECK(funding.premium_fraction == Approx(0.5 / 24.0).epsilon(rel));
  // The next period starts afresh at 121.
  CHECK(market.mark_twap(5000.0) == Approx(121.0).epsilon(rel));
  // A short pays negative funding: shorts receive when the premium is
  // negative and the fund pays the imbalance (net long, index above mark).
  const auto funding2 = market.settle_funding(145.0, 7200.0);
  REQUIRE(funding2.succeeded());
  CHECK(funding2.premium_fraction == Approx(-24.0 / 24.0).epsilon(rel));
  CHECK(funding2.to_insurance_fund == Approx(-100.0 / 11.0).epsilon(rel));
}

TEST_CASE("vamm: liquidation exactly at the maintenance boundary, its fee and the fund", "[perp][vamm]") {
  // Alice long 10x (margin 100, notional 1,000, size b = 100/11). Her margin
  // ratio is (100 + E - 1000) / E with E her exit notional; it equals 6.25%
  // at E = 900 / 0.9375 = 960. A short moves Q to Q1(E).
  const double b = 100.0 / 11.0;
  const double boundary_exit = 900.0 / 0.9375;
  for (const double nudge : {1e-7, -1e-7}) {
    Vamm market(example_params());
    const auto a = market.open_position(alice, PerpSide::long_, 100.0, 10.0, 0.0, 0.0);
    const double target_exit = boundary_exit * (1.0 + nudge);
    const double short_notional = 11'000.0 - quote_reserve_for_exit(target_exit, b, k_example);
    const auto s = market.open_position(bob, PerpSide::short_, short_notional / 5.0, 5.0, 0.0, 0.0);
    REQUIRE(s.succeeded());
    const double exit = market.exit_notional(PerpSide::long_, b);
    CHECK(exit == Approx(target_exit).epsilon(1e-10));
    CHECK(market.margin_ratio(a.position) == Approx((100.0 + exit - 1000.0) / exit).epsilon(1e-10));
    const Vamm before = market;
    const auto liquidation = market.liquidate(a.position, market.mark_price(), 10.0);
    if (nudge > 0.0) {
      // Just above 6.25%: healthy, nothing changes.
      CHECK(liquidation.revert_reason == RevertReason::healthy);
      CHECK(same_state(market, before));
      continue;
    }
    // Just below: the whole position closes at E; the liquidator receives
    // E x 0.025 / 2 = 12 (at E = 960); the fund the margin left,
    // 100 + E - 1000 - E x 0.0125 (= 48 at E = 960); no bad debt.
    REQUIRE(liquidation.succeeded());
    CHECK_FALSE(liquidation.partial);
    CHECK(liquidation.exit_notional == Approx(exit).epsilon(rel));
    CHECK(liquidation.fee_to_liquidator == Approx(exit * 0.0125).epsilon(rel));
    CHECK(liquidation.fee_to_liquidator == Approx(12.0).epsilon(1e-6));
    CHECK(liquidation.to_insurance_fund == Approx(100.0 + exit - 1000.0 - exit * 0.0125).epsilon(1e-10));
    CHECK(liquidation.bad_debt == 0.0);
    // Fund: 1,000 + fees 1 (Alice) + 0.001 x Bob's notional + the margin left.
    CHECK(market.insurance_fund() ==
          Approx(1000.0 + 1.0 + 0.001 * short_notional + liquidation.to_insurance_fund).epsilon(1e-10));
    CHECK_FALSE(market.position(a.position).open);
  }
}

TEST_CASE("vamm: bad debt is paid by the insurance fund, then recorded when it is empty", "[perp][vamm]") {
  // A short moves Alice's exit notional to E = 850: remain = 100 + 850 -
  // 1000 = -50; the liquidator still receives 850 x 0.0125 = 10.625, so the
  // bad debt is 60.625 (liquidate: liquidationBadDebt = fee - remain margin).
  const double b = 100.0 / 11.0;
  const double exit_target = 850.0;
  for (const double fund : {1000.0, 0.0, 30.0}) {
    VammParams params = example_params();
    params.initial_insurance_fund = fund;
    params.spread_ratio = 0.0;  // the fund holds exactly `fund`
    Vamm market(params);
    const auto a = market.open_position(alice, PerpSide::long_, 100.0, 10.0, 0.0, 0.0);
    const double short_notional = 11'000.0 - quote_reserve_for_exit(exit_target, b, k_example);
    REQUIRE(market.open_position(bob, PerpSide::short_, short_notional / 4.0, 4.0, 0.0, 0.0).succeeded());
    // An underwater position cannot be closed by its owner.
    CHECK(market.close_position(alice, a.position, 0.0, 5.0).revert_reason == RevertReason::unhealthy);
    const auto liquidation = market.liquidate(a.position, 100.0, 5.0);
    REQUIRE(liquidation.succeeded());
    CHECK(liquidation.exit_notional == Approx(exit_target).epsilon(1e-10));
    CHECK(liquidation.fee_to_liquidator == Approx(10.625).epsilon(1e-10));
    CHECK(liquidation.bad_debt == Approx(60.625).epsilon(1e-10));
    CHECK(liquidation.to_insurance_fund == 0.0);
    const double covered = std::min(fund, 60.625);
    CHECK(liquidation.bad_debt_covered == Approx(covered).epsilon(1e-10));
    CHECK(liquidation.bad_debt_uncovered == Approx(60.625 - covered).margin(1e-9));
    CHECK(market.insurance_fund() == Approx(fund - covered).margin(1e-9));
    CHECK(market.uncovered_bad_debt() == Approx(60.625 - covered).margin(1e-9));
    CHECK(market.bad_debt() == Approx(60.625).epsilon(1e-10));
    CHECK(market.pool_pnl().trader_pnl == Approx(-60.625).epsilon(1e-10));
    CHECK(market.pool_value() - fund == Approx(market.pool_pnl().total()).margin(1e-9));
    // Tokens: Alice's 100 and Bob's margin in, the liquidator's fee out.
    CHECK(market.holdings() == Approx(fund + 100.0 + short_notional / 4.0 - 10.625).epsilon(1e-12));
  }
}

TEST_CASE("vamm: partial liquidation closes a fraction and splits the penalty", "[perp][vamm]") {
  VammParams params = example_params();
  params.partial_liquidation_ratio = 0.25;
  Vamm market(params);
  const double b = 100.0 / 11.0;
  const auto a = market.open_position(alice, PerpSide::long_, 100.0, 10.0, 0.0, 0.0);
  const double exit_target = 950.0;  // ratio (100 - 50) / 950 = 5.26%: below 6.25%, above 2.5%
  const double q1 = quote_reserve_for_exit(exit_target, b, k_example);
  REQUIRE(market.open_position(bob, PerpSide::short_, (11'000.0 - q1) / 5.0, 5.0, 0.0, 0.0).succeeded());
  const double full_exit = market.exit_notional(PerpSide::long_, b);
  REQUIRE(full_exit == Approx(exit_target).epsilon(1e-10));
  const double b1 = market.base_reserve();
  const double qq = market.quote_reserve();
  const auto liquidation = market.liquidate(a.position, 100.0, 5.0);
  REQUIRE(liquidation.succeeded());
  CHECK(liquidation.partial);
  // Closes b / 4: exit Q1 (b/4) / (B1 + b/4); realises a quarter of the
  // unrealised -50; penalty 2.5% of that exit, half to each.
  const double exit = qq * (b / 4.0) / (b1 + b / 4.0);
  CHECK(liquidation.size_closed_base == Approx(b / 4.0).epsilon(rel));
  CHECK(liquidation.exit_notional == Approx(exit).epsilon(rel));
  CHECK(liquidation.realized_pnl == Approx((full_exit - 1000.0) / 4.0).epsilon(1e-9));
  CHECK(liquidation.fee_to_liquidator == Approx(exit * 0.0125).epsilon(rel));
  CHECK(liquidation.to_insurance_fund == Approx(exit * 0.0125).epsilon(rel));
  const auto left = market.position(a.position);
  CHECK(left.open);
  CHECK(left.size_base == Approx(0.75 * b).epsilon(rel));
  CHECK(left.margin == Approx(100.0 + (full_exit - 1000.0) / 4.0 - exit * 0.025).epsilon(1e-10));
  // Open notional of the rest: its exit value minus the unrealised PnL kept.
  CHECK(left.open_notional == Approx((full_exit - exit) - 0.75 * (full_exit - 1000.0)).epsilon(1e-10));
  CHECK(market.unrealized_pnl(a.position) == Approx(0.75 * (full_exit - 1000.0)).epsilon(1e-9));
}

TEST_CASE("vamm: margin can be added, and removed only against free collateral", "[perp][vamm]") {
  Vamm market(example_params());
  const auto a = market.open_position(alice, PerpSide::long_, 100.0, 5.0, 0.0, 0.0);  // notional 500
  REQUIRE(a.succeeded());
  // Free collateral: margin - 0.1 x 500 (PnL 0 up to rounding): 50 removable.
  Vamm before = market;
  CHECK(market.remove_margin(alice, a.position, 50.1).revert_reason == RevertReason::unhealthy);
  CHECK(same_state(market, before));
  CHECK(market.remove_margin(bob, a.position, 10.0).revert_reason == RevertReason::not_owner);
  REQUIRE(market.remove_margin(alice, a.position, 49.0).succeeded());
  CHECK(market.position(a.position).margin == Approx(51.0).epsilon(rel));
  REQUIRE(market.add_margin(alice, a.position, 9.0).succeeded());
  CHECK(market.position(a.position).margin == Approx(60.0).epsilon(rel));
  CHECK(market.vault() == Approx(60.0).epsilon(rel));
  CHECK(market.tokens_out() == Approx(49.0).epsilon(rel));
}

TEST_CASE("vamm: reverts change nothing", "[perp][vamm]") {
  VammParams params = example_params();
  params.max_positions = 2;
  Vamm market(params);
  const auto a = market.open_position(alice, PerpSide::long_, 100.0, 10.0, 0.0, 0.0);
  REQUIRE(a.succeeded());
  const Vamm before = market;
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK(market.open_position(bob, PerpSide::long_, 0.0, 2.0, 0.0, 1.0).revert_reason == RevertReason::invalid_amount);
  CHECK(market.open_position(bob, PerpSide::long_, nan, 2.0, 0.0, 1.0).revert_reason == RevertReason::invalid_amount);
  CHECK(market.open_position(bob, PerpSide::long_, 10.0, inf, 0.0, 1.0).revert_reason == RevertReason::invalid_amount);
  CHECK(market.open_position(bob, PerpSide::long_, 10.0, 10.5, 0.0, 1.0).revert_reason == RevertReason::unhealthy);
  CHECK(market.open_position(bob, PerpSide::short_, 2000.0, 10.0, 0.0, 1.0).revert_reason ==
        RevertReason::insufficient_liquidity);  // notional 20,000 > Q = 11,000
  // Base limits: a long wants at least 10 base for 1,000 at mark 121.
  CHECK(market.open_position(bob, PerpSide::long_, 100.0, 10.0, 10.0, 1.0).revert_reason == RevertReason::slippage);
  CHECK(market.open_position(bob, PerpSide::short_, 100.0, 10.0, 1.0, 1.0).revert_reason == RevertReason::slippage);
  CHECK(market.close_position(bob, a.position, 0.0, 1.0).revert_reason == RevertReason::not_owner);
  CHECK(market.close_position(alice, 7, 0.0, 1.0).revert_reason == RevertReason::not_owner);
  CHECK(market.close_position(alice, a.position, 1e6, 1.0).revert_reason == RevertReason::slippage);
  CHECK(market.close_position(alice, a.position, -1.0, 1.0).revert_reason == RevertReason::invalid_amount);
  CHECK(market.add_margin(alice, a.position, -1.0).revert_reason == RevertReason::invalid_amount);
  CHECK(market.liquidate(a.position, 100.0, 1.0).revert_reason == RevertReason::healthy);
  CHECK(market.liquidate(a.position, 0.0, 1.0).revert_reason == RevertReason::invalid_amount);
  CHECK(market.settle_funding(nan, 1e5).revert_reason == RevertReason::invalid_amount);
  CHECK(same_state(market, before));
  REQUIRE(market.open_position(bob, PerpSide::short_, 10.0, 2.0, 0.0, 1.0).succeeded());
  CHECK(market.open_position(carol, PerpSide::short_, 10.0, 2.0, 0.0, 1.0).revert_reason ==
        RevertReason::cap_exceeded);
}

TEST_CASE("vamm: bad parameters throw", "[perp][vamm]") {
  VammParams params = example_params();
  params.base_reserve = 0.0;
  CHECK_THROWS_AS(Vamm(params), std::invalid_argument);
  params = example_params();
  params.maintenance_margin_ratio = 0.2;  // above the initial margin ratio
  CHECK_THROWS_AS(Vamm(params), std::invalid_argument);
  params = example_params();
  params.partial_liquidation_ratio = 1.5;
  CHECK_THROWS_AS(Vamm(params), std::invalid_argument);
  params = example_params();
  params.max_positions = 0;
  CHECK_THROWS_AS(Vamm(params), std::invalid_argument);
}

namespace {

struct Ledger {
  double margins = 0.0;          // sum of open positions' recorded margins
  double pending_funding = 0.0;  // sum of their funding owed
  double signed_open_notional = 0.0;
  double long_base = 0.0;
  double short_base = 0.0;
};

Ledger ledger_of(const Vamm& market) {
  Ledger ledger;
  for (VammPositionId id = 0; id < market.position_count(); ++id) {
    const auto position = market.position(id);
    if (!position.open) continue;
    ledger.margins += position.margin;
    ledger.pending_funding += market.funding_owed(id);
    const double sign = position.side == PerpSide::long_ ? 1.0 : -1.0;
    ledger.signed_open_notional += sign * position.open_notional;
    (position.side == PerpSide::long_ ? ledger.long_base : ledger.short_base) += position.size_base;
  }
  return ledger;
}

// The identities every state satisfies (tolerance relative to `scale`):
//  tokens:  vault + fund + toll = initial fund + tokens in - tokens out
//  vault:   vault = margins - pending funding - realised trading PnL
//                   - uncovered bad debt + prepaid bad debt
//  reserve: Q - Q0 = sum of signed open notionals - realised trading PnL
//  base:    long OI - short OI = B0 - B, and each OI = its positions' sizes
//  pool:    pool value - initial = pool_pnl().total()
void check_identities(const Vamm& market, const VammParams& params, double scale) {
  const Ledger ledger = ledger_of(market);
  const double tol = 1e-9 * scale;
  CHECK(market.holdings() ==
        Approx(params.initial_insurance_fund + market.tokens_in() - market.tokens_out()).margin(tol));
  CHECK(market.vault() == Approx(ledger.margins - ledger.pending_funding - market.realized_trading_pnl() -
                                 market.uncovered_bad_debt() + market.prepaid_bad_debt())
                              .margin(tol));
  CHECK(market.quote_reserve() - params.quote_reserve ==
        Approx(ledger.signed_open_notional - market.realized_trading_pnl()).margin(tol));
  CHECK(market.net_size_base() == Approx(params.base_reserve - market.base_reserve()).margin(1e-9));
  CHECK(market.open_interest_long_base() == Approx(ledger.long_base).margin(1e-9));
  CHECK(market.open_interest_short_base() == Approx(ledger.short_base).margin(1e-9));
  CHECK(market.pool_value() - params.initial_insurance_fund == Approx(market.pool_pnl().total()).margin(tol));
  CHECK(market.insurance_fund() >= -tol);
  CHECK(market.vault() >= -tol);
}

}  // namespace

TEST_CASE("vamm: token conservation and accounting identities over random sequences", "[perp][vamm]") {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    VammParams params;
    params.quote_reserve = 2'000'000.0;
    params.base_reserve = 1000.0;
    params.spread_ratio = 0.0005 * static_cast<double>(seed % 3);
    params.toll_ratio = 0.0003 * static_cast<double>(seed % 2);
    params.partial_liquidation_ratio = seed % 2 ? 0.25 : 0.0;
    params.initial_insurance_fund = seed <= 2 ? 0.0 : 1e7;  // empty funds leave bad debt uncovered
    params.max_positions = 600;
    Vamm market(params);
    double now = 0.0;
    int liquidations = 0;
    int settlements = 0;
    for (int step = 0; step < 2000; ++step) {
      now += 60.0 * unit(rng);
      const double u = unit(rng);
      const auto owner = static_cast<AgentIndex>(rng() % 20);
      const VammPositionId id = market.position_count() == 0
                                    ? 0
                                    : static_cast<VammPositionId>(rng() % market.position_count());
      const double index = market.mark_price() * (0.9 + 0.2 * unit(rng));
      const Vamm before = market;
      bool reverted = false;
      if (u < 0.3) {
        const PerpSide side = unit(rng) < 0.5 ? PerpSide::long_ : PerpSide::short_;
        reverted = !market.open_position(owner, side, 100.0 + 5000.0 * unit(rng), 1.0 + 9.0 * unit(rng), 0.0, now)
                        .succeeded();
      } else if (u < 0.5) {
        reverted = !market.close_position(market.position(id).owner, id, 0.0, now).succeeded();
      } else if (u < 0.6) {
        reverted = !market.add_margin(market.position(id).owner, id, 50.0 * unit(rng)).succeeded();
      } else if (u < 0.7) {
        reverted = !market.remove_margin(market.position(id).owner, id, 200.0 * unit(rng)).succeeded();
      } else if (u < 0.9) {
        const auto result = market.liquidate(id, index, now);
        reverted = !result.succeeded();
        liquidations += result.succeeded();
      } else {
        const auto result = market.settle_funding(index, now);
        reverted = !result.succeeded();
        settlements += result.succeeded();
      }
      if (reverted) REQUIRE(same_state(market, before));
      check_identities(market, params, 1e7);
      defisim::markets::test::check_open_ids(
          market, [](const Vamm& m) { return m.position_count(); },
          [](const Vamm& m, std::uint32_t position) { return m.position(position).open; },
          [](const Vamm& m) { return m.open_position_count(); },
          [](const Vamm& m, std::size_t slot) { return m.open_position_id(slot); });
    }
    // Close everything (liquidating what cannot close): the reserves return,
    // and the traders' realised trading PnL is minus the quote reserve's
    // change, i.e. zero.
    // (A winner the vault and an empty fund cannot pay stays open.)
    int stuck = 0;
    for (VammPositionId id = 0; id < market.position_count(); ++id) {
      for (int attempt = 0; attempt < 50 && market.position(id).open; ++attempt) {
        if (market.close_position(market.position(id).owner, id, 0.0, now).succeeded()) break;
        if (!market.liquidate(id, market.mark_price(), now).succeeded()) break;
      }
      stuck += market.position(id).open;
    }
    check_identities(market, params, 1e7);
    // With an empty fund the system is insolvent (uncovered bad debt) and
    // winners stay unpaid; a large fund pays everyone.
    if (params.initial_insurance_fund > 0.0) CHECK(stuck == 0);
    if (stuck == 0) {
      CHECK(market.realized_trading_pnl() ==
            Approx(-(market.quote_reserve() - params.quote_reserve)).margin(1e-3));
      CHECK(market.realized_trading_pnl() == Approx(0.0).margin(1e-3));
      CHECK(market.base_reserve() == Approx(params.base_reserve).epsilon(1e-9));
    }
    CHECK(liquidations > 0);
    CHECK(settlements > 5);
  }
}

TEST_CASE("vamm: a symmetric zero-fee population leaves the system's expected PnL at zero", "[perp][vamm]") {
  // Traders open long or short with probability 1/2 (2x leverage: nobody is
  // liquidated) and close in random order; funding is settled each hour
  // against an index = mark x (1 + e), e uniform in +-1%, independent of the
  // positions (the engine would pass the oracle; here it is built around
  // the mark TWAP so that the premium is independent of the positions). The system (fund + toll pool) earns premium x net size: zero
  // in expectation by the symmetry of e. Per path, with no bad debt and all
  // positions closed, the vault is empty: the traders' net cash is exactly
  // minus the system's PnL.
  VammParams params;
  params.quote_reserve = 2'000'000.0;
  params.base_reserve = 1000.0;
  params.spread_ratio = 0.0;
  params.toll_ratio = 0.0;
  params.initial_insurance_fund = 1e6;
  params.max_positions = 64;
  constexpr int paths = 4000;
  std::mt19937_64 rng(20240605);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  double sum = 0.0;
  double sum_sq = 0.0;
  for (int path = 0; path < paths; ++path) {
    Vamm market(params);
    double now = 0.0;
    std::vector<VammPositionId> open;
    for (int t = 0; t < 40; ++t) {
      now += 600.0;
      if (open.size() < 20 && unit(rng) < 0.6) {
        const PerpSide side = unit(rng) < 0.5 ? PerpSide::long_ : PerpSide::short_;
        const auto result = market.open_position(1, side, 1000.0 + 9000.0 * unit(rng), 2.0, 0.0, now);
        REQUIRE(result.succeeded());
        open.push_back(result.position);
      } else if (!open.empty()) {
        const std::size_t pick = rng() % open.size();
        const auto result = market.close_position(1, open[pick], 0.0, now);
        REQUIRE(result.succeeded());
        open[pick] = open.back();
        open.pop_back();
      }
      if (now >= market.next_funding_seconds()) {
        const double index = market.mark_twap(now) * (1.0 + 0.02 * (unit(rng) - 0.5));
        REQUIRE(market.settle_funding(index, now).succeeded());
      }
    }
    for (const VammPositionId id : open) {
      const auto result = market.close_position(1, id, 0.0, now);
      REQUIRE(result.succeeded());
    }
    REQUIRE(market.bad_debt() == 0.0);
    const double system = market.pool_value() - params.initial_insurance_fund;
    CHECK(system == Approx(market.pool_pnl().total()).margin(1e-6));
    const double traders = market.tokens_out() - market.tokens_in();  // payouts - margins
    CHECK(traders == Approx(-system).margin(1e-6));
    CHECK(market.vault() == Approx(0.0).margin(1e-6));
    sum += system;
    sum_sq += system * system;
  }
  const double mean = sum / paths;
  const double sd = std::sqrt((sum_sq - paths * mean * mean) / (paths - 1));
  const double se = sd / std::sqrt(static_cast<double>(paths));
  CHECK(sd > 0.1);  // funding moves money: the test is not vacuous
  CHECK(std::fabs(mean) < 3.0 * se);
}

TEST_CASE("vamm: operations do not allocate after construction", "[perp][vamm]") {
  VammParams params = example_params();
  params.max_positions = 3000;
  params.partial_liquidation_ratio = 0.25;
  Vamm market(params);
  std::mt19937_64 rng(7);
  int failures = 0;
  const struct mallinfo2 before = mallinfo2();
  for (int i = 0; i < 2000; ++i) {
    const PerpSide side = rng() % 2 ? PerpSide::long_ : PerpSide::short_;
    const auto open = market.open_position(alice, side, 10.0, 8.0, 0.0, i * 12.0);
    failures += !open.succeeded();
    if (i % 3 == 0) failures += !market.close_position(alice, open.position, 0.0, i * 12.0).succeeded();
    if (i * 12.0 >= market.next_funding_seconds()) {
      failures += !market.settle_funding(market.mark_price() * 1.01, i * 12.0).succeeded();
    }
    for (VammPositionId id = 0; id < 5; ++id) (void)market.liquidate(id, 100.0, i * 12.0);
  }
  const struct mallinfo2 after = mallinfo2();
  CHECK(failures == 0);
  CHECK(after.uordblks == before.uordblks);
  CHECK(after.hblkhd == before.hblkhd);
}

TEST_CASE("vamm: beyond the oracle spread limit the better of the vAMM and oracle ratios decides", "[perp][vamm]") {
  // Alice's exit at the vAMM is pushed to 850 (ratio (100 - 150) / 850 < 0).
  // Valued at an index of 121 she holds 100/11 x 121 = 1,100 against an open
  // notional of 1,000: ratio (100 + 100) / 1,100 = 2/11, healthy; the mark
  // is more than 10% from that index, so liquidate uses the larger ratio.
  const double b = 100.0 / 11.0;
  Vamm market(example_params());
  const auto a = market.open_position(alice, PerpSide::long_, 100.0, 10.0, 0.0, 0.0);
  const double short_notional = 11'000.0 - quote_reserve_for_exit(850.0, b, k_example);
  REQUIRE(market.open_position(bob, PerpSide::short_, short_notional / 4.0, 4.0, 0.0, 0.0).succeeded());
  CHECK(market.margin_ratio(a.position) == Approx(-50.0 / 850.0).epsilon(1e-9));
  CHECK(market.margin_ratio_at_index(a.position, 121.0) == Approx(2.0 / 11.0).epsilon(1e-12));
  REQUIRE(std::fabs(market.mark_price() / 121.0 - 1.0) > 0.1);
  CHECK(market.liquidation_margin_ratio(a.position, 121.0) == Approx(2.0 / 11.0).epsilon(1e-12));
  CHECK(market.liquidate(a.position, 121.0, 1.0).revert_reason == RevertReason::healthy);
  // An index within 10% of the mark: the vAMM ratio alone, liquidatable.
  const double near = market.mark_price() * 1.05;
  CHECK(market.liquidation_margin_ratio(a.position, near) == market.margin_ratio(a.position));
  CHECK(market.liquidate(a.position, near, 1.0).succeeded());
}
