// Tests of the lending market's maker rule set: vaults and Dutch auctions
// (markets/lending.hpp, markets/lending_auction.hpp).
//
// Sources: MakerDAO Liquidations 2.0 (MIP45): dog.sol (bark: tab = debt x
// chop, the whole vault when within Hole/hole), clip.sol (kick: top = oracle
// price x buf; take: slice = min(lot, amt), owe = slice x price, capped at the
// tab with slice = owe / price, leftover lot back to the vault when the tab
// is covered; "Clipper/needs-reset" when done = elapsed > tail or price /
// top < cusp; "Clipper/too-expensive" when price > max; redo: new top, new
// tic), abaci.sol (LinearDecrease: top (tau - dur) / tau, 0 from tau;
// StairstepExponentialDecrease: top cut ^ (dur / step), integer division;
// ExponentialDecrease: top cut ^ dur). Vault parameters are ETH-A's
// (liquidation ratio 150%, chop 1.13) with the Clipper's buf 1.2, cut 0.99
// per 90 s, tail 7200 s, cusp 0.4.
//
// Literal powers (0.99^10 = 0.9043820750088044, 0.99^20 =
// 0.8179069375972308, 0.999^100 = 0.9047921471137089) are from Python's
// float arithmetic, correctly rounded to 16 digits. Tolerance 1e-12
// relative: each value is a few double operations (pow within an ulp).
#include <catch2/catch.hpp>

#include <cmath>

#include "markets/lending_auction.hpp"
#include "tests/markets/test_lending_support.hpp"

using namespace lending_test;
using defisim::markets::AuctionParams;
using defisim::markets::auction_curve_price;
using defisim::markets::auction_curve_stale;

