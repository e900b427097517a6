// Tests of the constant-product market maker against hand-derived closed forms.
//
// Sources: Adams, Zinsmeister, Robinson, "Uniswap v2 Core" (2020), section 3.2.1
// (fee on input, x' * y' >= x * y) and UniswapV2Library.getAmountOut/getAmountIn:
//   getAmountOut: out = R_out * (1-f) * in / (R_in + (1-f) * in)
//   getAmountIn:  in  = R_in * out / ((R_out - out) * (1-f))   (without integer rounding)
// Throughout gamma = 1 - f. Expected values are always computed here from these
// formulas (or literals worked out by hand), never by calling the code under test.
//
// Tolerances. One IEEE double operation has relative error <= 2^-53 ~ 1.1e-16;
// the formulas here take fewer than ten operations, so a relative tolerance of
// 1e-12 leaves a margin of ~1000x for rounding while still being ~1e9 times
// tighter than any formula error (which would be of the order of the fee).
// Where a quantity is a difference of nearly equal terms the tolerance is set
// relative to the size of the terms, not of the difference, and says so.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "markets/cpmm.hpp"

using defisim::core::AssetIndex;
using defisim::core::RevertReason;
using defisim::markets::ArbitrageTrade;
using defisim::markets::Cpmm;
using defisim::markets::CpmmParams;
using defisim::markets::optimal_arbitrage;

namespace {

constexpr AssetIndex eth = 0;
constexpr AssetIndex usdc = 1;
constexpr AssetIndex unrelated_asset = 7;

constexpr double few_ops_relative = 1e-12;

CpmmParams eth_usdc_params(double fee = 0.003) {
  CpmmParams params;
  params.asset_x = eth;
  params.asset_y = usdc;
  params.reserve_x = 1000.0;
  params.reserve_y = 2'000'000.0;
  params.fee = fee;
  return params;
}

// UniswapV2Library.getAmountOut, written out independently of the code under test.
double hand_amount_out(double reserve_in, double reserve_out, double fee, double amount_in) {
  const double gamma = 1.0 - fee;
  return reserve_out * gamma * amount_in / (reserve_in + gamma * amount_in);
}

// UniswapV2Library.getAmountIn without the integer +1 rounding.
double hand_amount_in(double reserve_in, double reserve_out, double fee, double amount_out) {
  return reserve_in * amount_out / ((reserve_out - amount_out) * (1.0 - fee));
}

bool relative_close(double actual, double expected, double relative) {
  return std::fabs(actual - expected) <= relative * std::fabs(expected);
}

struct PoolState {
  double reserve_x;
  double reserve_y;
  double total_shares;
  double fees_per_share_x;
  double fees_per_share_y;
};

PoolState state_of(const Cpmm& pool) {
  return {pool.reserve_x(), pool.reserve_y(), pool.total_shares(), pool.fees_per_share_x(),
          pool.fees_per_share_y()};
}

// Bitwise equality of the state: a revert must not touch anything.
void require_unchanged(const Cpmm& pool, const PoolState& before) {
  const PoolState after = state_of(pool);
  REQUIRE(after.reserve_x == before.reserve_x);
  REQUIRE(after.reserve_y == before.reserve_y);
  REQUIRE(after.total_shares == before.total_shares);
  REQUIRE(after.fees_per_share_x == before.fees_per_share_x);
  REQUIRE(after.fees_per_share_y == before.fees_per_share_y);
}

// Value at S (in y) of what a trade returns minus what it costs.
double hand_trade_profit_in_y(double reserve_x, double reserve_y, double fee, double price,
                              bool x_in, double amount_in) {
  if (x_in) return hand_amount_out(reserve_x, reserve_y, fee, amount_in) - price * amount_in;
  return price * hand_amount_out(reserve_y, reserve_x, fee, amount_in) - amount_in;
}

// Optimal input from the header's (unrationalised) square-root form, which is
// a different expression from the one the implementation evaluates.
// Derivation (selling y for x): maximise P(in) = S*out(in) - in with
// out(in) = x*g*in/(y + g*in). out'(in) = g*x*y/(y + g*in)^2, so P'(in) = 0 at
// (y + g*in)^2 = g*S*x*y, i.e. in = (sqrt(g*S*x*y) - y)/g, positive iff g*S*x > y.
// P is concave (out'' < 0), so this stationary point is the maximum.
// Selling x for y: maximise out(in) - S*in with out(in) = y*g*in/(x + g*in):
// (x + g*in)^2 = g*x*y/S, in = (sqrt(g*x*y/S) - x)/g, positive iff g*y > S*x.
double hand_optimal_input(double x, double y, double fee, double price, bool x_in) {
  const double gamma = 1.0 - fee;
  if (x_in) return (std::sqrt(gamma * x * y / price) - x) / gamma;
  return (std::sqrt(gamma * x * y * price) - y) / gamma;
}

// Profit at the optimum. Selling y: with r = y + g*in = sqrt(g*S*x*y),
// out = x*(r - y)/r and S*x = r^2/(g*y), so
//   S*out - in = r*(r - y)/(g*y) - (r - y)/g = (r - y)^2/(g*y) = (sqrt(g*S*x) - sqrt(y))^2/g.
// Selling x: with r = x + g*in = sqrt(g*x*y/S), out = y*(r - x)/r, y = S*r^2/(g*x):
//   out - S*in = S*(r - x)^2/(g*x) = (sqrt(g*y) - sqrt(S*x))^2/g.
double hand_optimal_profit(double x, double y, double fee, double price, bool x_in) {
  const double gamma = 1.0 - fee;
  const double root_gap =
      x_in ? std::sqrt(gamma * y) - std::sqrt(price * x) : std::sqrt(gamma * price * x) - std::sqrt(y);
  return root_gap * root_gap / gamma;
}

}  // namespace

