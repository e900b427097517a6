// Tests of the gTrade-style perpetual vault against hand-derived values.
//
// Sources (gTrade v6.1 GNSPairInfos, unchanged in v6.3.x; v6.3 callbacks for
// the vault settlement), written here in fractions rather than gTrade's
// PRECISION percent:
//   impact       = (OI of the side + requested notional / 2) / depth / 100
//                  (getTradePriceImpactPure); long opens at p (1 + impact),
//                  short at p (1 - impact)
//   open fee     = open_fee x collateral x leverage, out of the collateral
//   funding      = longs pay (OI_L - OI_S) x rate x dt, per unit of long OI;
//                  shorts receive it per unit of short OI
//                  (getPendingAccFundingFees); trade fee = acc delta x notional
//   rollover     = rate x dt x collateral (getTradeRolloverFeePure)
//   profit       = notional x side x (p / open - 1), <= 9 x collateral
//                  (currentPercentProfit, MAX_GAIN_P = 900)
//   value        = collateral + profit - rollover - funding; 0 if <= 10% of
//                  collateral, else minus the closing fee (getTradeValuePure)
//   liq price    = open -+ open (0.9 collateral - rollover - funding) /
//                  (collateral x leverage) (getTradeLiquidationPricePure)
// Expected values are literals worked out by hand from these formulas.
//
// Tolerances: each expected value takes fewer than ten double operations, so
// 1e-12 relative leaves ~1000x margin for rounding; sums over long random
// sequences use 1e-9 relative to the amounts involved.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "markets/perp_gtrade.hpp"
#include "tests/markets/open_ids_check.hpp"

using defisim::core::AgentIndex;
using defisim::core::RevertReason;
using defisim::markets::GtradeParams;
using defisim::markets::GtradeTradeId;
using defisim::markets::GtradeVault;
using defisim::markets::PerpSide;

namespace {

constexpr double rel = 1e-12;
constexpr AgentIndex alice = 1;
constexpr AgentIndex bob = 2;

// Zero fees, no impact, no caps: each test turns on what it checks.
GtradeParams bare_params(double vault_assets = 1'000'000.0) {
  GtradeParams p;
  p.collateral_asset = 0;
  p.traded_asset = 1;
  p.open_fee = 0.0;
  p.close_fee = 0.0;
  p.liquidation_reward = 0.05;
  p.initial_vault_assets = vault_assets;
  p.max_trades = 1000;
  return p;
}

// Every observable of the vault, to check that a revert changes nothing.
struct Snapshot {
  double vault_assets, shares, oi_long, oi_short, collateral_held, last_update;
  double acc_long, acc_short, acc_rollover, fees, trader_pnl, paid, protocol;
  std::size_t trades, open;
  std::vector<bool> open_flags;
  bool operator==(const Snapshot&) const = default;
};

Snapshot snapshot(const GtradeVault& v) {
  const double t = v.last_update_seconds();
  Snapshot s{v.vault_assets(),
             v.total_shares(),
             v.open_interest_usd(PerpSide::long_),
             v.open_interest_usd(PerpSide::short_),
             v.collateral_held(),
             t,
             v.acc_funding_per_notional(PerpSide::long_, t),
             v.acc_funding_per_notional(PerpSide::short_, t),
             v.acc_rollover_per_collateral(t),
             v.pool_pnl().fees,
             v.pool_pnl().trader_pnl,
             v.paid_to_traders(),
             v.protocol_fees(),
             v.trade_count(),
             v.open_trade_count(),
             {}};
  for (GtradeTradeId id = 0; id < v.trade_count(); ++id) s.open_flags.push_back(v.is_open(id));
  return s;
}

}  // namespace

