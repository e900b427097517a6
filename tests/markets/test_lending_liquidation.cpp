// Tests of the lending market's liquidations under the aave_v2, aave_v3 and
// compound_v2 rule sets, and of bad-debt write-offs (markets/lending.hpp).
//
// Sources (every expected number below is derived by hand from these):
//  - Aave v2 LendingPoolCollateralManager.liquidationCall and
//    _calculateAvailableCollateralToLiquidate: health factor
//    HF = sum(collateral x price x liquidation threshold) / sum(debt x price);
//    liquidatable when HF < 1; maxLiquidatableDebt = debt x 50%;
//    collateral = debtToCover x debtPrice x liquidationBonus / collateralPrice,
//    capped at the user's collateral balance, the debt then being
//    collateral x collateralPrice / debtPrice / liquidationBonus.
//  - Aave v3 LiquidationLogic: close factor 100% when HF <=
//    CLOSE_FACTOR_HF_THRESHOLD (0.95); bonusCollateral = collateral -
//    collateral / liquidationBonus, liquidationProtocolFee = bonusCollateral x
//    protocol fee share, the liquidator receiving the rest.
//  - Compound v2 Comptroller.liquidateBorrowAllowed (shortfall; repay <=
//    closeFactor x borrowBalance, else TOO_MUCH_REPAY),
//    liquidateCalculateSeizeTokens (seize = repay x liquidationIncentive x
//    priceBorrowed / priceCollateral, here in underlying), LIQUIDATE_SEIZE_TOO_MUCH,
//    CToken.seizeInternal (protocolSeizeShare 2.8% of the seized to reserves).
//  - The header for bad debt: reserves absorb it first, then suppliers.
//
// Tolerances: each expected value is a handful of double operations from
// exact decimal inputs, so 1e-12 relative is ample (a few ulps observed);
// values after a year of interest use the long double closed form and 1e-12.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "tests/markets/test_lending_support.hpp"

using namespace lending_test;

namespace {

constexpr double tight = 1e-12;

// Alice (position 1) supplies 10 ETH and borrows `borrowed` USDC at ETH = 2000.
Lending borrowed_market(const LendingParams& params, double borrowed) {
  Lending market(params, venue);
  const PositionId position = market.open_position(alice).position;
  REQUIRE(position == 1);
  REQUIRE(market.supply(position, eth, 10.0, 0.0).succeeded());
  REQUIRE(market.borrow(position, usdc, borrowed, prices_at(2000.0), 0.0).succeeded());
  return market;
}

double year_growth(double rate) {
  return static_cast<double>(
      std::exp(static_cast<long double>(year_seconds) * std::log1p(static_cast<long double>(rate) / year_seconds)));
}

}  // namespace