TEST_CASE("cpmm: constructor mints sqrt(x*y) shares and rejects invalid params", "[cpmm]") {
  const Cpmm pool(eth_usdc_params());
  CHECK(pool.asset_x() == eth);
  CHECK(pool.asset_y() == usdc);
  CHECK(pool.trades(eth));
  CHECK(pool.trades(usdc));
  CHECK_FALSE(pool.trades(unrelated_asset));
  CHECK(pool.reserve_of(eth) == 1000.0);
  CHECK(pool.reserve_of(usdc) == 2'000'000.0);
  CHECK(pool.fee() == 0.003);
  // sqrt(1000 * 2e6) = sqrt(2e9) = 44721.359549995794 (by hand: 1e4 * sqrt(20)).
  CHECK(pool.total_shares() == Approx(44721.359549995794).epsilon(1e-14));
  CHECK(pool.fees_per_share_x() == 0.0);
  CHECK(pool.fees_per_share_y() == 0.0);

  auto with = [](auto change) {
    CpmmParams params = eth_usdc_params();
    change(params);
    return params;
  };
  CHECK_THROWS_AS(Cpmm(with([](CpmmParams& p) { p.reserve_x = 0.0; })), std::invalid_argument);
  CHECK_THROWS_AS(Cpmm(with([](CpmmParams& p) { p.reserve_y = -1.0; })), std::invalid_argument);
  CHECK_THROWS_AS(Cpmm(with([](CpmmParams& p) { p.reserve_x = std::numeric_limits<double>::infinity(); })),
                  std::invalid_argument);
  CHECK_THROWS_AS(Cpmm(with([](CpmmParams& p) { p.reserve_y = std::nan(""); })), std::invalid_argument);
  CHECK_THROWS_AS(Cpmm(with([](CpmmParams& p) { p.fee = 1.0; })), std::invalid_argument);
  CHECK_THROWS_AS(Cpmm(with([](CpmmParams& p) { p.fee = -0.001; })), std::invalid_argument);
  CHECK_THROWS_AS(Cpmm(with([](CpmmParams& p) { p.fee = std::nan(""); })), std::invalid_argument);
  CHECK_THROWS_AS(Cpmm(with([](CpmmParams& p) { p.asset_y = p.asset_x; })), std::invalid_argument);
  CHECK_NOTHROW(Cpmm(with([](CpmmParams& p) { p.fee = 0.0; })));
}

TEST_CASE("cpmm: spot price is y/x", "[cpmm]") {
  Cpmm pool(eth_usdc_params());
  CHECK(pool.spot_price() == 2000.0);  // 2e6 / 1000, exact in binary
  const auto result = pool.swap(eth, 10.0, 0.0);
  REQUIRE(result.succeeded());
  // After selling 10 ETH: x = 1010, y = 2e6 - out.
  const double out = hand_amount_out(1000.0, 2'000'000.0, 0.003, 10.0);
  CHECK(relative_close(pool.spot_price(), (2'000'000.0 - out) / 1010.0, few_ops_relative));
}