TEST_CASE("gtrade price impact from open interest and one-percent depth", "[perp][gtrade]") {
  GtradeParams p = bare_params();
  p.one_percent_depth_above_usd = 1'000'000.0;
  p.one_percent_depth_below_usd = 500'000.0;
  p.open_fee = 0.0008;
  GtradeVault v(p);

  // Long 10,000 x 10: requested 100,000; impact (0 + 50,000) / 1e6 / 100 =
  // 0.0005; open 2000 x 1.0005 = 2001. Fee 0.0008 x 100,000 = 80, kept 9,920,
  // notional 99,200.
  const auto a = v.open_trade(alice, PerpSide::long_, 10'000.0, 10.0, 2000.0, 0.0);
  REQUIRE(a.succeeded());
  CHECK(a.price_impact == Approx(0.0005).epsilon(rel));
  CHECK(a.open_price == Approx(2001.0).epsilon(rel));
  CHECK(a.open_fee == Approx(80.0).epsilon(rel));
  CHECK(a.collateral == Approx(9'920.0).epsilon(rel));
  CHECK(v.open_interest_usd(PerpSide::long_) == Approx(99'200.0).epsilon(rel));

  // Second long 5,000 x 20 = 100,000 requested on 99,200 of long OI:
  // (99,200 + 50,000) / 1e6 / 100 = 0.001492; open 2000 x 1.001492 = 2002.984.
  const auto b = v.open_trade(bob, PerpSide::long_, 5'000.0, 20.0, 2000.0, 0.0);
  REQUIRE(b.succeeded());
  CHECK(b.price_impact == Approx(0.001492).epsilon(rel));
  CHECK(b.open_price == Approx(2002.984).epsilon(rel));

  // Short 1,000 x 50 = 50,000 with the depth below, no short OI:
  // 25,000 / 500,000 / 100 = 0.0005; open 2000 x 0.9995 = 1999.
  const auto c = v.open_trade(bob, PerpSide::short_, 1'000.0, 50.0, 2000.0, 0.0);
  REQUIRE(c.succeeded());
  CHECK(c.price_impact == Approx(0.0005).epsilon(rel));
  CHECK(c.open_price == Approx(1999.0).epsilon(rel));
}

TEST_CASE("gtrade impact times leverage above maxNegativePnlOnOpen reverts", "[perp][gtrade]") {
  GtradeParams p = bare_params();
  p.one_percent_depth_above_usd = 100'000.0;
  GtradeVault v(p);
  // 10,000 x 50 = 500,000: impact 250,000 / 100,000 / 100 = 0.025; x 50 =
  // 1.25 > 0.4.
  const Snapshot before = snapshot(v);
  CHECK(v.open_trade(alice, PerpSide::long_, 10'000.0, 50.0, 2000.0, 0.0).revert_reason ==
        RevertReason::slippage);
  CHECK(snapshot(v) == before);
  // 1,000 x 10 = 10,000: impact 5,000 / 100,000 / 100 = 0.0005, x 10 = 0.005.
  CHECK(v.open_trade(alice, PerpSide::long_, 1'000.0, 10.0, 2000.0, 0.0).succeeded());
  // A worst price below the impacted open price reverts a long.
  CHECK(v.open_trade(alice, PerpSide::long_, 1'000.0, 10.0, 2000.0, 0.0, 2000.5).revert_reason ==
        RevertReason::slippage);
}

TEST_CASE("gtrade funding accrues on the long-short imbalance", "[perp][gtrade]") {
  GtradeParams p = bare_params();
  p.funding_fee_per_second = 1e-7;
  GtradeVault v(p);
  const auto a = v.open_trade(alice, PerpSide::long_, 10'000.0, 10.0, 2000.0, 0.0);  // 100,000 long
  const auto b = v.open_trade(bob, PerpSide::short_, 4'000.0, 10.0, 2000.0, 0.0);    // 40,000 short
  REQUIRE(a.succeeded());
  REQUIRE(b.succeeded());
  // t = 1000: longs pay 60,000 x 1e-7 x 1000 = 6, all of it from the long;
  // the short receives 6.
  CHECK(v.pending_funding_fee(a.trade, 1000.0) == Approx(6.0).epsilon(rel));
  CHECK(v.pending_funding_fee(b.trade, 1000.0) == Approx(-6.0).epsilon(rel));

  // A second short of 20,000 at t = 1000; by t = 3000 longs pay
  // 40,000 x 1e-7 x 2000 = 8 more: the long owes 14, the first short
  // receives 6 + 8 x 40/60, the new one 8 x 20/60.
  const auto c = v.open_trade(bob, PerpSide::short_, 2'000.0, 10.0, 2000.0, 1000.0);
  REQUIRE(c.succeeded());
  CHECK(v.pending_funding_fee(a.trade, 3000.0) == Approx(14.0).epsilon(rel));
  CHECK(v.pending_funding_fee(b.trade, 3000.0) == Approx(-(6.0 + 16.0 / 3.0)).epsilon(rel));
  CHECK(v.pending_funding_fee(c.trade, 3000.0) == Approx(-8.0 / 3.0).epsilon(rel));

  // Closing at an unchanged price settles it: the long gets 10,000 - 14.
  const auto closed = v.close_trade(a.trade, alice, 2000.0, 3000.0);
  REQUIRE(closed.succeeded());
  CHECK(closed.funding_fee == Approx(14.0).epsilon(rel));
  CHECK(closed.payout == Approx(9'986.0).epsilon(rel));
  CHECK(closed.vault_change == Approx(14.0).epsilon(rel));
}

TEST_CASE("gtrade funding with one side empty is paid to the vault", "[perp][gtrade]") {
  GtradeParams p = bare_params();
  p.funding_fee_per_second = 1e-7;
  GtradeVault v(p);
  const auto a = v.open_trade(alice, PerpSide::long_, 10'000.0, 10.0, 2000.0, 0.0);
  // 100,000 x 1e-7 x 1000 = 10.
  const auto closed = v.close_trade(a.trade, alice, 2000.0, 1000.0);
  REQUIRE(closed.succeeded());
  CHECK(closed.funding_fee == Approx(10.0).epsilon(rel));
  CHECK(closed.payout == Approx(9'990.0).epsilon(rel));
  CHECK(v.vault_assets() == Approx(1'000'010.0).epsilon(rel));
  CHECK(v.pool_pnl().fees == Approx(10.0).epsilon(rel));
  CHECK(v.pool_pnl().trader_pnl == Approx(0.0).margin(1e-9));
}

TEST_CASE("gtrade rollover accrues on collateral", "[perp][gtrade]") {
  GtradeParams p = bare_params();
  p.rollover_fee_per_second = 1e-8;
  GtradeVault v(p);
  const auto a = v.open_trade(alice, PerpSide::short_, 10'000.0, 5.0, 2000.0, 100.0);
  // 10,000 x 1e-8 x 86,400 = 8.64 a day, whatever the leverage.
  CHECK(v.pending_rollover_fee(a.trade, 86'500.0) == Approx(8.64).epsilon(rel));
  const auto closed = v.close_trade(a.trade, alice, 2000.0, 86'500.0);
  REQUIRE(closed.succeeded());
  CHECK(closed.rollover_fee == Approx(8.64).epsilon(rel));
  CHECK(closed.payout == Approx(10'000.0 - 8.64).epsilon(rel));
  CHECK(v.rollover_fees() == Approx(8.64).epsilon(rel));
}

TEST_CASE("gtrade liquidation price and liquidation at the boundary", "[perp][gtrade]") {
  GtradeParams p = bare_params();
  GtradeVault v(p);
  // Long 1,000 x 10 at 2000, no fees owed: distance 2000 x 900 / 1000 / 10 =
  // 180, liquidation price 1820; a short's is 2180.
  const auto a = v.open_trade(alice, PerpSide::long_, 1'000.0, 10.0, 2000.0, 0.0);
  const auto s = v.open_trade(bob, PerpSide::short_, 1'000.0, 10.0, 2000.0, 0.0);
  CHECK(v.liquidation_price(a.trade, 0.0) == Approx(1820.0).epsilon(rel));
  CHECK(v.liquidation_price(s.trade, 0.0) == Approx(2180.0).epsilon(rel));

  const Snapshot before = snapshot(v);
  CHECK(v.liquidate(a.trade, 1820.001, 0.0).revert_reason == RevertReason::healthy);
  CHECK(v.liquidate(s.trade, 2179.999, 0.0).revert_reason == RevertReason::healthy);
  CHECK(snapshot(v) == before);

  // At the boundary: the liquidator gets 5% of 1,000, the vault the other 950.
  const auto liq = v.liquidate(a.trade, v.liquidation_price(a.trade, 0.0), 0.0);
  REQUIRE(liq.succeeded());
  CHECK(liq.payout == 0.0);
  CHECK(liq.liquidator_reward == Approx(50.0).epsilon(rel));
  CHECK(liq.vault_change == Approx(950.0).epsilon(rel));
  CHECK(v.vault_assets() == Approx(1'000'950.0).epsilon(rel));
  CHECK_FALSE(v.is_open(a.trade));
  CHECK(v.liquidate(a.trade, 1000.0, 0.0).revert_reason == RevertReason::invalid_amount);
}

TEST_CASE("gtrade liquidation price moves with rollover owed", "[perp][gtrade]") {
  GtradeParams p = bare_params();
  p.rollover_fee_per_second = 1e-7;
  GtradeVault v(p);
  const auto a = v.open_trade(alice, PerpSide::long_, 1'000.0, 10.0, 2000.0, 0.0);
  // After 100,000 s: rollover 1,000 x 1e-7 x 1e5 = 10; distance
  // 2000 x (900 - 10) / 1000 / 10 = 178; liquidation price 1822.
  const double liq_price = v.liquidation_price(a.trade, 100'000.0);
  CHECK(liq_price == Approx(1822.0).epsilon(rel));
  CHECK_FALSE(v.liquidatable(a.trade, liq_price * (1.0 + 1e-9), 100'000.0));
  CHECK(v.liquidatable(a.trade, liq_price, 100'000.0));
  // Closing below it pays nothing: at 1821 the value is 1,000 + 10,000 x
  // (1821 / 2000 - 1) - 10 = 95, below 10% of the collateral.
  CHECK(v.trade_payout(a.trade, 1821.0, 100'000.0) == 0.0);
  CHECK(v.liquidate(a.trade, liq_price, 100'000.0).succeeded());
}

TEST_CASE("gtrade profit is capped at +900 percent", "[perp][gtrade]") {
  GtradeVault v(bare_params());
  const auto a = v.open_trade(alice, PerpSide::long_, 1'000.0, 10.0, 2000.0, 0.0);
  // Price doubles: uncapped profit 10,000 x 1 = 10,000, capped at 9 x 1,000.
  const auto closed = v.close_trade(a.trade, alice, 4000.0, 0.0);
  REQUIRE(closed.succeeded());
  CHECK(closed.profit == Approx(9'000.0).epsilon(rel));
  CHECK(closed.payout == Approx(10'000.0).epsilon(rel));
  CHECK(closed.vault_change == Approx(-9'000.0).epsilon(rel));
  // Below the cap the profit is linear: a short at 2000 closed at 1900 with
  // 10x earns 10,000 x 0.05 = 500.
  const auto s = v.open_trade(bob, PerpSide::short_, 1'000.0, 10.0, 2000.0, 0.0);
  CHECK(v.close_trade(s.trade, bob, 1900.0, 0.0).payout == Approx(1'500.0).epsilon(rel));
}

TEST_CASE("gtrade open and close fees with a vault share", "[perp][gtrade]") {
  GtradeParams p = bare_params(100'000.0);
  p.open_fee = 0.0008;
  p.close_fee = 0.0008;
  p.vault_fee_share = 0.5;
  GtradeVault v(p);
  // Open 1,000 x 10 at 2000: fee 0.0008 x 10,000 = 8 (4 to the vault, 4 to
  // the protocol); collateral 992, notional 9,920.
  const auto a = v.open_trade(alice, PerpSide::long_, 1'000.0, 10.0, 2000.0, 0.0);
  REQUIRE(a.succeeded());
  CHECK(a.open_fee == Approx(8.0).epsilon(rel));
  CHECK(a.notional_usd == Approx(9'920.0).epsilon(rel));
  CHECK(v.vault_assets() == Approx(100'004.0).epsilon(rel));
  CHECK(v.protocol_fees() == Approx(4.0).epsilon(rel));
  // Close at 2100: profit 9,920 x 0.05 = 496; closing fee 0.0008 x 9,920 =
  // 7.936; payout 992 + 496 - 7.936 = 1,480.064; the vault gets 3.968 of the
  // fee and pays 496: change -492.032.
  const auto closed = v.close_trade(a.trade, alice, 2100.0, 0.0);
  REQUIRE(closed.succeeded());
  CHECK(closed.closing_fee == Approx(7.936).epsilon(rel));
  CHECK(closed.payout == Approx(1'480.064).epsilon(rel));
  CHECK(closed.vault_change == Approx(-492.032).epsilon(rel));
  CHECK(v.protocol_fees() == Approx(7.968).epsilon(rel));
  CHECK(v.pool_pnl().fees == Approx(7.968).epsilon(rel));
  CHECK(v.pool_pnl().trader_pnl == Approx(-496.0).epsilon(rel));
  CHECK(v.vault_assets() == Approx(100'000.0 + 4.0 - 492.032).epsilon(rel));
}

TEST_CASE("gtrade vault share price after a trader's loss and win", "[perp][gtrade]") {
  GtradeVault v(bare_params(100'000.0));
  CHECK(v.share_price() == 1.0);
  const auto d = v.deposit(50'000.0);
  REQUIRE(d.succeeded());
  CHECK(d.shares == Approx(50'000.0).epsilon(rel));

  // A loss: long 1,000 x 5 at 2000 closed at 1900 loses 5,000 x 0.05 = 250;
  // the vault has 150,250 for 150,000 shares.
  const auto a = v.open_trade(alice, PerpSide::long_, 1'000.0, 5.0, 2000.0, 0.0);
  CHECK(v.close_trade(a.trade, alice, 1900.0, 0.0).payout == Approx(750.0).epsilon(rel));
  CHECK(v.share_price() == Approx(150'250.0 / 150'000.0).epsilon(rel));

  // A win: short 2,000 x 5 at 2000 closed at 1900 wins 10,000 x 0.05 = 500.
  const auto b = v.open_trade(bob, PerpSide::short_, 2'000.0, 5.0, 2000.0, 0.0);
  // Marked to 1900 the vault is down the open 500 already.
  CHECK(v.marked_share_price(1900.0, 0.0) == Approx(149'750.0 / 150'000.0).epsilon(rel));
  CHECK(v.close_trade(b.trade, bob, 1900.0, 0.0).payout == Approx(2'500.0).epsilon(rel));
  CHECK(v.share_price() == Approx(149'750.0 / 150'000.0).epsilon(rel));

  // Deposits and redemptions at that price.
  const auto d2 = v.deposit(14'975.0);
  CHECK(d2.shares == Approx(14'975.0 * 150'000.0 / 149'750.0).epsilon(rel));
  const auto r = v.redeem(15'000.0);
  REQUIRE(r.succeeded());
  CHECK(r.assets == Approx(15'000.0 * 149'750.0 / 150'000.0).epsilon(rel));
  // Redeeming every share empties the vault exactly.
  const auto all = v.redeem(v.total_shares());
  REQUIRE(all.succeeded());
  CHECK(v.vault_assets() == 0.0);
}

TEST_CASE("gtrade open interest and per-trader caps revert", "[perp][gtrade]") {
  GtradeParams p = bare_params();
  p.max_open_interest_usd = 100'000.0;
  p.max_position_per_trader_usd = 70'000.0;
  GtradeVault v(p);
  REQUIRE(v.open_trade(alice, PerpSide::long_, 6'000.0, 10.0, 2000.0, 0.0).succeeded());  // 60,000
  const Snapshot before = snapshot(v);
  // 60,000 + 50,000 > 100,000 on the long side.
  CHECK(v.open_trade(bob, PerpSide::long_, 5'000.0, 10.0, 2000.0, 0.0).revert_reason ==
        RevertReason::cap_exceeded);
  // Alice's 60,000 + 20,000 > 70,000 even on the short side.
  CHECK(v.open_trade(alice, PerpSide::short_, 2'000.0, 10.0, 2000.0, 0.0).revert_reason ==
        RevertReason::cap_exceeded);
  CHECK(snapshot(v) == before);
  // Up to the caps is fine: 40,000 more long for bob, 10,000 short for alice.
  CHECK(v.open_trade(bob, PerpSide::long_, 4'000.0, 10.0, 2000.0, 0.0).succeeded());
  CHECK(v.open_trade(alice, PerpSide::short_, 1'000.0, 10.0, 2000.0, 0.0).succeeded());
  CHECK(v.open_interest_usd(PerpSide::long_) == Approx(100'000.0).epsilon(rel));
  CHECK(v.trader_open_notional_usd(alice) == Approx(70'000.0).epsilon(rel));

  GtradeParams small = bare_params();
  small.max_trades = 2;
  GtradeVault w(small);
  CHECK(w.open_trade(alice, PerpSide::long_, 100.0, 2.0, 2000.0, 0.0).succeeded());
  CHECK(w.open_trade(alice, PerpSide::long_, 100.0, 2.0, 2000.0, 0.0).succeeded());
  CHECK(w.open_trade(alice, PerpSide::long_, 100.0, 2.0, 2000.0, 0.0).revert_reason ==
        RevertReason::cap_exceeded);
}

TEST_CASE("gtrade reverts change nothing", "[perp][gtrade]") {
  GtradeParams p = bare_params(1'000.0);
  p.funding_fee_per_second = 1e-6;
  p.rollover_fee_per_second = 1e-7;
  p.max_leverage = 50.0;
  GtradeVault v(p);
  const auto a = v.open_trade(alice, PerpSide::long_, 1'000.0, 10.0, 2000.0, 10.0);
  REQUIRE(a.succeeded());
  const Snapshot before = snapshot(v);
  const double nan = std::nan("");
  CHECK(v.open_trade(bob, PerpSide::long_, 0.0, 10.0, 2000.0, 20.0).revert_reason ==
        RevertReason::invalid_amount);
  CHECK(v.open_trade(bob, PerpSide::long_, nan, 10.0, 2000.0, 20.0).revert_reason ==
        RevertReason::invalid_amount);
  CHECK(v.open_trade(bob, PerpSide::long_, 100.0, 51.0, 2000.0, 20.0).revert_reason ==
        RevertReason::invalid_amount);
  CHECK(v.open_trade(bob, PerpSide::long_, 100.0, 0.5, 2000.0, 20.0).revert_reason ==
        RevertReason::invalid_amount);
  CHECK(v.open_trade(bob, PerpSide::long_, 100.0, 10.0, 0.0, 20.0).revert_reason ==
        RevertReason::invalid_amount);
  CHECK(v.open_trade(bob, PerpSide::long_, 100.0, 10.0, 2000.0, 5.0).revert_reason ==
        RevertReason::invalid_amount);  // time runs backwards
  CHECK(v.close_trade(a.trade, bob, 2100.0, 20.0).revert_reason == RevertReason::not_owner);
  CHECK(v.close_trade(7, alice, 2100.0, 20.0).revert_reason == RevertReason::invalid_amount);
  // The vault holds 1,000 and cannot pay a profit of 10,000 x 0.5 = 5,000.
  CHECK(v.close_trade(a.trade, alice, 3000.0, 20.0).revert_reason ==
        RevertReason::insufficient_liquidity);
  CHECK(v.liquidate(a.trade, 1900.0, 20.0).revert_reason == RevertReason::healthy);
  CHECK(v.deposit(-1.0).revert_reason == RevertReason::invalid_amount);
  CHECK(v.redeem(2'000.0).revert_reason == RevertReason::insufficient_liquidity);
  CHECK(v.redeem(0.0).revert_reason == RevertReason::invalid_amount);
  CHECK(snapshot(v) == before);
}

TEST_CASE("gtrade constructor rejects bad parameters", "[perp][gtrade]") {
  auto throws = [](auto mutate) {
    GtradeParams p = bare_params();
    mutate(p);
    CHECK_THROWS_AS(GtradeVault(p), std::invalid_argument);
  };
  throws([](GtradeParams& p) { p.traded_asset = p.collateral_asset; });
  throws([](GtradeParams& p) { p.max_gain = 0.0; });
  throws([](GtradeParams& p) { p.liquidation_loss = 1.5; });
  throws([](GtradeParams& p) { p.open_fee = 0.01; });  // x 150 leverage >= 1
  throws([](GtradeParams& p) { p.max_leverage = 0.5; });
  throws([](GtradeParams& p) { p.funding_fee_per_second = -1.0; });
  throws([](GtradeParams& p) { p.max_trades = 0; });
  throws([](GtradeParams& p) { p.initial_vault_assets = std::nan(""); });
}

TEST_CASE("gtrade conserves tokens and splits the vault's PnL exactly over random sequences",
          "[perp][gtrade]") {
  GtradeParams p = bare_params(500'000.0);
  p.one_percent_depth_above_usd = 2'000'000.0;
  p.one_percent_depth_below_usd = 1'500'000.0;
  p.funding_fee_per_second = 3e-8;
  p.rollover_fee_per_second = 5e-9;
  p.open_fee = 0.0008;
  p.close_fee = 0.0006;
  p.vault_fee_share = 0.7;
  p.max_open_interest_usd = 3'000'000.0;
  p.max_position_per_trader_usd = 800'000.0;
  p.max_leverage = 100.0;
  p.max_trades = 5000;

  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    GtradeVault v(p);
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    double price = 2000.0;
    double now = 0.0;
    int successes = 0;
    int liquidations = 0;
    for (int step = 0; step < 3000; ++step) {
      price *= std::exp(0.02 * (unit(rng) - 0.5));
      now += 600.0 * unit(rng);
      const double u = unit(rng);
      const AgentIndex who = static_cast<AgentIndex>(rng() % 8);
      bool ok = false;
      if (u < 0.4) {
        const PerpSide side = unit(rng) < 0.5 ? PerpSide::long_ : PerpSide::short_;
        ok =
            v.open_trade(who, side, 100.0 + 5'000.0 * unit(rng), 1.0 + 99.0 * unit(rng), price, now)
                .succeeded();
      } else if (u < 0.7 && v.open_trade_count() > 0) {
        const GtradeTradeId id = v.open_trade_id(rng() % v.open_trade_count());
        ok = v.close_trade(id, v.trade(id).owner, price, now).succeeded();
      } else if (u < 0.85 && v.open_trade_count() > 0) {
        const GtradeTradeId id = v.open_trade_id(rng() % v.open_trade_count());
        ok = v.liquidate(id, price, now).succeeded();
        liquidations += ok ? 1 : 0;
      } else if (u < 0.93) {
        ok = v.deposit(50'000.0 * unit(rng)).succeeded();
      } else {
        ok = v.redeem(0.1 * v.total_shares() * unit(rng)).succeeded();
      }
      successes += ok ? 1 : 0;
      // Tokens: what the market holds plus what left it equals what came in.
      const double held_and_out = v.vault_assets() + v.collateral_held() + v.paid_to_traders() +
                                  v.paid_to_liquidators() + v.protocol_fees() + v.redeemed();
      const double in = v.deposited() + v.collateral_paid_in();
      REQUIRE(held_and_out == Approx(in).epsilon(1e-9));
      defisim::markets::test::check_open_ids(
          v, [](const GtradeVault& m) { return m.trade_count(); },
          [](const GtradeVault& m, std::uint32_t trade) { return m.is_open(trade); },
          [](const GtradeVault& m) { return m.open_trade_count(); },
          [](const GtradeVault& m, std::size_t slot) { return m.open_trade_id(slot); });
      // The PnL split is the vault's change apart from LP flows.
      const double vault_result = v.vault_assets() - v.deposited() + v.redeemed();
      REQUIRE(v.pool_pnl().total() == Approx(vault_result).margin(1e-9 * in));
      REQUIRE(v.pool_pnl().delta_pnl == 0.0);
    }
    CHECK(successes > 1000);
    CHECK(liquidations > 10);
    CHECK(v.trade_count() > 500);
    // Open interest is the sum of the open trades' notionals.
    double long_oi = 0.0, short_oi = 0.0;
    for (std::size_t slot = 0; slot < v.open_trade_count(); ++slot) {
      const auto& t = v.trade(v.open_trade_id(slot));
      (t.side == PerpSide::long_ ? long_oi : short_oi) += t.notional_usd;
    }
    CHECK(v.open_interest_usd(PerpSide::long_) == Approx(long_oi).margin(1e-6));
    CHECK(v.open_interest_usd(PerpSide::short_) == Approx(short_oi).margin(1e-6));
  }
}

TEST_CASE("gtrade a fair coin-flip trader leaves the vault's expected PnL at zero",
          "[perp][gtrade]") {
  // Zero fees, no impact, no funding or rollover. Each trade: 1,000 x 10 at
  // 2000, closed at 2000 (1 + x) with x uniform on [-0.05, 0.05] (symmetric:
  // wins and losses equally likely). |profit| <= 10,000 x 0.05 = 500 keeps
  // every trade away from the cap (9,000) and the liquidation (-900), so the
  // vault's PnL per trade is -10,000 x, mean 0, sd 10,000 x 0.1 / sqrt(12) =
  // 288.7; over n = 20,000 trades the standard error is 2.04.
  GtradeParams p = bare_params(10'000'000.0);
  p.max_trades = 20'000;
  GtradeVault v(p);
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> move(-0.05, 0.05);
  const int n = 20'000;
  double sum = 0.0, sum_sq = 0.0;
  for (int i = 0; i < n; ++i) {
    const auto a = v.open_trade(alice, i % 2 == 0 ? PerpSide::long_ : PerpSide::short_, 1'000.0,
                                10.0, 2000.0, 0.0);
    REQUIRE(a.succeeded());
    const auto c = v.close_trade(a.trade, alice, 2000.0 * (1.0 + move(rng)), 0.0);
    REQUIRE(c.succeeded());
    sum += c.vault_change;
    sum_sq += c.vault_change * c.vault_change;
  }
  const double mean = sum / n;
  const double se = std::sqrt((sum_sq / n - mean * mean) / (n - 1));
  CHECK(se == Approx(288.7 / std::sqrt(static_cast<double>(n))).epsilon(0.05));
  CHECK(std::abs(mean) < 3.0 * se);
  CHECK(v.pool_pnl().trader_pnl == Approx(sum).margin(1e-6 * n));
  CHECK(v.pool_pnl().fees == 0.0);
}