TEST_CASE("lending: aave_v2 worked example, 10 ETH against 15,000 USDC, ETH 2000 -> 1800", "[lending]") {
  Lending market = borrowed_market(aave_params(), 15'000.0);
  // HF = 10 x 2000 x 0.825 / 15000 = 1.1
  CHECK(market.health_factor(1, prices_at(2000.0), 0.0) == Approx(1.1).epsilon(tight));
  // Borrowing power 10 x 2000 x 0.8 = 16000, so headroom 1000.
  CHECK(market.borrowing_headroom(1, prices_at(2000.0), 0.0) == Approx(1000.0).epsilon(tight));
  // At 1850: HF = 10 x 1850 x 0.825 / 15000 = 1.0175: not liquidatable.
  CHECK(market.liquidate(1, usdc, eth, inf, prices_at(1850.0), 0.0).revert_reason == RevertReason::healthy);

  const std::vector<double> prices = prices_at(1800.0);
  // HF = 10 x 1800 x 0.825 / 15000 = 0.99
  CHECK(market.health_factor(1, prices, 0.0) == Approx(0.99).epsilon(tight));
  SECTION("repaying as much as allowed: half the debt") {
    const LiquidationResult result = market.liquidate(1, usdc, eth, inf, prices, 0.0);
    REQUIRE(result.succeeded());
    // max repay = 0.5 x 15000 = 7500; seized = 7500 x 1 / 1800 x 1.05 = 4.375 ETH
    CHECK(result.debt_repaid == Approx(7500.0).epsilon(tight));
    CHECK(result.collateral_seized == Approx(4.375).epsilon(tight));
    CHECK(result.collateral_to_protocol == 0.0);
    CHECK(result.bad_debt_written_off == 0.0);
    CHECK(market.debt(1, usdc, 0.0) == Approx(7500.0).epsilon(tight));
    CHECK(market.collateral(1, eth, 0.0) == Approx(5.625).epsilon(tight));
    // HF after = 5.625 x 1800 x 0.825 / 7500 = 1.11375
    CHECK(market.health_factor(1, prices, 0.0) == Approx(1.11375).epsilon(tight));
    // Repaid USDC enters cash: 1,000,000 - 15,000 + 7,500; seized ETH leaves it.
    CHECK(market.cash(usdc) == Approx(992'500.0).epsilon(tight));
    CHECK(market.cash(eth) == Approx(5.625).epsilon(tight));
  }
  SECTION("repaying less than allowed") {
    const LiquidationResult result = market.liquidate(1, usdc, eth, 1000.0, prices, 0.0);
    REQUIRE(result.succeeded());
    // 1000 / 1800 x 1.05 = 0.583333... ETH
    CHECK(result.debt_repaid == 1000.0);
    CHECK(result.collateral_seized == Approx(1000.0 / 1800.0 * 1.05).epsilon(tight));
  }
}

TEST_CASE("lending: aave_v2 caps the seizure at the collateral held and writes off what is left", "[lending]") {
  Lending market = borrowed_market(aave_params(), 15'000.0);
  const std::vector<double> prices = prices_at(700.0);
  // HF = 10 x 700 x 0.825 / 15000 = 0.385. Repaying 7500 would seize
  // 7500 / 700 x 1.05 = 11.25 ETH > 10: seize all 10 ETH for
  // 10 x 700 / 1.05 = 6666.666... USDC.
  const LiquidationResult result = market.liquidate(1, usdc, eth, inf, prices, 0.0);
  REQUIRE(result.succeeded());
  CHECK(result.collateral_seized == Approx(10.0).epsilon(tight));
  const double repaid = 10.0 * 700.0 / 1.05;
  CHECK(result.debt_repaid == Approx(repaid).epsilon(tight));
  // No collateral left: 15000 - 6666.67 = 8333.33 USDC is bad debt. No
  // interest ran, so reserves are 0 and the suppliers bear all of it.
  const double bad = 15'000.0 - repaid;
  CHECK(result.bad_debt_written_off == Approx(bad).epsilon(tight));  // numeraire at USDC = 1
  CHECK(market.bad_debt(usdc) == Approx(bad).epsilon(tight));
  CHECK(market.supplier_loss(usdc) == Approx(bad).epsilon(tight));
  CHECK(market.debt(1, usdc, 0.0) == 0.0);
  CHECK(market.total_debt(usdc, 0.0) == 0.0);
  CHECK(market.collateral(1, eth, 0.0) == 0.0);
  // Supply index 1 - 8333.33 / 1,000,000; the genesis supplier holds the rest.
  CHECK(market.supply_index(usdc, 0.0) == Approx(1.0 - bad / 1'000'000.0).epsilon(tight));
  CHECK(market.collateral(0, usdc, 0.0) == Approx(1'000'000.0 - bad).epsilon(tight));
  CHECK(market.health_factor(1, prices, 0.0) == inf);
  CHECK(std::abs(identity_gap(market, usdc, 0.0)) <= 1e-15 * 1e6);
}

TEST_CASE("lending: bad debt is absorbed by reserves first, then by suppliers", "[lending]") {
  // USDC at a flat 10% for a year: D1 = 15000 (1 + 0.1/SPY)^SPY, interest
  // I = D1 - 15000.
  const double d1 = 15'000.0 * year_growth(0.10);
  const double interest = d1 - 15'000.0;
  SECTION("more bad debt than reserves: reserves emptied, suppliers lose the rest") {
    LendingParams params = aave_params();
    params.assets[1].rate = flat_rate(0.10);
    params.assets[1].reserve_factor = 0.2;
    Lending market = borrowed_market(params, 15'000.0);
    const double reserves = 0.2 * interest;
    CHECK(market.reserves(usdc, year_seconds) == Approx(reserves).epsilon(1e-10));
    // ETH at 700: capped, repaid 10 x 700 / 1.05; bad debt B = D1 - repaid.
    const LiquidationResult result = market.liquidate(1, usdc, eth, inf, prices_at(700.0), year_seconds);
    REQUIRE(result.succeeded());
    const double bad = d1 - 10.0 * 700.0 / 1.05;
    CHECK(result.bad_debt_written_off == Approx(bad).epsilon(tight));
    CHECK(market.bad_debt(usdc) == Approx(bad).epsilon(tight));
    CHECK(market.reserves(usdc, year_seconds) == 0.0);
    CHECK(market.supplier_loss(usdc) == Approx(bad - reserves).epsilon(1e-10));
    // Suppliers had 1,000,000 + 0.8 I and lose B - R.
    CHECK(market.total_supply(usdc, year_seconds) ==
          Approx(1'000'000.0 + 0.8 * interest - (bad - reserves)).epsilon(tight));
    CHECK(std::abs(identity_gap(market, usdc, year_seconds)) <= 1e-13 * 1e6);
  }
  SECTION("less bad debt than reserves: suppliers untouched") {
    // aave_v3, reserve factor 0.5: R = 0.5 I ~ 788.8. ETH at 1700: HF =
    // 10 x 1700 x 0.825 / D1 = 0.846 < 0.95, close factor 100%; seizing
    // D1 x 1.05 / 1700 = 10.24 ETH > 10 caps it: repaid 10 x 1700 / 1.05
    // = 16190.48, B = D1 - 16190.48 ~ 387.1 < R.
    LendingParams params = aave_params(LendingRules::aave_v3);
    params.assets[1].rate = flat_rate(0.10);
    params.assets[1].reserve_factor = 0.5;
    Lending market = borrowed_market(params, 15'000.0);
    const double supply_before = market.total_supply(usdc, year_seconds);
    const LiquidationResult result = market.liquidate(1, usdc, eth, inf, prices_at(1700.0), year_seconds);
    REQUIRE(result.succeeded());
    const double repaid = 10.0 * 1700.0 / 1.05;
    const double bad = d1 - repaid;
    CHECK(result.debt_repaid == Approx(repaid).epsilon(tight));
    CHECK(result.bad_debt_written_off == Approx(bad).epsilon(1e-10));
    CHECK(market.reserves(usdc, year_seconds) == Approx(0.5 * interest - bad).epsilon(1e-10));
    CHECK(market.supplier_loss(usdc) == 0.0);
    CHECK(market.total_supply(usdc, year_seconds) == supply_before);
  }
}

TEST_CASE("lending: aave_v3 close factor is 100% below 0.95 and the protocol fee takes part of the bonus",
          "[lending]") {
  LendingParams params = aave_params(LendingRules::aave_v3);
  params.liquidation_protocol_fee = 0.1;
  SECTION("HF 0.99: close factor 50%, fee 10% of the bonus") {
    Lending market = borrowed_market(params, 15'000.0);
    const LiquidationResult result = market.liquidate(1, usdc, eth, inf, prices_at(1800.0), 0.0);
    REQUIRE(result.succeeded());
    // As v2: 7500 repaid, 4.375 ETH seized in all. Bonus part 4.375 -
    // 4.375 / 1.05 = 0.2083333; the protocol gets 10% of it.
    const double bonus_part = 4.375 - 4.375 / 1.05;
    CHECK(result.debt_repaid == Approx(7500.0).epsilon(tight));
    CHECK(result.collateral_to_protocol == Approx(0.1 * bonus_part).epsilon(tight));
    CHECK(result.collateral_seized == Approx(4.375 - 0.1 * bonus_part).epsilon(tight));
    CHECK(market.reserves(eth, 0.0) == Approx(0.1 * bonus_part).epsilon(tight));
    CHECK(market.collateral(1, eth, 0.0) == Approx(5.625).epsilon(tight));
    // The fee stays in cash, owned by the reserves: 10 - liquidator's share.
    CHECK(market.cash(eth) == Approx(10.0 - (4.375 - 0.1 * bonus_part)).epsilon(tight));
    CHECK(std::abs(identity_gap(market, eth, 0.0)) <= 1e-15 * 10.0);
  }
  SECTION("HF 0.935: close factor 100%") {
    Lending market = borrowed_market(params, 15'000.0);
    // HF = 10 x 1700 x 0.825 / 15000 = 0.935 < 0.95: the whole 15000 may
    // be repaid, seizing 15000 x 1.05 / 1700 = 9.2647 ETH.
    CHECK(market.health_factor(1, prices_at(1700.0), 0.0) == Approx(0.935).epsilon(tight));
    const LiquidationResult result = market.liquidate(1, usdc, eth, inf, prices_at(1700.0), 0.0);
    REQUIRE(result.succeeded());
    const double seized = 15'000.0 * 1.05 / 1700.0;
    const double fee = 0.1 * (seized - seized / 1.05);
    CHECK(result.debt_repaid == Approx(15'000.0).epsilon(tight));
    CHECK(result.collateral_seized == Approx(seized - fee).epsilon(tight));
    CHECK(result.collateral_to_protocol == Approx(fee).epsilon(tight));
    CHECK(market.debt(1, usdc, 0.0) == 0.0);
    CHECK(market.collateral(1, eth, 0.0) == Approx(10.0 - seized).epsilon(tight));
    CHECK(result.bad_debt_written_off == 0.0);
  }
  SECTION("the same position under aave_v2 repays only half") {
    Lending market = borrowed_market(aave_params(LendingRules::aave_v2), 15'000.0);
    const LiquidationResult result = market.liquidate(1, usdc, eth, inf, prices_at(1700.0), 0.0);
    REQUIRE(result.succeeded());
    CHECK(result.debt_repaid == Approx(7500.0).epsilon(tight));
  }
}

TEST_CASE("lending: compound_v2 worked example with the 2.8% protocol seize share", "[lending]") {
  Lending market = borrowed_market(compound_params(), 14'000.0);
  // Liquidity at 2000: 10 x 2000 x 0.75 = 15000 >= 14000; at 1900: 14250: no shortfall.
  CHECK(market.liquidate(1, usdc, eth, 1000.0, prices_at(1900.0), 0.0).revert_reason == RevertReason::healthy);
  const std::vector<double> prices = prices_at(1800.0);
  // At 1800: 13500 < 14000, shortfall 500; HF = 13500 / 14000.
  CHECK(market.health_factor(1, prices, 0.0) == Approx(13'500.0 / 14'000.0).epsilon(tight));
  SECTION("repay at the close factor") {
    // repay 0.5 x 14000 = 7000; seize = 7000 x 1.08 x 1 / 1800 = 4.2 ETH;
    // protocol 4.2 x 0.028 = 0.1176 ETH, liquidator 4.0824 ETH.
    const LiquidationResult result = market.liquidate(1, usdc, eth, 7000.0, prices, 0.0);
    REQUIRE(result.succeeded());
    CHECK(result.debt_repaid == 7000.0);
    CHECK(result.collateral_seized == Approx(4.0824).epsilon(tight));
    CHECK(result.collateral_to_protocol == Approx(0.1176).epsilon(tight));
    CHECK(market.collateral(1, eth, 0.0) == Approx(5.8).epsilon(tight));
    CHECK(market.debt(1, usdc, 0.0) == Approx(7000.0).epsilon(tight));
    CHECK(market.reserves(eth, 0.0) == Approx(0.1176).epsilon(tight));
    CHECK(market.cash(eth) == Approx(10.0 - 4.0824).epsilon(tight));
    CHECK(std::abs(identity_gap(market, eth, 0.0)) <= 1e-15 * 10.0);
  }
  SECTION("repaying more than the close factor reverts (TOO_MUCH_REPAY), changing nothing") {
    CHECK(market.liquidate(1, usdc, eth, 7000.01, prices, 0.0).revert_reason == RevertReason::invalid_amount);
    CHECK(market.liquidate(1, usdc, eth, inf, prices, 0.0).revert_reason == RevertReason::invalid_amount);
    CHECK(market.debt(1, usdc, 0.0) == 14'000.0);
    CHECK(market.collateral(1, eth, 0.0) == 10.0);
  }
  SECTION("seizing more than the collateral reverts (LIQUIDATE_SEIZE_TOO_MUCH)") {
    // At 700: repay 7000 seizes 7000 x 1.08 / 700 = 10.8 ETH > 10.
    CHECK(market.liquidate(1, usdc, eth, 7000.0, prices_at(700.0), 0.0).revert_reason ==
          RevertReason::insufficient_collateral);
    CHECK(market.collateral(1, eth, 0.0) == 10.0);
    // Repay 6000 seizes 6000 x 1.08 / 700 = 9.257 ETH: allowed.
    const LiquidationResult result = market.liquidate(1, usdc, eth, 6000.0, prices_at(700.0), 0.0);
    REQUIRE(result.succeeded());
    const double seized = 6000.0 * 1.08 / 700.0;
    CHECK(result.collateral_seized + result.collateral_to_protocol == Approx(seized).epsilon(tight));
    CHECK(result.collateral_to_protocol == Approx(seized * 0.028).epsilon(tight));
  }
}

TEST_CASE("lending: compound_v2 seizing all the collateral writes off the rest", "[lending]") {
  Lending market = borrowed_market(compound_params(), 14'000.0);
  // At 700, repay = 10 x 700 / 1.08 = 6481.48 (<= 7000, the close factor)
  // seizes exactly the 10 ETH; the 14000 - 6481.48 left has no collateral.
  const double repay = 10.0 * 700.0 / 1.08;
  const LiquidationResult result = market.liquidate(1, usdc, eth, repay, prices_at(700.0), 0.0);
  REQUIRE(result.succeeded());
  CHECK(result.collateral_seized + result.collateral_to_protocol == Approx(10.0).epsilon(tight));
  CHECK(market.collateral(1, eth, 0.0) == 0.0);
  CHECK(result.bad_debt_written_off == Approx(14'000.0 - repay).epsilon(tight));
  CHECK(market.supplier_loss(usdc) == Approx(14'000.0 - repay).epsilon(tight));
  CHECK(market.debt(1, usdc, 0.0) == 0.0);
}

TEST_CASE("lending: reverting liquidations name their reason", "[lending]") {
  Lending market = borrowed_market(aave_params(), 15'000.0);
  const std::vector<double> prices = prices_at(1800.0);
  CHECK(market.liquidate(9, usdc, eth, 1.0, prices, 0.0).revert_reason == RevertReason::not_owner);
  CHECK(market.liquidate(1, unlisted, eth, 1.0, prices, 0.0).revert_reason == RevertReason::invalid_token);
  CHECK(market.liquidate(1, usdc, eth, 0.0, prices, 0.0).revert_reason == RevertReason::invalid_amount);
  CHECK(market.liquidate(1, usdc, eth, std::nan(""), prices, 0.0).revert_reason == RevertReason::invalid_amount);
  // Debt in USDC only; no ETH debt to repay.
  CHECK(market.liquidate(1, eth, eth, 1.0, prices, 0.0).revert_reason == RevertReason::invalid_amount);
  // No USDC collateral to seize.
  CHECK(market.liquidate(1, usdc, usdc, 1.0, prices, 0.0).revert_reason ==
        RevertReason::insufficient_collateral);
  // A bad oracle price.
  CHECK(market.liquidate(1, usdc, eth, 1.0, prices_at(0.0), 0.0).revert_reason == RevertReason::invalid_amount);
  CHECK(market.debt(1, usdc, 0.0) == 15'000.0);
}

TEST_CASE("lending: a liquidation is never possible at or above HF 1 and always possible below it", "[lending]") {
  // Property over random positions, prices and times, every rule set: with a
  // small repay (0.1% of the debt, so compound never seizes too much),
  // liquidate succeeds exactly when health_factor < 1, else reverts `healthy`.
  const LendingRules rule_sets[] = {LendingRules::aave_v2, LendingRules::aave_v3, LendingRules::compound_v2,
                                    LendingRules::maker};
  for (const LendingRules rules : rule_sets) {
    LendingParams params = rules == LendingRules::compound_v2 ? compound_params()
                           : rules == LendingRules::maker     ? maker_params()
                                                              : aave_params(rules);
    params.max_positions = 400;
    params.max_auctions = 400;
    InterestRateCurve curve;  // the default kinked curve: rates move with utilisation
    params.assets[1].rate = curve;
    params.assets[1].initial_supply = 10'000'000.0;
    Lending market(params, venue);
    std::mt19937_64 random(20240601 + static_cast<int>(rules));
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const double ltv = params.assets[0].loan_to_value;
    for (int i = 0; i < 300; ++i) {
      const PositionId position = market.open_position(alice).position;
      const double collateral = 1.0 + 19.0 * unit(random);
      REQUIRE(market.supply(position, eth, collateral, 0.0).succeeded());
      const double borrowed = collateral * 2000.0 * ltv * (0.3 + 0.699 * unit(random));
      REQUIRE(market.borrow(position, usdc, borrowed, prices_at(2000.0), 0.0).succeeded());
    }
    int below = 0;
    int above = 0;
    for (int trial = 0; trial < 6; ++trial) {
      const std::vector<double> prices = prices_at(1200.0 + 1400.0 * unit(random));
      const double now = 2.0 * year_seconds * unit(random);
      for (PositionId position = 1; position < market.position_count(); ++position) {
        const double health = market.health_factor(position, prices, now);
        Lending copy = market;
        const double repay = 1e-3 * copy.debt(position, usdc, now);
        const LiquidationResult result = copy.liquidate(position, usdc, eth, repay, prices, now);
        if (health < 1.0) {
          ++below;
          REQUIRE(result.succeeded());
        } else {
          ++above;
          REQUIRE(result.revert_reason == RevertReason::healthy);
        }
      }
    }
    // Both sides were exercised.
    CHECK(below > 100);
    CHECK(above > 100);
  }
}