TEST_CASE("cpmm: amount_out on the worked example (1000 ETH / 2,000,000 USDC, sell 10 ETH)",
          "[cpmm]") {
  Cpmm pool(eth_usdc_params());
  // getAmountOut: 2,000,000 * 0.997 * 10 / (1000 + 0.997 * 10) = 19,940,000 / 1009.97
  //             = 19743.160687941225... (long division by hand / exact rational).
  const double expected = 2'000'000.0 * 0.997 * 10.0 / (1000.0 + 0.997 * 10.0);
  CHECK(relative_close(expected, 19743.160687941225, 1e-15));
  CHECK(relative_close(pool.amount_out(true, 10.0), expected, few_ops_relative));

  // The other direction: sell 20,000 USDC for ETH:
  // 1000 * 0.997 * 20000 / (2e6 + 0.997 * 20000) = 19,940,000 / 2,019,940.
  const double expected_eth = 1000.0 * 0.997 * 20'000.0 / (2'000'000.0 + 0.997 * 20'000.0);
  CHECK(relative_close(pool.amount_out(false, 20'000.0), expected_eth, few_ops_relative));

  CHECK(pool.amount_out(true, 0.0) == 0.0);
  CHECK(pool.amount_out(true, std::numeric_limits<double>::infinity()) == 2'000'000.0);

  const auto result = pool.swap(eth, 10.0, 19'743.0);
  REQUIRE(result.succeeded());
  CHECK(result.token_out == usdc);
  CHECK(result.amount_in == 10.0);
  CHECK(relative_close(result.amount_out, expected, few_ops_relative));
  CHECK(relative_close(result.fee_paid, 0.03, few_ops_relative));  // 0.003 * 10
  CHECK(pool.reserve_x() == 1010.0);                                 // the full input, fee included
  CHECK(relative_close(pool.reserve_y(), 2'000'000.0 - expected, few_ops_relative));
}

TEST_CASE("cpmm: amount_in_for is getAmountIn and inverts amount_out", "[cpmm]") {
  const Cpmm pool(eth_usdc_params());
  // Buy 10 ETH with USDC: in = 2e6 * 10 / ((1000 - 10) * 0.997) = 2e7 / 987.03
  //                         = 20262.808627903913...
  const double expected = 2'000'000.0 * 10.0 / ((1000.0 - 10.0) * 0.997);
  CHECK(relative_close(expected, 20262.808627903913, 1e-15));
  CHECK(relative_close(pool.amount_in_for(false, 10.0), expected, few_ops_relative));
  CHECK(relative_close(pool.amount_in_for(true, 50'000.0),
                       hand_amount_in(1000.0, 2'000'000.0, 0.003, 50'000.0), few_ops_relative));

  CHECK(pool.amount_in_for(false, 1000.0) == std::numeric_limits<double>::infinity());
  CHECK(pool.amount_in_for(false, 1500.0) == std::numeric_limits<double>::infinity());
  CHECK(pool.amount_in_for(true, 2'000'000.0) == std::numeric_limits<double>::infinity());
  CHECK(pool.amount_in_for(true, 0.0) == 0.0);

  // Round trips. Algebra: with g*in = R_in*out/(R_out - out),
  // R_in + g*in = R_in*R_out/(R_out - out), so R_out*g*in/(R_in + g*in) = out.
  // The round trip is ill-conditioned only as out -> R_out (the fraction
  // R_out/(R_out - out) amplifies rounding); outputs up to 99% of the reserve
  // amplify by <= 100, hence 1e-12 still holds.
  for (const bool x_in : {true, false}) {
    const double reserve_out = x_in ? 2'000'000.0 : 1000.0;
    for (const double fraction : {1e-12, 1e-6, 1e-3, 0.1, 0.5, 0.9, 0.99}) {
      const double out = fraction * reserve_out;
      const double in = pool.amount_in_for(x_in, out);
      CHECK(relative_close(pool.amount_out(x_in, in), out, few_ops_relative));
    }
    for (const double in : {1e-9, 1e-3, 1.0, 1e3, 1e6, 1e9}) {
      const double out = pool.amount_out(x_in, in);
      // in -> out -> in suffers the same amplification R_out/(R_out - out),
      // which exceeds 100 for the largest inputs; allow it explicitly.
      const double amplification = reserve_out / (reserve_out - out);
      CHECK(relative_close(pool.amount_in_for(x_in, out), in, 1e-14 * amplification + 1e-13));
    }
  }
}

TEST_CASE("cpmm: k never decreases and grows by exactly the fee effect", "[cpmm]") {
  // x' = x + in, y' = y - out = y*x/(x + g*in), so k'/k = (x + in)/(x + g*in) >= 1
  // (Uniswap v2 Core 3.2.1: the fee-adjusted balances satisfy the invariant).
  Cpmm pool(eth_usdc_params());
  const std::vector<std::pair<AssetIndex, double>> trades = {
      {eth, 10.0}, {usdc, 35'000.0}, {eth, 0.001}, {usdc, 1e6}, {eth, 400.0}, {usdc, 3.0}};
  for (const auto& [token, amount] : trades) {
    const double k_before = pool.reserve_x() * pool.reserve_y();
    const double reserve_in = pool.reserve_of(token);
    const auto result = pool.swap(token, amount, 0.0);
    REQUIRE(result.succeeded());
    const double k_after = pool.reserve_x() * pool.reserve_y();
    CHECK(k_after >= k_before);
    const double expected_growth = (reserve_in + amount) / (reserve_in + 0.997 * amount);
    CHECK(relative_close(k_after / k_before, expected_growth, few_ops_relative));
  }
}

TEST_CASE("cpmm: a zero-fee swap keeps x*y exactly", "[cpmm]") {
  // With g = 1, k'/k = (x + in)/(x + in) = 1. 40 swaps each add a few ulps of
  // rounding to k, so a relative 1e-12 bound on the drift is generous.
  Cpmm pool(eth_usdc_params(0.0));
  const double k = 1000.0 * 2'000'000.0;
  for (int i = 0; i < 20; ++i) {
    REQUIRE(pool.swap(eth, 1.0 + i, 0.0).succeeded());
    REQUIRE(pool.swap(usdc, 3'000.0 * (i + 1), 0.0).succeeded());
  }
  CHECK(relative_close(pool.reserve_x() * pool.reserve_y(), k, few_ops_relative));
  CHECK(pool.fees_per_share_x() == 0.0);
  CHECK(pool.fees_per_share_y() == 0.0);
}

TEST_CASE("cpmm: swaps conserve tokens between pool and trader", "[cpmm]") {
  // Every token the trader gives the pool holds, every token the pool pays the
  // trader holds; the totals are constant. Sums of a few dozen doubles of
  // magnitude <= 3e6: rounding <= ~50 ulps of 3e6, within 1e-12 relative.
  Cpmm pool(eth_usdc_params());
  double trader_eth = 500.0;
  double trader_usdc = 1'000'000.0;
  const double total_eth = trader_eth + pool.reserve_x();
  const double total_usdc = trader_usdc + pool.reserve_y();
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int i = 0; i < 40; ++i) {
    const bool sell_eth = (i % 2) == 0;
    const AssetIndex token = sell_eth ? eth : usdc;
    double& wallet_in = sell_eth ? trader_eth : trader_usdc;
    double& wallet_out = sell_eth ? trader_usdc : trader_eth;
    const double amount = wallet_in * 0.2 * unit(rng);
    const double pool_in_before = pool.reserve_of(token);
    const double pool_out_before = pool.reserve_of(sell_eth ? usdc : eth);
    const auto result = pool.swap(token, amount, 0.0);
    REQUIRE(result.succeeded());
    // Per swap: the pool's change in each token is exactly the trader's opposite
    // change, up to the one rounding of each reserve update.
    const double ulp_in = std::numeric_limits<double>::epsilon() * pool.reserve_of(token);
    const double ulp_out = std::numeric_limits<double>::epsilon() * pool_out_before;
    CHECK(std::fabs((pool.reserve_of(token) - pool_in_before) - result.amount_in) <= ulp_in);
    CHECK(std::fabs((pool_out_before - pool.reserve_of(result.token_out)) - result.amount_out) <=
          ulp_out);
    wallet_in -= result.amount_in;
    wallet_out += result.amount_out;
  }
  CHECK(relative_close(trader_eth + pool.reserve_x(), total_eth, few_ops_relative));
  CHECK(relative_close(trader_usdc + pool.reserve_y(), total_usdc, few_ops_relative));
}

TEST_CASE("cpmm: every revert reason leaves the state unchanged", "[cpmm]") {
  Cpmm pool(eth_usdc_params());
  REQUIRE(pool.swap(eth, 3.0, 0.0).succeeded());  // non-trivial fee accumulators
  REQUIRE(pool.swap(usdc, 5'000.0, 0.0).succeeded());
  const PoolState before = state_of(pool);
  const double nan = std::nan("");
  const double inf = std::numeric_limits<double>::infinity();

  SECTION("swap: invalid_token") {
    const auto result = pool.swap(unrelated_asset, 10.0, 0.0);
    CHECK(result.revert_reason == RevertReason::invalid_token);
    CHECK(result.amount_in == 0.0);
    CHECK(result.amount_out == 0.0);
    require_unchanged(pool, before);
  }
  SECTION("swap: invalid_amount") {
    for (const double amount : {0.0, -1.0, nan, inf, -inf}) {
      const auto result = pool.swap(eth, amount, 0.0);
      CHECK(result.revert_reason == RevertReason::invalid_amount);
      CHECK(result.amount_in == 0.0);
      require_unchanged(pool, before);
    }
    for (const double minimum : {nan, -1.0}) {
      CHECK(pool.swap(eth, 1.0, minimum).revert_reason == RevertReason::invalid_amount);
      require_unchanged(pool, before);
    }
  }
  SECTION("swap: slippage") {
    const double out = hand_amount_out(before.reserve_x, before.reserve_y, 0.003, 10.0);
    const auto result = pool.swap(eth, 10.0, out * (1.0 + 1e-9));
    CHECK(result.revert_reason == RevertReason::slippage);
    CHECK(result.amount_in == 0.0);
    CHECK(result.amount_out == 0.0);
    require_unchanged(pool, before);
    CHECK(pool.swap(eth, 10.0, inf).revert_reason == RevertReason::slippage);
    require_unchanged(pool, before);
  }
  SECTION("swap: insufficient_liquidity when the output would round to the whole reserve") {
    // x ~ 1000: selling 1e300 ETH makes g*in/(x + g*in) round to 1, so
    // out == reserve_y and the pool would be drained.
    const auto result = pool.swap(eth, 1e300, 0.0);
    CHECK(result.revert_reason == RevertReason::insufficient_liquidity);
    require_unchanged(pool, before);
  }
  SECTION("add_liquidity: invalid_amount and slippage") {
    for (const double amount : {0.0, -1.0, nan, inf}) {
      CHECK(pool.add_liquidity(amount, 100.0, 0.0).revert_reason == RevertReason::invalid_amount);
      CHECK(pool.add_liquidity(1.0, amount, 0.0).revert_reason == RevertReason::invalid_amount);
      require_unchanged(pool, before);
    }
    CHECK(pool.add_liquidity(1.0, 2'000.0, nan).revert_reason == RevertReason::invalid_amount);
    // Shares minted = T * min(1/x, 2000/y) < T (both ratios < 1), so asking for T reverts.
    const auto result = pool.add_liquidity(1.0, 2'000.0, before.total_shares);
    CHECK(result.revert_reason == RevertReason::slippage);
    CHECK(result.shares == 0.0);
    require_unchanged(pool, before);
  }
  SECTION("remove_liquidity: invalid_amount, insufficient_liquidity and slippage") {
    for (const double shares : {0.0, -1.0, nan, inf}) {
      CHECK(pool.remove_liquidity(shares, 0.0, 0.0).revert_reason == RevertReason::invalid_amount);
      require_unchanged(pool, before);
    }
    CHECK(pool.remove_liquidity(1.0, nan, 0.0).revert_reason == RevertReason::invalid_amount);
    CHECK(pool.remove_liquidity(before.total_shares * 1.5, 0.0, 0.0).revert_reason ==
          RevertReason::insufficient_liquidity);
    require_unchanged(pool, before);
    // Burning a tenth pays a tenth of each reserve; ask for more of each in turn.
    const double tenth = before.total_shares / 10.0;
    CHECK(pool.remove_liquidity(tenth, before.reserve_x / 10.0 * 1.001, 0.0).revert_reason ==
          RevertReason::slippage);
    CHECK(pool.remove_liquidity(tenth, 0.0, before.reserve_y / 10.0 * 1.001).revert_reason ==
          RevertReason::slippage);
    require_unchanged(pool, before);
  }
}

TEST_CASE("cpmm: add_liquidity deposits at the pool ratio and mints proportional shares",
          "[cpmm]") {
  Cpmm pool(eth_usdc_params());
  const double shares0 = std::sqrt(1000.0 * 2'000'000.0);

  SECTION("x binds") {
    // Offer 10 ETH and 50,000 USDC: ratios 10/1000 = 0.01 < 50000/2e6 = 0.025,
    // so all 10 ETH go in with 0.01 * 2e6 = 20,000 USDC and 0.01 * T shares.
    const auto result = pool.add_liquidity(10.0, 50'000.0, 0.0);
    REQUIRE(result.succeeded());
    CHECK(result.amount_x == 10.0);
    CHECK(relative_close(result.amount_y, 20'000.0, few_ops_relative));
    CHECK(relative_close(result.shares, 0.01 * shares0, few_ops_relative));
    CHECK(pool.reserve_x() == 1010.0);
    CHECK(relative_close(pool.reserve_y(), 2'020'000.0, few_ops_relative));
    CHECK(relative_close(pool.total_shares(), 1.01 * shares0, few_ops_relative));
    CHECK(relative_close(pool.spot_price(), 2000.0, few_ops_relative));  // ratio kept
  }
  SECTION("y binds") {
    // Offer 100 ETH and 30,000 USDC: ratios 0.1 > 0.015, so 0.015 * 1000 = 15 ETH.
    const auto result = pool.add_liquidity(100.0, 30'000.0, 0.0);
    REQUIRE(result.succeeded());
    CHECK(relative_close(result.amount_x, 15.0, few_ops_relative));
    CHECK(result.amount_y == 30'000.0);
    CHECK(relative_close(result.shares, 0.015 * shares0, few_ops_relative));
    CHECK(relative_close(pool.spot_price(), 2000.0, few_ops_relative));
  }
  SECTION("exactly proportional offer uses both sides and never exceeds the offer") {
    const auto result = pool.add_liquidity(1.0 / 3.0, 2000.0 / 3.0, 0.0);
    REQUIRE(result.succeeded());
    CHECK(result.amount_x <= 1.0 / 3.0);
    CHECK(result.amount_y <= 2000.0 / 3.0);
    CHECK(relative_close(result.amount_x, 1.0 / 3.0, few_ops_relative));
    CHECK(relative_close(result.amount_y, 2000.0 / 3.0, few_ops_relative));
  }
  SECTION("min_shares equal to the shares minted is accepted") {
    const double expected = 0.01 * shares0;
    CHECK(pool.add_liquidity(10.0, 20'000.0, expected * (1.0 - 1e-12)).succeeded());
  }
}

TEST_CASE("cpmm: remove_liquidity pays the pro-rata reserves, removing all empties the pool",
          "[cpmm]") {
  Cpmm pool(eth_usdc_params());
  REQUIRE(pool.swap(eth, 25.0, 0.0).succeeded());
  const double x = pool.reserve_x();
  const double y = pool.reserve_y();
  const double total = pool.total_shares();

  const auto quarter = pool.remove_liquidity(total / 4.0, x / 4.0 * (1.0 - 1e-12), 0.0);
  REQUIRE(quarter.succeeded());
  CHECK(relative_close(quarter.amount_x, x / 4.0, few_ops_relative));
  CHECK(relative_close(quarter.amount_y, y / 4.0, few_ops_relative));
  CHECK(quarter.shares == total / 4.0);
  CHECK(relative_close(pool.reserve_x(), 0.75 * x, few_ops_relative));
  CHECK(relative_close(pool.reserve_y(), 0.75 * y, few_ops_relative));
  CHECK(relative_close(pool.total_shares(), 0.75 * total, few_ops_relative));

  // Burning every remaining share pays out exactly the reserves.
  const double rest_x = pool.reserve_x();
  const double rest_y = pool.reserve_y();
  const auto rest = pool.remove_liquidity(pool.total_shares(), rest_x, rest_y);
  REQUIRE(rest.succeeded());
  CHECK(rest.amount_x == rest_x);
  CHECK(rest.amount_y == rest_y);
  CHECK(pool.reserve_x() == 0.0);
  CHECK(pool.reserve_y() == 0.0);
  CHECK(pool.total_shares() == 0.0);
  CHECK(std::isnan(pool.spot_price()));  // 0/0: an empty pool has no price

  // An empty pool cannot pay anything out and has no shares to burn.
  const PoolState empty = state_of(pool);
  CHECK(pool.swap(eth, 1.0, 0.0).revert_reason == RevertReason::insufficient_liquidity);
  CHECK(pool.swap(usdc, 1.0, 0.0).revert_reason == RevertReason::insufficient_liquidity);
  CHECK(pool.remove_liquidity(1.0, 0.0, 0.0).revert_reason == RevertReason::insufficient_liquidity);
  require_unchanged(pool, empty);

  // Liquidity added to an empty pool is a first mint again: all of both
  // amounts, sqrt(dx*dy) shares (Uniswap v2 mint with totalSupply == 0).
  const auto refill = pool.add_liquidity(4.0, 9'000.0, 0.0);
  REQUIRE(refill.succeeded());
  CHECK(refill.amount_x == 4.0);
  CHECK(refill.amount_y == 9'000.0);
  CHECK(relative_close(refill.shares, 6.0 * std::sqrt(1000.0), few_ops_relative));  // sqrt(36000)
  CHECK(pool.spot_price() == 2250.0);
  CHECK(pool.swap(eth, 1.0, 0.0).succeeded());
}

TEST_CASE("cpmm: fees per share accumulate fee * amount_in / total_shares", "[cpmm]") {
  Cpmm pool(eth_usdc_params());
  const double shares0 = std::sqrt(1000.0 * 2'000'000.0);
  double expected_x = 0.0;
  double expected_y = 0.0;
  const std::vector<std::pair<AssetIndex, double>> first_trades = {
      {eth, 10.0}, {usdc, 40'000.0}, {eth, 2.5}, {usdc, 123.0}};
  for (const auto& [token, amount] : first_trades) {
    const auto result = pool.swap(token, amount, 0.0);
    REQUIRE(result.succeeded());
    CHECK(relative_close(result.fee_paid, 0.003 * amount, few_ops_relative));
    (token == eth ? expected_x : expected_y) += 0.003 * amount / shares0;
  }
  CHECK(relative_close(pool.fees_per_share_x(), expected_x, few_ops_relative));
  CHECK(relative_close(pool.fees_per_share_y(), expected_y, few_ops_relative));

  // Doubling the pool doubles the shares, so later fees are spread over 2*T.
  const double x = pool.reserve_x();
  const double y = pool.reserve_y();
  REQUIRE(pool.add_liquidity(x, y, 0.0).succeeded());
  const double shares1 = 2.0 * shares0;
  CHECK(relative_close(pool.total_shares(), shares1, few_ops_relative));
  const double lp_shares = shares0;  // the second LP's holding
  const double fps_x_at_entry = pool.fees_per_share_x();
  const std::vector<std::pair<AssetIndex, double>> later_trades = {{eth, 7.0}, {eth, 1.0}, {usdc, 9'999.0}};
  double later_fees_x = 0.0;
  for (const auto& [token, amount] : later_trades) {
    REQUIRE(pool.swap(token, amount, 0.0).succeeded());
    (token == eth ? expected_x : expected_y) += 0.003 * amount / shares1;
    if (token == eth) later_fees_x += 0.003 * amount;
  }
  CHECK(relative_close(pool.fees_per_share_x(), expected_x, few_ops_relative));
  CHECK(relative_close(pool.fees_per_share_y(), expected_y, few_ops_relative));
  // An LP holding half the shares earned half of the ETH fees paid since it joined.
  CHECK(relative_close(lp_shares * (pool.fees_per_share_x() - fps_x_at_entry), 0.5 * later_fees_x,
                       1e-10));  // difference of accumulators: cancellation of ~10x
}

TEST_CASE("cpmm: price impact closed form", "[cpmm]") {
  const Cpmm pool(eth_usdc_params());
  // impact = 1 - (out/in) / (R_out/R_in). Selling 10 ETH: out/in = 1974.3160687941225,
  // spot 2000, so impact = 1 - 0.98715803439706 = 0.01284196560294...
  const double out = hand_amount_out(1000.0, 2'000'000.0, 0.003, 10.0);
  const double expected = 1.0 - (out / 10.0) / 2000.0;
  CHECK(relative_close(expected, 0.012841965602940, 1e-12));
  // The subtraction 1 - 0.987 loses ~2 digits, so compare at 1e-12 relative to 1.
  CHECK(std::fabs(pool.price_impact(true, 10.0) - expected) <= few_ops_relative);

  // Selling y: spot of x per y is 1000/2e6.
  const double out_x = hand_amount_out(2'000'000.0, 1000.0, 0.003, 50'000.0);
  CHECK(std::fabs(pool.price_impact(false, 50'000.0) - (1.0 - (out_x / 50'000.0) / (1000.0 / 2e6))) <=
        few_ops_relative);

  // Simplified: 1 - g*R_in/(R_in + g*in) = (f*R_in + g*in)/(R_in + g*in): tends to
  // the fee for small trades and to 1 for huge ones.
  CHECK(relative_close(pool.price_impact(true, 1e-9), 0.003, 1e-9));
  CHECK(pool.price_impact(true, 0.0) == Approx(0.003).epsilon(1e-15));
  CHECK(pool.price_impact(true, 1e12) > 0.999999);
  CHECK(pool.price_impact(true, 1e12) < 1.0);
  const Cpmm no_fee(eth_usdc_params(0.0));
  CHECK(no_fee.price_impact(true, 0.0) == 0.0);
  // Zero fee: impact = in/(R_in + in) = 10/1010.
  CHECK(relative_close(no_fee.price_impact(true, 10.0), 10.0 / 1010.0, few_ops_relative));
}

TEST_CASE("cpmm: optimal_arbitrage does nothing inside the no-trade band", "[cpmm][arbitrage]") {
  // Buying x costs y/(g*x) at the margin, selling x earns g*y/x: no trade while
  // g*y/x <= S <= y/(g*x). For 1000 / 2e6 / 0.3%: [1994, 2006.018...].
  const double x = 1000.0;
  const double y = 2'000'000.0;
  const double fee = 0.003;
  const double lower = 0.997 * y / x;
  const double upper = y / (0.997 * x);
  for (const double price : {2000.0, 1994.5, 2006.0, lower * (1.0 + 1e-12), upper * (1.0 - 1e-12)}) {
    const ArbitrageTrade trade = optimal_arbitrage(x, y, fee, price);
    CHECK_FALSE(trade.profitable);
    CHECK(trade.amount_in == 0.0);
    CHECK(trade.profit_in_y == 0.0);
  }
  // Just outside either edge there is a (tiny) profitable trade, in the right direction.
  const ArbitrageTrade above = optimal_arbitrage(x, y, fee, upper * (1.0 + 1e-9));
  CHECK(above.profitable);
  CHECK_FALSE(above.x_in);
  CHECK(above.amount_in > 0.0);
  CHECK(above.profit_in_y > 0.0);
  const ArbitrageTrade below = optimal_arbitrage(x, y, fee, lower * (1.0 - 1e-9));
  CHECK(below.profitable);
  CHECK(below.x_in);
  CHECK(below.amount_in > 0.0);
  CHECK(below.profit_in_y > 0.0);
  // Zero fee: the band collapses to S = y/x.
  CHECK_FALSE(optimal_arbitrage(x, y, 0.0, 2000.0).profitable);
  // Invalid inputs are "no trade".
  CHECK_FALSE(optimal_arbitrage(0.0, y, fee, 2500.0).profitable);
  CHECK_FALSE(optimal_arbitrage(x, y, 1.0, 2500.0).profitable);
  CHECK_FALSE(optimal_arbitrage(x, y, fee, 0.0).profitable);
  CHECK_FALSE(optimal_arbitrage(x, y, fee, std::nan("")).profitable);
}

namespace {

// (b) First-order condition, written on the pool after the trade. Selling y
// for x (buying x): x' = x*y/(y + g*in) and (y + g*in)^2 = g*S*x*y give
//   (y + g*in) / (g*x') = S,
// i.e. the marginal price of x including the fee equals S on the reserves
// without the retained fee (y + g*in = y' - f*in). On the actual y', which
// keeps the fee, the marginal ask y'/(g*x') is slightly above S, so no further
// buying pays. Selling x for y: y' = x*y/(x + g*in), (x + g*in)^2 = g*x*y/S give
//   g*y' / (x + g*in) = S,
// the marginal bid including the fee on the reserves without the retained fee.
double marginal_price_without_retained_fee(const Cpmm& pool, const ArbitrageTrade& trade) {
  const double gamma = 1.0 - pool.fee();
  const double retained_fee = pool.fee() * trade.amount_in;
  if (trade.x_in) return gamma * pool.reserve_y() / (pool.reserve_x() - retained_fee);
  return (pool.reserve_y() - retained_fee) / (gamma * pool.reserve_x());
}

// (c) No trade of any size, in either direction, is profitable after the
// arbitrage. The profit of a further trade is a difference of two values of
// similar size, so the rounding bound is relative to the value traded.
void check_no_further_profit(const Cpmm& pool, double price) {
  for (const bool x_in : {true, false}) {
    const double reserve_in = x_in ? pool.reserve_x() : pool.reserve_y();
    for (const double fraction : {1e-12, 1e-9, 1e-6, 1e-4, 1e-3, 1e-2, 0.1, 0.5, 1.0, 10.0, 1e3}) {
      const double in = fraction * reserve_in;
      const double profit =
          hand_trade_profit_in_y(pool.reserve_x(), pool.reserve_y(), pool.fee(), price, x_in, in);
      const double value_in = x_in ? price * in : in;
      CHECK(profit <= few_ops_relative * value_in);
    }
  }
}

// (e) Profit P(in) is concave, so golden-section search converges to its
// maximum; it must not beat the closed form beyond rounding.
double golden_section_max_profit(double x, double y, double fee, double price, bool x_in,
                                 double upper) {
  const double inverse_phi = (std::sqrt(5.0) - 1.0) / 2.0;
  double low = 0.0;
  double high = upper;
  double best = 0.0;
  for (int i = 0; i < 200; ++i) {
    const double left = high - inverse_phi * (high - low);
    const double right = low + inverse_phi * (high - low);
    const double profit_left = hand_trade_profit_in_y(x, y, fee, price, x_in, left);
    const double profit_right = hand_trade_profit_in_y(x, y, fee, price, x_in, right);
    best = std::max({best, profit_left, profit_right});
    if (profit_left < profit_right) {
      low = left;
    } else {
      high = right;
    }
  }
  return best;
}

void check_arbitrage_against_closed_form(double x, double y, double fee, double price) {
  INFO("x = " << x << ", y = " << y << ", fee = " << fee << ", S = " << price);
  const double gamma = 1.0 - fee;
  const bool buys_x = gamma * price * x > y;
  const bool sells_x = gamma * y > price * x;
  const ArbitrageTrade trade = optimal_arbitrage(x, y, fee, price);
  if (!buys_x && !sells_x) {
    CHECK_FALSE(trade.profitable);
    return;
  }
  REQUIRE(trade.profitable);
  CHECK(trade.x_in == sells_x);

  // Amount: the header's sqrt form has a cancellation sqrt(...) - R_in, so its
  // rounding is relative to R_in/g rather than to the amount itself.
  const double reserve_in = trade.x_in ? x : y;
  const double expected_in = hand_optimal_input(x, y, fee, price, trade.x_in);
  CHECK(std::fabs(trade.amount_in - expected_in) <= few_ops_relative * (reserve_in / gamma + expected_in));
  const double expected_out =
      trade.x_in ? hand_amount_out(x, y, fee, trade.amount_in) : hand_amount_out(y, x, fee, trade.amount_in);
  CHECK(relative_close(trade.amount_out, expected_out, few_ops_relative));

  // (d) Profit: the closed form, and the value of the trade itself (a
  // difference of out and in, so its rounding is relative to their size).
  const double expected_profit = hand_optimal_profit(x, y, fee, price, trade.x_in);
  const double value_traded = trade.x_in ? trade.amount_out + price * trade.amount_in
                                         : price * trade.amount_out + trade.amount_in;
  const double root_scale = trade.x_in ? std::sqrt(gamma * y) + std::sqrt(price * x)
                                       : std::sqrt(gamma * price * x) + std::sqrt(y);
  // (sqrt a - sqrt b)^2 evaluated directly: error ~ 2|sqrt a - sqrt b| * ulp(sqrt a).
  CHECK(std::fabs(trade.profit_in_y - expected_profit) <=
        few_ops_relative * (expected_profit + root_scale * root_scale / gamma * 1e-3));
  const double realised =
      hand_trade_profit_in_y(x, y, fee, price, trade.x_in, trade.amount_in);
  CHECK(std::fabs(trade.profit_in_y - realised) <= few_ops_relative * value_traded);

  // (b) Execute it and check the first-order condition on the pool.
  CpmmParams params;
  params.reserve_x = x;
  params.reserve_y = y;
  params.fee = fee;
  Cpmm pool(params);
  const auto result = pool.swap(trade.x_in ? params.asset_x : params.asset_y, trade.amount_in, 0.0);
  REQUIRE(result.succeeded());
  // Same getAmountOut on the same reserves: the trade pays exactly what was quoted.
  CHECK(result.amount_out == trade.amount_out);
  CHECK(relative_close(marginal_price_without_retained_fee(pool, trade), price, 1e-10));
  // ...and the pool is now inside the no-trade band. Without a fee the band is
  // the single price S, which the pool hits only to rounding: a residual
  // relative gap e of a few ulps leaves a profit ~ y*e^2/4 ~ y*1e-32.
  const ArbitrageTrade residual = optimal_arbitrage(pool.reserve_x(), pool.reserve_y(), fee, price);
  if (fee > 0.0) {
    CHECK_FALSE(residual.profitable);
  } else {
    CHECK(residual.profit_in_y <= 1e-24 * pool.reserve_y());
  }

  // (c) and (e).
  check_no_further_profit(pool, price);
  const double best = golden_section_max_profit(x, y, fee, price, trade.x_in, 4.0 * expected_in);
  CHECK(best <= trade.profit_in_y + few_ops_relative * value_traded);
}

}  // namespace

TEST_CASE("cpmm: optimal_arbitrage on the worked example", "[cpmm][arbitrage]") {
  const double x = 1000.0;
  const double y = 2'000'000.0;
  const double fee = 0.003;

  SECTION("reference above the pool: buy ETH with USDC") {
    // in = (sqrt(0.997 * 1000 * 2e6 * 2500) - 2e6)/0.997 = 233411.59094945894...
    // profit = (sqrt(0.997*2500*1000) - sqrt(2e6))^2/0.997 = 27158.763938594...
    const ArbitrageTrade trade = optimal_arbitrage(x, y, fee, 2500.0);
    REQUIRE(trade.profitable);
    CHECK_FALSE(trade.x_in);
    CHECK(relative_close(trade.amount_in, 233411.59094945894, 1e-12));
    CHECK(relative_close(trade.amount_out, 104.22814195522136, 1e-12));
    CHECK(relative_close(trade.profit_in_y, 27158.763938594, 1e-12));
    check_arbitrage_against_closed_form(x, y, fee, 2500.0);
  }
  SECTION("reference below the pool: sell ETH for USDC") {
    // in = (sqrt(0.997 * 1000 * 2e6 / 1500) - 1000)/0.997 = 153.42746898832...
    // profit = (sqrt(0.997*2e6) - sqrt(1500*1000))^2/0.997 = 35204.0524131637...
    const ArbitrageTrade trade = optimal_arbitrage(x, y, fee, 1500.0);
    REQUIRE(trade.profitable);
    CHECK(trade.x_in);
    CHECK(relative_close(trade.amount_in, 153.42746898832362, 1e-12));
    CHECK(relative_close(trade.amount_out, 265345.25589564914, 1e-12));
    CHECK(relative_close(trade.profit_in_y, 35204.0524131637, 1e-12));
    check_arbitrage_against_closed_form(x, y, fee, 1500.0);
  }
  SECTION("a fine grid finds no better amount") {
    for (const double price : {2500.0, 1500.0, 2100.0, 1900.0, 2006.5, 1993.5}) {
      const ArbitrageTrade trade = optimal_arbitrage(x, y, fee, price);
      REQUIRE(trade.profitable);
      const double value_traded = trade.x_in ? trade.amount_out + price * trade.amount_in
                                             : price * trade.amount_out + trade.amount_in;
      for (int step = 0; step <= 4000; ++step) {
        const double in = trade.amount_in * step / 2000.0;  // [0, 2 * optimum]
        const double profit = hand_trade_profit_in_y(x, y, fee, price, trade.x_in, in);
        REQUIRE(profit <= trade.profit_in_y + few_ops_relative * value_traded);
      }
    }
  }
  SECTION("zero fee: the pool ends exactly at the reference price") {
    // With g = 1 the fee term vanishes: y'/x' = S.
    const ArbitrageTrade trade = optimal_arbitrage(x, y, 0.0, 3000.0);
    REQUIRE(trade.profitable);
    Cpmm pool(eth_usdc_params(0.0));
    REQUIRE(pool.swap(usdc, trade.amount_in, 0.0).succeeded());
    CHECK(relative_close(pool.spot_price(), 3000.0, few_ops_relative));
  }
}

TEST_CASE("cpmm: optimal_arbitrage property test over random pools, prices and fees",
          "[cpmm][arbitrage]") {
  std::mt19937_64 rng(0x5eed'c0ffee);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const std::vector<double> fees = {0.0, 1e-4, 5e-4, 0.003, 0.01, 0.05, 0.3};
  int profitable_cases = 0;
  for (int i = 0; i < 2000; ++i) {
    const double x = std::pow(10.0, -3.0 + 12.0 * unit(rng));
    const double pool_price = std::pow(10.0, -4.0 + 9.0 * unit(rng));
    const double y = x * pool_price;
    const double fee = (i % 3 == 0) ? 0.1 * unit(rng) : fees[i % fees.size()];
    // Reference within a factor e^2 of the pool price either way.
    const double price = pool_price * std::exp(4.0 * unit(rng) - 2.0);
    check_arbitrage_against_closed_form(x, y, fee, price);
    if (optimal_arbitrage(x, y, fee, price).profitable) ++profitable_cases;
  }
  CHECK(profitable_cases > 1000);  // most draws lie outside the band
}

// arbitrage_may_exceed is an upper-bound filter: it must never say "no" when
// the closed-form profit (Milionis et al. 2022's optimal CEX-DEX trade,
// derived in markets/README.md) exceeds the threshold, and it must say "no"
// inside the fee band. Checked against an independent long-double evaluation
// of (sqrt(gamma value_x) - sqrt(value_y))^2 / gamma on random pools.
TEST_CASE("cpmm: arbitrage_may_exceed never rules out a trade that pays") {
  std::mt19937_64 random(20261125);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  int profitable = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    const double x = 10.0 + 1000.0 * unit(random);
    const double y = x * (1000.0 + 3000.0 * unit(random));
    const double fee = 0.01 * unit(random);
    const double price_y = 1.0;
    const double price_x = (y / x) * (1.0 + 0.05 * (unit(random) - 0.5));
    const double threshold = 50.0 * unit(random);
    const long double gamma = 1.0L - fee;
    const long double value_x = static_cast<long double>(price_x) * x;
    const long double value_y = static_cast<long double>(price_y) * y;
    long double profit = 0.0L;
    if (gamma * value_x > value_y) {
      const long double root_gap = std::sqrt(gamma * value_x) - std::sqrt(value_y);
      profit = root_gap * root_gap / gamma;
    } else if (gamma * value_y > value_x) {
      const long double root_gap = std::sqrt(gamma * value_y) - std::sqrt(value_x);
      profit = root_gap * root_gap / gamma;
    }
    const bool may = defisim::markets::arbitrage_may_exceed(x, y, fee, price_x, price_y, threshold);
    // Relative 1e-9 margin: the bound and the reference differ only by rounding near equality.
    if (profit > threshold * (1.0L + 1e-9L)) {
      ++profitable;
      CHECK(may);
    }
    if (!(gamma * value_x > value_y) && !(gamma * value_y > value_x)) CHECK_FALSE(may);
  }
  CHECK(profitable > 1000);  // the check is not vacuous
}

// quiet_price_range (markets/cpmm.hpp) solves arbitrage_may_exceed's two
// quadratic tests for the reference price; an idle arbitrageur sleeps inside
// it (agents/wake.hpp), so it must be exact where it says "quiet". Checked:
// (1) inside, at random points and at the very ends, may_exceed is false;
// (2) just outside (1e-7 relative beyond an end), may_exceed is true, so the
//     range is not needlessly narrow;
// (3) at threshold 0 it is the fee band (gamma y / x, y / (gamma x)) of
//     optimal_arbitrage's no-trade condition (Milionis et al. 2022, derived in
//     markets/README.md), to the 1e-9 relative shrink it documents.
TEST_CASE("cpmm: quiet_price_range is exactly where arbitrage_may_exceed is false") {
  std::mt19937_64 random(20261126);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int trial = 0; trial < 20000; ++trial) {
    const double x = std::exp(std::log(1.0) + std::log(1e6) * unit(random));
    const double y = x * std::exp(std::log(1e-3) + std::log(1e8) * unit(random));
    const double fee = trial % 7 == 0 ? 0.0 : 0.05 * unit(random);
    const double threshold = trial % 5 == 0 ? 0.0 : y * 1e-3 * unit(random);  // in y
    const auto range = defisim::markets::quiet_price_range(x, y, fee, threshold);
    INFO("x " << x << " y " << y << " fee " << fee << " threshold " << threshold);
    if (fee == 0.0 && threshold == 0.0) {
      // The band is the single point S = y / x: nothing is certainly quiet.
      CHECK_FALSE(range.low < range.high);
      continue;
    }
    REQUIRE(range.low < range.high);
    for (int k = 0; k < 8; ++k) {
      const double price = range.low + (range.high - range.low) * unit(random);
      CHECK_FALSE(defisim::markets::arbitrage_may_exceed(x, y, fee, price, 1.0, threshold));
    }
    CHECK_FALSE(defisim::markets::arbitrage_may_exceed(x, y, fee, range.low, 1.0, threshold));
    CHECK_FALSE(defisim::markets::arbitrage_may_exceed(x, y, fee, range.high, 1.0, threshold));
    CHECK(defisim::markets::arbitrage_may_exceed(x, y, fee, range.high * (1.0 + 1e-7), 1.0, threshold));
    CHECK(defisim::markets::arbitrage_may_exceed(x, y, fee, range.low * (1.0 - 1e-7), 1.0, threshold));
    if (threshold == 0.0) {
      const double gamma = 1.0 - fee;
      CHECK(range.low == Approx(gamma * y / x).epsilon(2e-9));
      CHECK(range.high == Approx(y / (gamma * x)).epsilon(2e-9));
    }
  }
}
