// Tests of the GMX v1 style perpetual pool (markets/perp_gmx.hpp) against
// values worked out by hand from GMX v1's contracts (gmx-io/gmx-contracts):
//   Vault.sol       increasePosition, _decreasePosition, _reduceCollateral,
//                   liquidatePosition, getNextFundingRate, getDelta,
//                   getNextAveragePrice, buyUSDG, sellUSDG
//   VaultUtils.sol  getPositionFee (size x marginFeeBasisPoints),
//                   getFundingFee (size x (cumulative - entry rate)),
//                   validateLiquidation
//   GlpManager.sol  getAum, _addLiquidity, _removeLiquidity
// Expected values are literals or formulas written here, never calls of the
// code under test.
//
// Tolerances. The worked examples take a few double operations on numbers of
// at most ~1e7, so 1e-9 absolute (1e-16 relative) leaves a margin of ~1000x
// over rounding. The random sequences accumulate rounding over hundreds of
// operations on books of ~1e7: see the bound stated where it is used.
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "markets/perp_gmx.hpp"
#include "tests/markets/open_ids_check.hpp"

using defisim::core::AgentIndex;
using defisim::core::AssetIndex;
using defisim::core::RevertReason;
using defisim::markets::GmxAssetParams;
using defisim::markets::GmxLiquidationState;
using defisim::markets::GmxParams;
using defisim::markets::GmxPool;
using defisim::markets::GmxPositionId;
using defisim::markets::PerpSide;

namespace {

constexpr AssetIndex eth = 0;
constexpr AssetIndex btc = 1;
constexpr AssetIndex usdc = 2;
constexpr AssetIndex unlisted = 5;
constexpr AgentIndex alice = 1;
constexpr AgentIndex bob = 2;
constexpr double hour = 3600.0;
constexpr double exact = 1e-9;

// ETH 1000 @ 2000, BTC 50 @ 40000, USDC 4M @ 1: AUM 8M, 8M shares.
GmxParams basket_params() {
  GmxParams params;
  params.assets = {GmxAssetParams{eth, 1000.0, false, true}, GmxAssetParams{btc, 50.0, false, true},
                   GmxAssetParams{usdc, 4'000'000.0, true, false}};
  params.margin_fee = 0.001;
  params.max_leverage = 50.0;
  params.liquidation_fee_usd = 5.0;
  params.funding_interval_seconds = hour;
  params.funding_rate_factor = 0.0;
  params.stable_funding_rate_factor = 0.0;
  params.mint_burn_fee = 0.003;
  params.lp_fee_share = 0.7;
  params.max_positions = 1024;
  return params;
}

std::array<double, 3> prices_at(double eth_price, double btc_price = 40'000.0,
                                double usdc_price = 1.0) {
  return {eth_price, btc_price, usdc_price};
}

// GlpManager.getAum written out from the public books.
double hand_aum(const GmxPool& pool, const std::array<double, 3>& prices) {
  double value = pool.pool_amount(usdc) * prices[usdc];
  for (AssetIndex asset : {eth, btc}) {
    const double price = prices[asset];
    const double size = pool.global_short_size(asset);
    if (size > 0.0) {
      const double average = pool.global_short_average_price(asset);
      value += size * (price - average) / average;  // shorts' losses (+) or profits (-)
    }
    value += pool.guaranteed_usd(asset) +
             (pool.pool_amount(asset) - pool.reserved_amount(asset)) * price;
  }
  return value;
}

// Everything observable, to check that a revert changes nothing.
struct Snapshot {
  std::vector<double> values;
  bool operator==(const Snapshot&) const = default;
};

Snapshot snapshot(const GmxPool& pool, double now_seconds) {
  Snapshot s;
  for (AssetIndex asset : {eth, btc, usdc}) {
    s.values.insert(
        s.values.end(),
        {pool.pool_amount(asset), pool.reserved_amount(asset), pool.guaranteed_usd(asset),
         pool.fee_reserves(asset), pool.short_collateral_usd(asset), pool.holdings(asset),
         pool.global_short_size(asset), pool.global_short_average_price(asset),
         pool.cumulative_funding_rate(asset, now_seconds)});
  }
  s.values.insert(s.values.end(), {pool.total_supply(), pool.pnl().fees, pool.pnl().trader_pnl,
                                   pool.pnl().delta_pnl, pool.net_deposits_usd(),
                                   static_cast<double>(pool.position_count())});
  for (std::size_t id = 0; id < pool.position_count(); ++id) {
    const auto& p = pool.position(static_cast<GmxPositionId>(id));
    s.values.insert(s.values.end(),
                    {p.size_usd, p.collateral_usd, p.average_price, p.entry_funding_rate,
                     p.reserve_amount, p.realised_pnl_usd, p.open ? 1.0 : 0.0});
  }
  return s;
}

}  // namespace