namespace {

constexpr double tight = 1e-12;
constexpr double cut_10_steps = 0.9043820750088044;  // 0.99^10
constexpr double cut_20_steps = 0.8179069375972308;  // 0.99^20

// Alice's vault (position 1): 10 ETH, 12,000 DAI drawn at ETH = 2000
// (collateral value / 1.5 = 13,333 >= 12,000).
Lending vault_market(const LendingParams& params = maker_params()) {
  Lending market(params, venue);
  const PositionId vault = market.open_position(alice).position;
  REQUIRE(vault == 1);
  REQUIRE(market.supply(vault, eth, 10.0, 0.0).succeeded());
  REQUIRE(market.borrow(vault, usdc, 12'000.0, prices_at(2000.0), 0.0).succeeded());
  return market;
}

}  // namespace

TEST_CASE("lending: maker auction price curves (abaci.sol) at given times", "[lending]") {
  AuctionParams auction;
  const double top = 2040.0;
  SECTION("linear: top (tau - t) / tau") {
    auction.decay = AuctionDecay::linear;
    auction.tau_seconds = 3600.0;
    CHECK(auction_curve_price(auction, top, 0.0) == top);
    CHECK(auction_curve_price(auction, top, 900.0) == Approx(0.75 * top).epsilon(tight));
    CHECK(auction_curve_price(auction, top, 1800.0) == Approx(0.5 * top).epsilon(tight));
    CHECK(auction_curve_price(auction, top, 3600.0) == 0.0);
    CHECK(auction_curve_price(auction, top, 5000.0) == 0.0);
  }
  SECTION("stairstep exponential: top cut ^ floor(t / step)") {
    auction.decay = AuctionDecay::stairstep_exponential;
    auction.cut = 0.99;
    auction.step_seconds = 90.0;
    CHECK(auction_curve_price(auction, top, 0.0) == top);
    CHECK(auction_curve_price(auction, top, 89.9) == top);  // still the first step
    CHECK(auction_curve_price(auction, top, 90.0) == Approx(0.99 * top).epsilon(tight));
    CHECK(auction_curve_price(auction, top, 900.0) == Approx(cut_10_steps * top).epsilon(tight));
    CHECK(auction_curve_price(auction, top, 989.0) == Approx(cut_10_steps * top).epsilon(tight));
  }
  SECTION("exponential: top cut ^ t") {
    auction.decay = AuctionDecay::exponential;
    auction.cut = 0.999;
    CHECK(auction_curve_price(auction, top, 0.0) == top);
    CHECK(auction_curve_price(auction, top, 1.0) == Approx(0.999 * top).epsilon(tight));
    CHECK(auction_curve_price(auction, top, 100.0) == Approx(0.9047921471137089 * top).epsilon(tight));
    CHECK(auction_curve_price(auction, top, 0.5) == Approx(std::sqrt(0.999) * top).epsilon(tight));
  }
  SECTION("staleness: older than tail, or price below cusp x top") {
    auction.decay = AuctionDecay::linear;
    auction.tau_seconds = 3600.0;
    auction.tail_seconds = 7200.0;
    auction.cusp = 0.4;
    // price / top = (3600 - t) / 3600 < 0.4 from t = 2160 on.
    CHECK_FALSE(auction_curve_stale(auction, top, 2100.0));
    CHECK(auction_curve_stale(auction, top, 2200.0));
    auction.cusp = 0.0;
    auction.tau_seconds = 1e9;
    CHECK_FALSE(auction_curve_stale(auction, top, 7200.0));
    CHECK(auction_curve_stale(auction, top, 7200.5));
  }
}

TEST_CASE("lending: maker vault rules", "[lending]") {
  Lending market = vault_market();
  // Drawing beyond 13,333 DAI of 10 ETH at 2000 / 1.5 is unsafe.
  CHECK(market.borrow(1, usdc, 1400.0, prices_at(2000.0), 0.0).revert_reason == RevertReason::unhealthy);
  // One collateral asset per vault: DAI as a second one is refused.
  CHECK(market.supply(1, usdc, 100.0, 0.0).revert_reason == RevertReason::unsupported);
  // ETH is not borrowable here.
  CHECK(market.borrow(1, eth, 0.1, prices_at(2000.0), 0.0).revert_reason == RevertReason::unsupported);
  // HF at 2000 = 10 x 2000 / 1.5 / 12000 = 1.111: no bark.
  CHECK(market.liquidate(1, usdc, eth, 0.0, prices_at(2000.0), 0.0).revert_reason == RevertReason::healthy);
  CHECK(market.auction_count() == 0);
}

TEST_CASE("lending: maker bark starts an auction of the whole vault", "[lending]") {
  Lending market = vault_market();
  const std::vector<double> prices = prices_at(1700.0);
  // 10 x 1700 / 1.5 = 11,333 < 12,000: HF = 0.9444.
  CHECK(market.health_factor(1, prices, 0.0) == Approx(17'000.0 / 1.5 / 12'000.0).epsilon(tight));
  const LiquidationResult result = market.liquidate(1, usdc, eth, 0.0, prices, 100.0);
  REQUIRE(result.succeeded());
  CHECK(result.auction == 0);
  CHECK(result.debt_repaid == 0.0);
  CHECK(result.collateral_seized == 0.0);
  const Auction& auction = market.auction(0);
  CHECK(auction.active);
  CHECK(auction.position == 1);
  CHECK(auction.collateral_asset == eth);
  CHECK(auction.debt_asset == usdc);
  CHECK(auction.lot == 10.0);
  // tab = 12000 x 1.13 = 13560; top = 1700 x 1.2 = 2040 DAI per ETH.
  CHECK(auction.tab == Approx(13'560.0).epsilon(tight));
  CHECK(auction.debt_owed == 12'000.0);
  CHECK(auction.top == Approx(2040.0).epsilon(tight));
  CHECK(auction.started_seconds == 100.0);
  CHECK(market.active_auctions() == 1);
  // The vault is empty; its debt is owed by the auction, its collateral held by it.
  CHECK(market.debt(1, usdc, 100.0) == 0.0);
  CHECK(market.collateral(1, eth, 100.0) == 0.0);
  CHECK(market.total_debt(usdc, 100.0) == 0.0);
  CHECK(market.auction_debt(usdc) == 12'000.0);
  CHECK(market.cash(eth) == 0.0);
  CHECK(market.holdings_of(eth) == 10.0);
  CHECK(std::abs(identity_gap(market, usdc, 100.0)) <= 1e-15 * 1e6);
  CHECK(market.auction_price(0, 100.0) == Approx(2040.0).epsilon(tight));
  CHECK(market.auction_price(0, 100.0 + 900.0) == Approx(2040.0 * cut_10_steps).epsilon(tight));
  // A second bark of the now empty vault: nothing owed, healthy.
  CHECK(market.liquidate(1, usdc, eth, 0.0, prices, 100.0).revert_reason == RevertReason::healthy);
}

TEST_CASE("lending: maker take that covers the tab returns the leftover collateral", "[lending]") {
  Lending market = vault_market();
  REQUIRE(market.liquidate(1, usdc, eth, 0.0, prices_at(1700.0), 0.0).succeeded());
  const double price = 2040.0 * cut_10_steps;  // 900 s = 10 steps
  SECTION("one take of everything") {
    // 10 ETH x 1844.94 = 18,449 > tab 13,560: owe = 13,560, slice = 13560 / price.
    const TakeResult take = market.take(0, inf, inf, prices_at(1700.0), 900.0);
    REQUIRE(take.succeeded());
    CHECK(take.price == Approx(price).epsilon(tight));
    CHECK(take.debt_paid == Approx(13'560.0).epsilon(tight));
    CHECK(take.collateral_bought == Approx(13'560.0 / price).epsilon(tight));
    CHECK(take.auction_closed);
    CHECK(take.bad_debt_written_off == 0.0);
    // 7.3498 ETH sold, 2.6502 back in the vault.
    CHECK(market.collateral(1, eth, 900.0) == Approx(10.0 - 13'560.0 / price).epsilon(tight));
    CHECK_FALSE(market.auction(0).active);
    CHECK(market.active_auctions() == 0);
    // The debt is repaid and the penalty, 1560, is the protocol's.
    CHECK(market.auction_debt(usdc) == 0.0);
    CHECK(market.reserves(usdc, 900.0) == Approx(1560.0).epsilon(tight));
    CHECK(market.cash(usdc) == Approx(1'000'000.0 - 12'000.0 + 13'560.0).epsilon(tight));
    CHECK(market.bad_debt(usdc) == 0.0);
    CHECK(market.holdings_of(eth) == Approx(10.0 - 13'560.0 / price).epsilon(tight));
    CHECK(std::abs(identity_gap(market, usdc, 900.0)) <= 1e-15 * 1e6);
    CHECK(std::abs(identity_gap(market, eth, 900.0)) <= 1e-15 * 10.0);
    CHECK(market.take(0, 1.0, inf, prices_at(1700.0), 900.0).revert_reason == RevertReason::auction_inactive);
  }
  SECTION("two takes: debt first, then the penalty") {
    // 3 ETH at 1844.94 = 5534.82: debt_owed 12000 -> 6465.18, tab -> 8025.18.
    const TakeResult first = market.take(0, 3.0, inf, prices_at(1700.0), 900.0);
    REQUIRE(first.succeeded());
    CHECK(first.debt_paid == Approx(3.0 * price).epsilon(tight));
    CHECK_FALSE(first.auction_closed);
    CHECK(market.auction(0).lot == Approx(7.0).epsilon(tight));
    CHECK(market.auction(0).debt_owed == Approx(12'000.0 - 3.0 * price).epsilon(tight));
    CHECK(market.auction(0).tab == Approx(13'560.0 - 3.0 * price).epsilon(tight));
    CHECK(market.reserves(usdc, 900.0) == 0.0);
    // At 1800 s (20 steps) the price is 2040 x 0.99^20 = 1668.53: 7 ETH is
    // worth more than the tab left, so owe = tab, slice = tab / price.
    const double later_price = 2040.0 * cut_20_steps;
    const double tab_left = 13'560.0 - 3.0 * price;
    const TakeResult second = market.take(0, inf, inf, prices_at(1700.0), 1800.0);
    REQUIRE(second.succeeded());
    CHECK(second.auction_closed);
    CHECK(second.debt_paid == Approx(tab_left).epsilon(tight));
    CHECK(second.collateral_bought == Approx(tab_left / later_price).epsilon(tight));
    CHECK(market.collateral(1, eth, 1800.0) == Approx(7.0 - tab_left / later_price).epsilon(tight));
    CHECK(market.reserves(usdc, 1800.0) == Approx(1560.0).epsilon(tight));
  }
  SECTION("reverts: slippage, bad amounts, unknown auction") {
    CHECK(market.take(0, 1.0, price - 1.0, prices_at(1700.0), 900.0).revert_reason == RevertReason::slippage);
    CHECK(market.take(0, 0.0, inf, prices_at(1700.0), 900.0).revert_reason == RevertReason::invalid_amount);
    CHECK(market.take(7, 1.0, inf, prices_at(1700.0), 900.0).revert_reason == RevertReason::auction_inactive);
    CHECK(market.auction(0).lot == 10.0);
    CHECK(market.cash(usdc) == 1'000'000.0 - 12'000.0);
  }
}

TEST_CASE("lending: maker lot sold out with the tab uncovered leaves bad debt", "[lending]") {
  Lending market = vault_market();
  // ETH at 1000: HF = 10 x 1000 / 1.5 / 12000 = 0.556; top = 1200.
  REQUIRE(market.liquidate(1, usdc, eth, 0.0, prices_at(1000.0), 0.0).succeeded());
  // At 900 s: price 1200 x 0.99^10 = 1085.26; all 10 ETH raise 10,852.58 < 12,000.
  const double raised = 10.0 * 1200.0 * cut_10_steps;
  const TakeResult take = market.take(0, inf, inf, prices_at(1000.0), 900.0);
  REQUIRE(take.succeeded());
  CHECK(take.collateral_bought == 10.0);
  CHECK(take.debt_paid == Approx(raised).epsilon(tight));
  CHECK(take.auction_closed);
  // Debt left 12000 - 10852.58 = 1147.42 DAI: bad debt, no reserves, so the
  // suppliers bear it.
  CHECK(take.bad_debt_written_off == Approx(12'000.0 - raised).epsilon(1e-10));
  CHECK(market.bad_debt(usdc) == Approx(12'000.0 - raised).epsilon(1e-10));
  CHECK(market.supplier_loss(usdc) == Approx(12'000.0 - raised).epsilon(1e-10));
  CHECK(market.total_supply(usdc, 900.0) == Approx(1'000'000.0 - (12'000.0 - raised)).epsilon(tight));
  CHECK(market.auction_debt(usdc) == 0.0);
  CHECK(market.holdings_of(eth) == 0.0);
  CHECK(std::abs(identity_gap(market, usdc, 900.0)) <= 1e-15 * 1e6);
}

TEST_CASE("lending: maker stale auctions: reset to a new top, or closed as bad debt", "[lending]") {
  SECTION("reset: true restarts at the current oracle price x buf") {
    Lending market = vault_market();
    REQUIRE(market.liquidate(1, usdc, eth, 0.0, prices_at(1700.0), 0.0).succeeded());
    // Not stale at the tail itself (elapsed > tail is).
    CHECK_FALSE(market.auction_needs_reset(0, 7200.0));
    CHECK(market.reset_stale_auctions(prices_at(1500.0), 7200.0) == 0.0);
    CHECK(market.auction(0).resets == 0);
    CHECK(market.auction_needs_reset(0, 7201.0));
    // clip.take on a stale auction: "Clipper/needs-reset".
    CHECK(market.take(0, 1.0, inf, prices_at(1500.0), 7201.0).revert_reason == RevertReason::unsupported);
    CHECK(market.reset_stale_auctions(prices_at(1500.0), 7201.0) == 0.0);
    // top = 1500 x 1.2 = 1800, tic = now.
    const Auction& auction = market.auction(0);
    CHECK(auction.resets == 1);
    CHECK(auction.top == Approx(1800.0).epsilon(tight));
    CHECK(auction.started_seconds == 7201.0);
    CHECK(auction.lot == 10.0);
    CHECK(auction.tab == Approx(13'560.0).epsilon(tight));
    CHECK(market.auction_price(0, 7201.0) == Approx(1800.0).epsilon(tight));
    CHECK_FALSE(market.auction_needs_reset(0, 7201.0));
    CHECK(market.take(0, 1.0, inf, prices_at(1500.0), 7201.0).succeeded());
  }
  SECTION("reset: false closes the auction: collateral to the protocol, debt written off") {
    LendingParams params = maker_params();
    params.auction.reset = false;
    Lending market = vault_market(params);
    REQUIRE(market.liquidate(1, usdc, eth, 0.0, prices_at(1700.0), 0.0).succeeded());
    const double written_off = market.reset_stale_auctions(prices_at(1500.0), 7200.5);
    // No one took anything: the whole 12,000 DAI is bad debt (numeraire at DAI = 1).
    CHECK(written_off == Approx(12'000.0).epsilon(tight));
    CHECK_FALSE(market.auction(0).active);
    CHECK(market.active_auctions() == 0);
    CHECK(market.protocol_collateral(eth) == 10.0);
    CHECK(market.holdings_of(eth) == 10.0);
    CHECK(market.bad_debt(usdc) == Approx(12'000.0).epsilon(tight));
    CHECK(market.supplier_loss(usdc) == Approx(12'000.0).epsilon(tight));
    CHECK(market.collateral(1, eth, 7200.5) == 0.0);
    CHECK(std::abs(identity_gap(market, usdc, 7200.5)) <= 1e-15 * 1e6);
  }
  SECTION("cusp: a linear auction below 40% of top needs a reset before tail") {
    LendingParams params = maker_params();
    params.auction.decay = AuctionDecay::linear;
    params.auction.tau_seconds = 3600.0;
    Lending market = vault_market(params);
    REQUIRE(market.liquidate(1, usdc, eth, 0.0, prices_at(1700.0), 0.0).succeeded());
    // price / top = (3600 - t) / 3600 < 0.4 once t > 2160.
    CHECK_FALSE(market.auction_needs_reset(0, 2100.0));
    CHECK(market.auction_needs_reset(0, 2200.0));
    CHECK(market.auction_price(0, 1800.0) == Approx(1020.0).epsilon(tight));
  }
}