TEST_CASE("gmx genesis mints one share per numeraire of AUM", "[perp][gmx]") {
  const auto prices = prices_at(2000.0);
  GmxPool pool(basket_params(), prices);
  // 1000 x 2000 + 50 x 40000 + 4e6 x 1.
  CHECK(pool.aum(prices) == Approx(8'000'000.0).margin(exact));
  CHECK(pool.total_supply() == Approx(8'000'000.0).margin(exact));
  CHECK(pool.share_price(prices) == Approx(1.0).margin(1e-15));
  CHECK(pool.net_deposits_usd() == Approx(8'000'000.0).margin(exact));
}

TEST_CASE("gmx constructor rejects bad parameters", "[perp][gmx]") {
  const auto prices = prices_at(2000.0);
  GmxParams params = basket_params();
  params.assets.push_back(GmxAssetParams{eth, 1.0, false, true});
  CHECK_THROWS_AS(GmxPool(params, prices), std::invalid_argument);
  params = basket_params();
  params.max_leverage = 1.0;
  CHECK_THROWS_AS(GmxPool(params, prices), std::invalid_argument);
  params = basket_params();
  params.margin_fee = 1.0;
  CHECK_THROWS_AS(GmxPool(params, prices), std::invalid_argument);
  params = basket_params();
  params.lp_fee_share = 1.5;
  CHECK_THROWS_AS(GmxPool(params, prices), std::invalid_argument);
  const std::array<double, 2> missing_price{2000.0, 40'000.0};
  CHECK_THROWS_AS(GmxPool(basket_params(), missing_price), std::invalid_argument);
}

TEST_CASE("gmx position fee is 0.1% of size on open and on close", "[perp][gmx]") {
  GmxPool pool(basket_params(), prices_at(2000.0));
  // Long ETH: 1 ETH ($2000) of collateral, $10000 size, 5x.
  const auto open =
      pool.open_position(alice, PerpSide::long_, eth, eth, 1.0, 10'000.0, prices_at(2000.0), 0.0);
  REQUIRE(open.succeeded());
  // getPositionFee: 10000 x 10 / 10000 bps = 10 USD, taken from collateral.
  CHECK(open.position_fee_usd == Approx(10.0).margin(exact));
  const auto& p = pool.position(open.position);
  CHECK(p.collateral_usd == Approx(1990.0).margin(exact));
  CHECK(p.average_price == 2000.0);
  // Reserve: usdToTokenMax(size) = 10000 / 2000 = 5 ETH.
  CHECK(pool.reserved_amount(eth) == Approx(5.0).margin(exact));
  // guaranteedUsd += size + fee - collateral = 10000 + 10 - 2000.
  CHECK(pool.guaranteed_usd(eth) == Approx(8010.0).margin(exact));
  // Pool: + 1 ETH collateral - 0.005 ETH fee + 70% of the fee back.
  CHECK(pool.pool_amount(eth) == Approx(1000.0 + 1.0 - 0.005 + 0.7 * 0.005).margin(exact));
  CHECK(pool.fee_reserves(eth) == Approx(0.3 * 0.005).margin(exact));
  // AUM grows by the pool's share of the fee only: 8e6 + 7.
  CHECK(pool.aum(prices_at(2000.0)) == Approx(8'000'007.0).margin(exact));

  // Close at 2200: profit 10000 x (2200/2000 - 1) = 1000 (getDelta); usdOut =
  // 1000 + 1990 collateral; fee 10 (0.1% of the size closed) deducted from it.
  const auto close = pool.close_position(open.position, alice, prices_at(2200.0), 60.0);
  REQUIRE(close.succeeded());
  CHECK(close.closed);
  CHECK(close.position_fee_usd == Approx(10.0).margin(exact));
  CHECK(close.realised_pnl_usd == Approx(1000.0).margin(exact));
  CHECK(close.amount_out == Approx(2980.0 / 2200.0).margin(exact));
  // Books back to zero; the pool paid 2990 USD of ETH and kept 70% of the fee.
  CHECK(pool.reserved_amount(eth) == 0.0);
  CHECK(pool.guaranteed_usd(eth) == 0.0);
  CHECK(pool.pool_amount(eth) ==
        Approx(1000.0 + 1.0 - 0.005 + 0.7 * 0.005 - 2990.0 / 2200.0 + 0.7 * 10.0 / 2200.0)
            .margin(exact));
  CHECK(pool.fee_reserves(eth) == Approx(0.3 * 0.005 + 0.3 * 10.0 / 2200.0).margin(exact));
  CHECK(pool.holdings(eth) == Approx(1001.0 - 2980.0 / 2200.0).margin(exact));
}

TEST_CASE("gmx borrow fee after N whole intervals at a given utilisation", "[perp][gmx]") {
  GmxParams params = basket_params();
  params.margin_fee = 0.0;
  params.lp_fee_share = 1.0;
  params.funding_rate_factor = 0.0001;  // 0.01% per hour at full utilisation
  params.assets[0].initial_pool_amount = 980.0;
  const auto prices = prices_at(2000.0);
  GmxPool pool(params, prices);
  // 20 ETH collateral joins the pool: 1000 ETH; 400000 USD size reserves 200
  // ETH: utilisation 0.2.
  const auto open =
      pool.open_position(alice, PerpSide::long_, eth, eth, 20.0, 400'000.0, prices, 0.0);
  REQUIRE(open.succeeded());
  CHECK(pool.utilisation(eth) == Approx(0.2).margin(1e-15));
  // getNextFundingRate: factor x reserved / pool x whole intervals.
  CHECK(pool.cumulative_funding_rate(eth, 3599.0) == 0.0);
  CHECK(pool.borrow_fee_usd(open.position, 9 * hour + 3599.0) ==
        Approx(400'000.0 * 0.0001 * 0.2 * 9).margin(exact));
  // Closing 10 hours and 100 seconds later: 10 intervals, 400000 x 2e-4 = 80.
  const auto close = pool.close_position(open.position, alice, prices, 10 * hour + 100.0);
  REQUIRE(close.succeeded());
  CHECK(close.borrow_fee_usd == Approx(80.0).margin(exact));
  // Collateral 40000, no PnL, fee 80: 39920 USD of ETH out.
  CHECK(close.amount_out == Approx(39'920.0 / 2000.0).margin(exact));
  CHECK(pool.pnl().fees == Approx(80.0).margin(exact));
  CHECK(pool.cumulative_funding_rate(eth, 10 * hour + 100.0) == Approx(2e-4).margin(1e-18));
}

TEST_CASE("gmx PnL of a long and a short at a new price, and averaging on increase",
          "[perp][gmx]") {
  GmxPool pool(basket_params(), prices_at(2000.0));
  const auto longed =
      pool.open_position(alice, PerpSide::long_, eth, eth, 1.0, 10'000.0, prices_at(2000.0), 0.0);
  const auto shorted = pool.open_position(bob, PerpSide::short_, eth, usdc, 2000.0, 10'000.0,
                                          prices_at(2000.0), 0.0);
  REQUIRE(longed.succeeded());
  REQUIRE(shorted.succeeded());
  // getDelta: size x |price - average| / average, a loss for the long at 1800.
  CHECK(pool.position_pnl_usd(longed.position, prices_at(1800.0)) == Approx(-1000.0).margin(exact));
  CHECK(pool.position_pnl_usd(shorted.position, prices_at(1800.0)) == Approx(1000.0).margin(exact));
  // Short reserves USDC: 10000 / 1.
  CHECK(pool.reserved_amount(usdc) == Approx(10'000.0).margin(exact));
  CHECK(pool.short_collateral_usd(usdc) == Approx(1990.0).margin(exact));

  // Increase the long by 10000 at 2500: getNextAveragePrice = 2500 x 20000 /
  // (20000 + 2500) = 2222.2...: the PnL at 2500 stays the first leg's 2500.
  const auto more =
      pool.increase_position(longed.position, alice, 0.0, 10'000.0, prices_at(2500.0), 10.0);
  REQUIRE(more.succeeded());
  CHECK(pool.position(longed.position).average_price ==
        Approx(2500.0 * 20'000.0 / 22'500.0).epsilon(1e-15));
  CHECK(pool.position_pnl_usd(longed.position, prices_at(2500.0)) == Approx(2500.0).margin(exact));
  // Reserve: 5 ETH + 10000 / 2500.
  CHECK(pool.reserved_amount(eth) == Approx(9.0).margin(exact));
}

TEST_CASE("gmx liquidation boundaries: max leverage, then fees plus liquidation fee",
          "[perp][gmx]") {
  // Long 1 ETH at 2000, size 20000: collateral 2000 - 20 (fee) = 1980; loss at
  // P is 10 (2000 - P). validateLiquidation with margin fees 20 (closing
  // fee), liquidation fee 5, max leverage 50:
  //   remaining x 50 < 20000  <=> remaining < 400  <=> P < 1842    (state 2)
  //   remaining < 20 + 5                          <=> P < 1804.5  (state 1)
  const auto open_long = [](GmxPool& pool) {
    const auto r =
        pool.open_position(alice, PerpSide::long_, eth, eth, 1.0, 20'000.0, prices_at(2000.0), 0.0);
    REQUIRE(r.succeeded());
    return r.position;
  };
  SECTION("just above the max leverage bound: healthy, liquidate reverts") {
    GmxPool pool(basket_params(), prices_at(2000.0));
    const GmxPositionId id = open_long(pool);
    CHECK(pool.liquidation_state(id, prices_at(1842.01), 1.0) == GmxLiquidationState::healthy);
    const Snapshot before = snapshot(pool, 1.0);
    CHECK(pool.liquidate(id, prices_at(1842.01), 1.0).revert_reason == RevertReason::healthy);
    CHECK(snapshot(pool, 1.0) == before);
  }
  SECTION("just below it: closed for the owner, no liquidation fee") {
    GmxPool pool(basket_params(), prices_at(2000.0));
    const GmxPositionId id = open_long(pool);
    const auto r = pool.liquidate(id, prices_at(1841.99), 1.0);
    REQUIRE(r.succeeded());
    CHECK(r.state == GmxLiquidationState::max_leverage_exceeded);
    CHECK(r.liquidator_fee == 0.0);
    // remaining 1980 - 10 x 158.01 = 399.9; minus the closing fee 20.
    CHECK(r.owner_out == Approx(379.9 / 1841.99).margin(1e-9));
    CHECK_FALSE(pool.position(id).open);
  }
  SECTION("just above the fee bound: still only max leverage") {
    GmxPool pool(basket_params(), prices_at(2000.0));
    const GmxPositionId id = open_long(pool);
    CHECK(pool.liquidation_state(id, prices_at(1804.51), 1.0) ==
          GmxLiquidationState::max_leverage_exceeded);
  }
  SECTION("just below the fee bound: liquidated, liquidator paid 5 USD of ETH") {
    GmxPool pool(basket_params(), prices_at(2000.0));
    const GmxPositionId id = open_long(pool);
    const double price = 1804.49;
    const double remaining = 1980.0 - 10.0 * (2000.0 - price);  // 24.9
    const double trader_pnl_before = pool.pnl().trader_pnl;
    const double pool_eth_before = pool.pool_amount(eth);
    const auto r = pool.liquidate(id, prices_at(price), 1.0);
    REQUIRE(r.succeeded());
    CHECK(r.state == GmxLiquidationState::liquidatable);
    CHECK(r.liquidator_fee == Approx(5.0 / price).margin(1e-12));
    CHECK(r.fees_usd == Approx(20.0).margin(exact));
    CHECK(r.bad_debt_usd == 0.0);
    // liquidatePosition for a long: the pool loses the fee tokens (70% come
    // back) and the liquidation fee; its reserve and guarantee are released.
    CHECK(pool.pool_amount(eth) ==
          Approx(pool_eth_before - 0.3 * 20.0 / price - 5.0 / price).margin(1e-9));
    CHECK(pool.reserved_amount(eth) == 0.0);
    CHECK(pool.guaranteed_usd(eth) == 0.0);
    // Mark-to-market of the 10 ETH of reserve from 2000 to the price, then
    // the pool takes over the equity left net of fees and liquidation fee.
    CHECK(pool.pnl().trader_pnl - trader_pnl_before ==
          Approx(-10.0 * (price - 2000.0) + remaining - 20.0 - 5.0).margin(1e-8));
  }
  SECTION("losses beyond the collateral: bad debt borne by the pool") {
    GmxPool pool(basket_params(), prices_at(2000.0));
    const GmxPositionId id = open_long(pool);
    const auto r = pool.liquidate(id, prices_at(1700.0), 1.0);
    REQUIRE(r.succeeded());
    // Loss 3000 > collateral 1980.
    CHECK(r.bad_debt_usd == Approx(1020.0).margin(exact));
    CHECK(r.fees_usd == Approx(20.0).margin(exact));
  }
}

TEST_CASE("gmx short liquidation: the pool keeps the collateral less fees", "[perp][gmx]") {
  GmxPool pool(basket_params(), prices_at(2000.0));
  // Short: 1000 USDC, size 10000: collateral 990. Loss at 2190 = 950, left 40
  // >= 10 + 5, and 40 x 50 < 10000: max leverage. At 2197.2: loss 986, left
  // 4 < 15: liquidatable; fees capped at the 4 left (validateLiquidation).
  const auto open = pool.open_position(bob, PerpSide::short_, eth, usdc, 1000.0, 10'000.0,
                                       prices_at(2000.0), 0.0);
  REQUIRE(open.succeeded());
  CHECK(pool.liquidation_state(open.position, prices_at(2190.0), 0.0) ==
        GmxLiquidationState::max_leverage_exceeded);
  const double usdc_before = pool.pool_amount(usdc);
  const auto r = pool.liquidate(open.position, prices_at(2197.2), 0.0);
  REQUIRE(r.succeeded());
  CHECK(r.fees_usd == Approx(4.0).margin(1e-9));
  // Pool: + (990 - 4) collateral kept + 70% of the 4 fee - 5 to the liquidator.
  CHECK(pool.pool_amount(usdc) == Approx(usdc_before + 986.0 + 0.7 * 4.0 - 5.0).margin(1e-8));
  CHECK(pool.global_short_size(eth) == 0.0);
  CHECK(pool.short_collateral_usd(usdc) == 0.0);
  CHECK(pool.holdings(usdc) == Approx(4'000'000.0 + 1000.0 - 5.0).margin(1e-8));
}

TEST_CASE("gmx AUM includes the shorts' unrealised PnL through the global average price",
          "[perp][gmx]") {
  GmxParams params = basket_params();
  params.margin_fee = 0.0;
  GmxPool pool(params, prices_at(2000.0));
  REQUIRE(pool.open_position(alice, PerpSide::short_, eth, usdc, 1000.0, 10'000.0,
                             prices_at(2000.0), 0.0)
              .succeeded());
  REQUIRE(
      pool.open_position(bob, PerpSide::short_, eth, usdc, 1000.0, 10'000.0, prices_at(2500.0), 0.0)
          .succeeded());
  // getNextGlobalShortAveragePrice keeps the global delta equal to the sum:
  // 20000 / (10000/2000 + 10000/2500) = 2222.2...
  CHECK(pool.global_short_average_price(eth) == Approx(20'000.0 / 9.0).epsilon(1e-15));
  // At 2200: shorts lose 10000 x 0.1 = 1000 and gain 10000 x 0.12 = 1200:
  // net profit 200, which AUM subtracts. ETH pool 1000 x 2200.
  const auto prices = prices_at(2200.0);
  const double expected = 1000.0 * 2200.0 + 50.0 * 40'000.0 + 4'000'000.0 - 200.0;
  CHECK(pool.aum(prices) == Approx(expected).margin(exact));
  CHECK(hand_aum(pool, prices) == Approx(expected).margin(exact));
}

TEST_CASE("gmx GLP mint and redeem at AUM with the mint/burn fee", "[perp][gmx]") {
  const auto prices = prices_at(2000.0);
  GmxPool pool(basket_params(), prices);
  // _addLiquidity: 10 ETH, fee 0.3% = 0.03 ETH; 9.97 x 2000 = 19940 USD at
  // AUM 8e6 for 8e6 shares: 19940 shares.
  const auto minted = pool.add_liquidity(eth, 10.0, prices, 0.0);
  REQUIRE(minted.succeeded());
  CHECK(minted.shares == Approx(19'940.0).margin(exact));
  CHECK(minted.fee == Approx(0.03).margin(1e-15));
  // AUM: + 19940 + 70% of the 60 USD fee.
  const double aum_after = 8'000'000.0 + 19'940.0 + 0.7 * 60.0;
  CHECK(pool.aum(prices) == Approx(aum_after).margin(exact));
  // _removeLiquidity: 19940 shares are worth 19940 x AUM / supply USD; sellUSDG
  // pays it in USDC less 0.3%.
  const double usd = 19'940.0 * aum_after / (8'000'000.0 + 19'940.0);
  const auto redeemed = pool.remove_liquidity(19'940.0, usdc, prices, 0.0);
  REQUIRE(redeemed.succeeded());
  CHECK(redeemed.amount == Approx(usd * 0.997).margin(exact));
  CHECK(pool.total_supply() == Approx(8'000'000.0).margin(exact));
  CHECK(pool.pool_amount(usdc) == Approx(4'000'000.0 - usd + 0.7 * 0.003 * usd).margin(exact));
}

TEST_CASE("gmx reverts change nothing", "[perp][gmx]") {
  const auto prices = prices_at(2000.0);
  GmxPool pool(basket_params(), prices);
  const auto open =
      pool.open_position(alice, PerpSide::long_, eth, eth, 1.0, 10'000.0, prices, 0.0);
  REQUIRE(open.succeeded());
  const Snapshot before = snapshot(pool, 0.0);
  const std::array<double, 3> bad_prices{2000.0, -1.0, 1.0};
  // Each, with the reason GMX's require would give here.
  CHECK(pool.open_position(alice, PerpSide::long_, eth, usdc, 1.0, 10'000.0, prices, 0.0)
            .revert_reason ==
        RevertReason::invalid_token);  // long collateral must be the index token
  CHECK(pool.open_position(alice, PerpSide::short_, usdc, usdc, 100.0, 1000.0, prices, 0.0)
            .revert_reason == RevertReason::invalid_token);  // stables are not shortable
  CHECK(pool.open_position(alice, PerpSide::long_, unlisted, unlisted, 1.0, 1000.0, prices, 0.0)
            .revert_reason == RevertReason::invalid_token);
  CHECK(pool.open_position(alice, PerpSide::long_, eth, eth, 1.0, 1000.0, bad_prices, 0.0)
            .revert_reason == RevertReason::invalid_amount);
  CHECK(pool.open_position(alice, PerpSide::long_, eth, eth, -1.0, 1000.0, prices, 0.0)
            .revert_reason == RevertReason::invalid_amount);
  CHECK(pool.open_position(alice, PerpSide::long_, eth, eth, 1.0, 1000.0, prices, 0.0)
            .revert_reason == RevertReason::invalid_amount);  // size below collateral
  CHECK(pool.open_position(alice, PerpSide::long_, eth, eth, 1.0, 200'000.0, prices, 0.0)
            .revert_reason == RevertReason::unhealthy);  // 100x
  CHECK(pool.open_position(alice, PerpSide::long_, eth, eth, 100.0, 2'010'000.0, prices, 0.0)
            .revert_reason ==
        RevertReason::insufficient_liquidity);  // reserve 1005 ETH > pool 1000
  CHECK(pool.increase_position(open.position, bob, 1.0, 1000.0, prices, 0.0).revert_reason ==
        RevertReason::not_owner);
  CHECK(pool.decrease_position(open.position, bob, 0.0, 1000.0, prices, 0.0).revert_reason ==
        RevertReason::not_owner);
  CHECK(pool.decrease_position(open.position, alice, 0.0, 20'000.0, prices, 0.0).revert_reason ==
        RevertReason::invalid_amount);
  CHECK(pool.decrease_position(open.position, alice, 1900.0, 0.0, prices, 0.0).revert_reason ==
        RevertReason::unhealthy);  // 90 left for 10000: above 50x
  CHECK(pool.close_position(open.position, alice, prices_at(1000.0), 0.0).revert_reason ==
        RevertReason::unhealthy);  // losses exceed collateral: only a liquidation closes it
  CHECK(pool.liquidate(open.position, prices, 0.0).revert_reason == RevertReason::healthy);
  CHECK(pool.add_liquidity(unlisted, 1.0, prices, 0.0).revert_reason ==
        RevertReason::invalid_token);
  CHECK(pool.add_liquidity(eth, 0.0, prices, 0.0).revert_reason == RevertReason::invalid_amount);
  CHECK(pool.remove_liquidity(9'000'000.0, usdc, prices, 0.0).revert_reason ==
        RevertReason::invalid_amount);
  CHECK(pool.remove_liquidity(7'990'000.0, eth, prices, 0.0).revert_reason ==
        RevertReason::insufficient_liquidity);  // would take reserved ETH
  CHECK(pool.mark(bad_prices) == RevertReason::invalid_amount);
  CHECK(snapshot(pool, 0.0) == before);
}

TEST_CASE("gmx capacity: positions beyond max_positions revert", "[perp][gmx]") {
  GmxParams params = basket_params();
  params.max_positions = 2;
  const auto prices = prices_at(2000.0);
  GmxPool pool(params, prices);
  REQUIRE(
      pool.open_position(alice, PerpSide::long_, eth, eth, 1.0, 4000.0, prices, 0.0).succeeded());
  REQUIRE(
      pool.open_position(alice, PerpSide::long_, eth, eth, 1.0, 4000.0, prices, 0.0).succeeded());
  CHECK(pool.open_position(alice, PerpSide::long_, eth, eth, 1.0, 4000.0, prices, 0.0)
            .revert_reason == RevertReason::insufficient_liquidity);
}

// Random sequences of every operation over random price paths. After each
// step (the market marked to the step's prices):
//   conservation: holdings == initial + tokens in - tokens out (from the
//     results), and holdings == pool + fee reserves (+ shorts' collateral for
//     USDC, whose price stays 1), and reserved <= pool;
//   reverts change nothing;
//   aum() == GlpManager.getAum from the books (hand_aum);
//   delta_pnl grows by sum(pool before x price move), fees by lp_fee_share x
//     the fees in the results, both computed here;
//   aum == pnl().total() + net_deposits_usd().
// Rounding: each step's arithmetic is a few operations on amounts of ~1e7
// (~1e-9 absolute per operation, 2^-53 relative), accumulated over 600 steps
// into sums of ~1e7: the bound used is 1e-6 absolute (1e-13 relative); the
// worst error observed is 2e-8, 50x below it, while any formula error would
// be of the order of a fee (>= 1e-2).
TEST_CASE("gmx random sequences conserve tokens and decompose PnL exactly", "[perp][gmx]") {
  constexpr double tolerance = 1e-6;
  std::mt19937_64 rng(20240505);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::normal_distribution<double> normal(0.0, 1.0);
  // How often each outcome occurred: the sequences must reach all of them.
  int reverts = 0, closes = 0, liquidations = 0, leverage_closes = 0, bad_debts = 0;
  double worst_identity_error = 0.0;
  for (int path = 0; path < 20; ++path) {
    GmxParams params = basket_params();
    params.funding_rate_factor = 0.0001;
    params.stable_funding_rate_factor = 0.0002;
    params.lp_fee_share = path % 2 == 0 ? 0.7 : 1.0;
    auto prices = prices_at(2000.0);
    GmxPool pool(params, prices);
    std::array<double, 3> in{}, out{};
    const std::array<double, 3> initial{1000.0, 50.0, 4'000'000.0};
    double now = 0.0;
    std::vector<std::pair<GmxPositionId, AgentIndex>> open;
    for (int step = 0; step < 600; ++step) {
      now += unit(rng) * 2.0 * hour;
      const std::array<double, 3> pool_before{pool.pool_amount(eth), pool.pool_amount(btc),
                                              pool.pool_amount(usdc)};
      const auto old_prices = prices;
      prices[eth] *= std::exp(0.03 * normal(rng));
      prices[btc] *= std::exp(0.03 * normal(rng));
      const double delta_before = pool.pnl().delta_pnl;
      REQUIRE(pool.mark(prices) == RevertReason::none);
      double expected_delta = 0.0;
      for (AssetIndex a : {eth, btc, usdc})
        expected_delta += pool_before[a] * (prices[a] - old_prices[a]);
      CHECK(pool.pnl().delta_pnl - delta_before == Approx(expected_delta).margin(tolerance));

      const Snapshot before = snapshot(pool, now);
      const double fees_before = pool.pnl().fees;
      double expected_fees = 0.0;
      bool reverted = false;
      const double op = unit(rng);
      const AgentIndex who = static_cast<AgentIndex>(1 + step % 3);
      if (op < 0.35 || open.empty()) {
        const bool is_long = unit(rng) < 0.5;
        const AssetIndex index = unit(rng) < 0.5 ? eth : btc;
        const AssetIndex collateral = is_long ? index : usdc;
        const double collateral_usd = 100.0 + 20'000.0 * unit(rng);
        const double leverage = 1.2 + 60.0 * unit(rng);  // some above 50x: reverts
        const auto r = pool.open_position(who, is_long ? PerpSide::long_ : PerpSide::short_, index,
                                          collateral, collateral_usd / prices[collateral],
                                          collateral_usd * leverage, prices, now);
        reverted = !r.succeeded();
        if (!reverted) {
          open.emplace_back(r.position, who);
          in[collateral] += r.collateral_in;
          expected_fees = params.lp_fee_share * (r.position_fee_usd + r.borrow_fee_usd);
        }
      } else if (op < 0.75) {
        const std::size_t k =
            static_cast<std::size_t>(unit(rng) * static_cast<double>(open.size()));
        const auto [id, owner] = open[k];
        const auto& p = pool.position(id);
        const AssetIndex collateral = p.collateral_asset;
        const double choice = unit(rng);
        defisim::markets::GmxTradeResult r;
        if (choice < 0.2) {
          r = pool.increase_position(id, owner, 1000.0 * unit(rng) / prices[collateral],
                                     5000.0 * unit(rng), prices, now);
          if (r.succeeded()) in[collateral] += r.collateral_in;
        } else if (choice < 0.5) {
          r = pool.decrease_position(id, owner, p.collateral_usd * 0.3 * unit(rng),
                                     p.size_usd * unit(rng), prices, now);
        } else {
          r = pool.close_position(id, choice < 0.55 ? static_cast<AgentIndex>(owner + 1) : owner,
                                  prices, now);
        }
        reverted = !r.succeeded();
        if (!reverted) {
          out[collateral] += r.amount_out;
          expected_fees = params.lp_fee_share * (r.position_fee_usd + r.borrow_fee_usd);
          if (r.closed) ++closes;
          if (r.closed) open.erase(open.begin() + static_cast<std::ptrdiff_t>(k));
        }
      } else if (op < 0.85) {
        // A liquidator sweeps every open position.
        for (std::size_t k = 0; k < open.size();) {
          const GmxPositionId id = open[k].first;
          const AssetIndex collateral = pool.position(id).collateral_asset;
          const auto r = pool.liquidate(id, prices, now);
          if (r.succeeded()) {
            out[collateral] += r.liquidator_fee + r.owner_out;
            if (r.state == GmxLiquidationState::liquidatable) ++liquidations;
            if (r.state == GmxLiquidationState::max_leverage_exceeded) ++leverage_closes;
            if (r.bad_debt_usd > 0.0) ++bad_debts;
            expected_fees += params.lp_fee_share * r.fees_usd;
            open.erase(open.begin() + static_cast<std::ptrdiff_t>(k));
          } else {
            CHECK(r.revert_reason == RevertReason::healthy);
            ++k;
          }
        }
      } else if (op < 0.93) {
        const AssetIndex asset = static_cast<AssetIndex>(unit(rng) * 3.0);
        const auto r =
            pool.add_liquidity(asset, 200'000.0 * unit(rng) / prices[asset], prices, now);
        reverted = !r.succeeded();
        if (!reverted) {
          in[asset] += r.amount;
          expected_fees = params.lp_fee_share * r.fee * prices[asset];
        }
      } else {
        const AssetIndex asset = static_cast<AssetIndex>(unit(rng) * 3.0);
        const auto r =
            pool.remove_liquidity(pool.total_supply() * 0.05 * unit(rng), asset, prices, now);
        reverted = !r.succeeded();
        if (!reverted) {
          out[asset] += r.amount;
          expected_fees = params.lp_fee_share * r.fee * prices[asset];
        }
      }
      if (reverted) {
        ++reverts;
        CHECK(snapshot(pool, now) == before);
      }
      CHECK(pool.pnl().fees - fees_before == Approx(expected_fees).margin(tolerance));

      for (AssetIndex a : {eth, btc, usdc}) {
        CHECK(pool.holdings(a) == Approx(initial[a] + in[a] - out[a]).margin(tolerance));
        const double backing =
            pool.pool_amount(a) + pool.fee_reserves(a) + pool.short_collateral_usd(a) / prices[a];
        CHECK(pool.holdings(a) == Approx(backing).margin(tolerance));
        CHECK(pool.reserved_amount(a) <= pool.pool_amount(a) + tolerance);
      }
      const double value = pool.aum(prices);
      CHECK(value == Approx(hand_aum(pool, prices)).margin(tolerance));
      CHECK(value == Approx(pool.pnl().total() + pool.net_deposits_usd()).margin(tolerance));
      worst_identity_error = std::max(
          worst_identity_error, std::abs(value - pool.pnl().total() - pool.net_deposits_usd()));
      defisim::markets::test::check_open_ids(
          pool, [](const GmxPool& m) { return m.position_count(); },
          [](const GmxPool& m, std::uint32_t position) { return m.position(position).open; },
          [](const GmxPool& m) { return m.open_position_count(); },
          [](const GmxPool& m, std::size_t slot) { return m.open_position_id(slot); });
    }
  }
  // Observed worst |aum - (pnl + deposits)|: 2e-8 (seed 20240505).
  CHECK(worst_identity_error < tolerance);
  CHECK(reverts > 0);
  CHECK(closes > 0);
  CHECK(liquidations > 0);
  CHECK(leverage_closes > 0);
  CHECK(bad_debts > 0);
}

// A trader who wins half the time against a zero-fee pool: open a long or a
// short (each with probability 1/2) of 10000 USD at 2000 with 2000 USD of
// collateral, the price moves to 2000 (1 + 0.03 Z), Z standard normal
// (symmetric, so P(win) = 1/2 and E[move] = 0), close. The pool's trading PnL
// per round is -(trader's PnL), mean 0 and standard deviation 10000 x 0.03 =
// 300; over n = 20000 rounds its mean has standard error 300 / sqrt(n) ~ 2.1.
// (sigma 3%: a 5x position loses its collateral only beyond Z = -6.7.)
// The test: |sample mean| < 3 x the sample standard error.
TEST_CASE("gmx a 50% win-rate trader leaves the pool's expected trading PnL at zero",
          "[perp][gmx]") {
  GmxParams params = basket_params();
  params.margin_fee = 0.0;
  params.liquidation_fee_usd = 0.0;
  params.mint_burn_fee = 0.0;
  params.max_positions = 20'001;
  const auto base = prices_at(2000.0);
  GmxPool pool(params, base);
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::bernoulli_distribution coin(0.5);
  constexpr int rounds = 20'000;
  double sum = 0.0;
  double sum_squares = 0.0;
  for (int round = 0; round < rounds; ++round) {
    REQUIRE(pool.mark(base) == RevertReason::none);
    const double before = pool.pnl().trader_pnl;
    const bool is_long = coin(rng);
    const AssetIndex collateral = is_long ? eth : usdc;
    const auto open =
        pool.open_position(alice, is_long ? PerpSide::long_ : PerpSide::short_, eth, collateral,
                           2000.0 / base[collateral], 10'000.0, base, 0.0);
    REQUIRE(open.succeeded());
    const auto moved = prices_at(2000.0 * (1.0 + 0.03 * normal(rng)));
    const auto close = pool.close_position(open.position, alice, moved, 0.0);
    REQUIRE(close.succeeded());
    const double pool_pnl = pool.pnl().trader_pnl - before;
    // The pool's side is exactly the trader's realised PnL, negated.
    CHECK(pool_pnl == Approx(-close.realised_pnl_usd).margin(1e-6));
    sum += pool_pnl;
    sum_squares += pool_pnl * pool_pnl;
  }
  const double mean = sum / rounds;
  const double variance = (sum_squares - rounds * mean * mean) / (rounds - 1);
  const double standard_error = std::sqrt(variance / rounds);
  CHECK(standard_error == Approx(300.0 / std::sqrt(rounds)).epsilon(0.05));
  CHECK(std::abs(mean) < 3.0 * standard_error);
}
