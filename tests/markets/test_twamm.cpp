// Tests of the TWAMM market (markets/twamm.hpp) against independent references.
//
// Sources:
//  - White, Robinson, Adams, "TWAMM" (Paradigm, July 2021): two pools selling
//    x_in and y_in over one interval into x*y = k, from reserves (x0, y0):
//      c = (sqrt(x0 y_in) - sqrt(y0 x_in)) / (sqrt(x0 y_in) + sqrt(y0 x_in)),
//      E = e^{2 sqrt(x_in y_in / k)},
//      x_end = sqrt(k x_in / y_in) (E + c) / (E - c),   y_end = k / x_end,
//    evaluated here literally (long double, libm exp) or, where that form
//    cancels, at 60 significant digits with mpmath (literals below, script in
//    the comment above them).
//  - Brute force: the same interval as N alternating small swaps on a fee-0
//    Cpmm (x_in/N, then y_in/N, N times): a first-order splitting of the
//    continuous trade, so its error is O(1/N).
//  - UniswapV2Library.getAmountOut for the one-sided case (hand_amount_out).
//  - Fraxswap LongTermOrders for the bookkeeping: orders start and expire on
//    interval boundaries, sales rate = amount / (expiry - start), proceeds =
//    sales rate x the increase of the pool's reward factor while selling.
// Expected values are computed from these, never by the code under test;
// where a test compares two runs of the Twamm with each other, it says why
// they must agree.
//
// Tolerances. One double operation rounds by <= 2^-53 ~ 1.1e-16. The closed
// form takes ~20 operations with no cancellation (every term is positive),
// so 1e-14 (~90 ulps) bounds it with margin; measured: <= 4 ulps against the
// 60-digit references. Quantities built from a few such steps use 1e-12, as
// in test_cpmm.cpp. Where two computations must be the same operations on
// the same numbers, equality is exact (==).
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <new>
#include <random>
#include <stdexcept>
#include <vector>

#include "markets/cpmm.hpp"
#include "markets/twamm.hpp"

using defisim::core::AgentIndex;
using defisim::core::AssetIndex;
using defisim::core::BlockNumber;
using defisim::core::RevertReason;
using defisim::markets::Cpmm;
using defisim::markets::CpmmParams;
using defisim::markets::LongTermOrder;
using defisim::markets::OrderStatus;
using defisim::markets::Twamm;
using defisim::markets::TwammParams;
using defisim::markets::virtual_trade;
using defisim::markets::VirtualTrade;
using defisim::markets::x_coth_x_minus_one;

// Counts every global allocation of this test executable, so that a test
// can show the Twamm's per-transaction calls never allocate
// (markets/README.md: nothing in markets/ allocates after construction).
// The only replacement of operator new in test_markets.
namespace {
std::atomic<long> global_allocations{0};
}  // namespace

// Every non-aligned form is replaced, so that each allocation and its
// release go through the same malloc/free pair (AddressSanitizer checks it).
namespace {
void* counted_allocation(std::size_t size) noexcept {
  global_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void* counted_allocation_or_throw(std::size_t size) {
  if (void* memory = counted_allocation(size)) return memory;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t size) { return counted_allocation_or_throw(size); }
void* operator new[](std::size_t size) { return counted_allocation_or_throw(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return counted_allocation(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return counted_allocation(size);
}
void operator delete(void* memory) noexcept { std::free(memory); }
void operator delete[](void* memory) noexcept { std::free(memory); }
void operator delete(void* memory, std::size_t) noexcept { std::free(memory); }
void operator delete[](void* memory, std::size_t) noexcept { std::free(memory); }
void operator delete(void* memory, const std::nothrow_t&) noexcept { std::free(memory); }
void operator delete[](void* memory, const std::nothrow_t&) noexcept { std::free(memory); }

namespace {

constexpr AssetIndex eth = 0;
constexpr AssetIndex usdc = 1;
constexpr AssetIndex unrelated_asset = 7;
constexpr AgentIndex alice = 1;
constexpr AgentIndex bob = 2;

constexpr double closed_form_relative = 1e-14;
constexpr double few_ops_relative = 1e-12;

constexpr double reserve_eth = 1000.0;
constexpr double reserve_usdc = 2'000'000.0;

CpmmParams pool_params(double fee) {
  CpmmParams params;
  params.asset_x = eth;
  params.asset_y = usdc;
  params.reserve_x = reserve_eth;
  params.reserve_y = reserve_usdc;
  params.fee = fee;
  return params;
}

TwammParams twamm_params(double fee, std::uint64_t interval_blocks = 10,
                         std::uint32_t max_orders = 64) {
  TwammParams params;
  params.pool = pool_params(fee);
  params.order_interval_blocks = interval_blocks;
  params.max_orders = max_orders;
  return params;
}

bool relative_close(double actual, double expected, double relative) {
  return std::fabs(actual - expected) <= relative * std::fabs(expected);
}

// UniswapV2Library.getAmountOut, written out independently of the code under test.
double hand_amount_out(double reserve_in, double reserve_out, double fee, double amount_in) {
  const double gamma = 1.0 - fee;
  return reserve_out * gamma * amount_in / (reserve_in + gamma * amount_in);
}

// The paper's formula, literally, in long double: outputs paid to each pool.
struct PaperResult {
  long double x_out;
  long double y_out;
  long double x_end;
  long double y_end;
};
PaperResult paper_closed_form(double x0, double y0, double x_in, double y_in) {
  const long double k = static_cast<long double>(x0) * y0;
  const long double root_a = std::sqrt(static_cast<long double>(x0) * y_in);
  const long double root_b = std::sqrt(static_cast<long double>(y0) * x_in);
  const long double c = (root_a - root_b) / (root_a + root_b);
  const long double e = std::exp(2.0L * std::sqrt(static_cast<long double>(x_in) * y_in / k));
  const long double x_end = std::sqrt(k * x_in / y_in) * (e + c) / (e - c);
  const long double y_end = k / x_end;
  return {x0 + static_cast<long double>(x_in) - x_end, y0 + static_cast<long double>(y_in) - y_end,
          x_end, y_end};
}

// The same interval as n alternating swaps of the net inputs on a fee-0
// pool, the fee parts added to the reserves at the end (the README's fee
// convention).
VirtualTrade brute_force(double x0, double y0, double fee, double x_sold, double y_sold,
                         int steps) {
  CpmmParams params = pool_params(0.0);
  params.reserve_x = x0;
  params.reserve_y = y0;
  Cpmm pool(params);
  const double gamma = 1.0 - fee;
  VirtualTrade trade;
  for (int step = 0; step < steps; ++step) {
    trade.y_out += pool.swap(eth, gamma * x_sold / steps, 0.0).amount_out;
    trade.x_out += pool.swap(usdc, gamma * y_sold / steps, 0.0).amount_out;
  }
  trade.fee_x = fee * x_sold;
  trade.fee_y = fee * y_sold;
  trade.reserve_x = pool.reserve_x() + trade.fee_x;
  trade.reserve_y = pool.reserve_y() + trade.fee_y;
  return trade;
}

double brute_force_error(const VirtualTrade& closed, const VirtualTrade& brute) {
  return std::max({std::fabs(brute.x_out - closed.x_out) / closed.x_out,
                   std::fabs(brute.y_out - closed.y_out) / closed.y_out,
                   std::fabs(brute.reserve_x - closed.reserve_x) / closed.reserve_x,
                   std::fabs(brute.reserve_y - closed.reserve_y) / closed.reserve_y});
}

// Everything observable about a Twamm, for bit-for-bit comparisons.
struct TwammSnapshot {
  double reserve_x, reserve_y, total_shares, fees_per_share_x, fees_per_share_y;
  BlockNumber last_block;
  std::uint64_t segments;
  bool active;
  double rate_x, rate_y, holdings_x, holdings_y;
  double unsold_x, unsold_y, proceeds_x, proceeds_y;
  std::vector<LongTermOrder> orders;
  std::vector<double> order_proceeds;
  std::vector<double> order_unsold;
};

TwammSnapshot snapshot(const Twamm& twamm) {
  const Cpmm& pool = twamm.pool();
  TwammSnapshot shot{pool.reserve_x(),
                     pool.reserve_y(),
                     pool.total_shares(),
                     pool.fees_per_share_x(),
                     pool.fees_per_share_y(),
                     twamm.last_virtual_order_block(),
                     twamm.segments_evaluated(),
                     twamm.has_active_orders(),
                     twamm.sales_rate_x(),
                     twamm.sales_rate_y(),
                     twamm.holdings_of(eth),
                     twamm.holdings_of(usdc),
                     twamm.pooled_unsold(eth),
                     twamm.pooled_unsold(usdc),
                     twamm.pooled_proceeds(eth),
                     twamm.pooled_proceeds(usdc),
                     {},
                     {},
                     {}};
  for (std::uint32_t id = 0; id < twamm.order_count(); ++id) {
    shot.orders.push_back(twamm.order(id));
    shot.order_proceeds.push_back(twamm.proceeds_of(id));
    shot.order_unsold.push_back(twamm.unsold_of(id));
  }
  return shot;
}

void require_same_orders(const std::vector<LongTermOrder>& a, const std::vector<LongTermOrder>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t id = 0; id < a.size(); ++id) {
    INFO("order " << id);
    REQUIRE(a[id].owner == b[id].owner);
    REQUIRE(a[id].token_in == b[id].token_in);
    REQUIRE(a[id].token_out == b[id].token_out);
    REQUIRE(a[id].status == b[id].status);
    REQUIRE(a[id].amount_in == b[id].amount_in);
    REQUIRE(a[id].sales_rate == b[id].sales_rate);
    REQUIRE(a[id].start_block == b[id].start_block);
    REQUIRE(a[id].expiry_block == b[id].expiry_block);
    REQUIRE(a[id].proceeds_paid == b[id].proceeds_paid);
    REQUIRE(a[id].refund_paid == b[id].refund_paid);
  }
}

// Bitwise equality of everything observable.
void require_same(const TwammSnapshot& a, const TwammSnapshot& b) {
  REQUIRE(a.reserve_x == b.reserve_x);
  REQUIRE(a.reserve_y == b.reserve_y);
  REQUIRE(a.total_shares == b.total_shares);
  REQUIRE(a.fees_per_share_x == b.fees_per_share_x);
  REQUIRE(a.fees_per_share_y == b.fees_per_share_y);
  REQUIRE(a.last_block == b.last_block);
  REQUIRE(a.segments == b.segments);
  REQUIRE(a.active == b.active);
  REQUIRE(a.rate_x == b.rate_x);
  REQUIRE(a.rate_y == b.rate_y);
  REQUIRE(a.holdings_x == b.holdings_x);
  REQUIRE(a.holdings_y == b.holdings_y);
  REQUIRE(a.unsold_x == b.unsold_x);
  REQUIRE(a.unsold_y == b.unsold_y);
  REQUIRE(a.proceeds_x == b.proceeds_x);
  REQUIRE(a.proceeds_y == b.proceeds_y);
  require_same_orders(a.orders, b.orders);
  REQUIRE(a.order_proceeds == b.order_proceeds);
  REQUIRE(a.order_unsold == b.order_unsold);
}

// The same, without the segment counter (two runs that evaluate the same
// segments but differ in how many calls or cancelled orders they made).
void require_same_market(const Twamm& a, const Twamm& b) {
  REQUIRE(a.pool().reserve_x() == b.pool().reserve_x());
  REQUIRE(a.pool().reserve_y() == b.pool().reserve_y());
  REQUIRE(a.pool().fees_per_share_x() == b.pool().fees_per_share_x());
  REQUIRE(a.pool().fees_per_share_y() == b.pool().fees_per_share_y());
  REQUIRE(a.sales_rate_x() == b.sales_rate_x());
  REQUIRE(a.sales_rate_y() == b.sales_rate_y());
  REQUIRE(a.holdings_of(eth) == b.holdings_of(eth));
  REQUIRE(a.holdings_of(usdc) == b.holdings_of(usdc));
}

std::uint32_t place(Twamm& twamm, AgentIndex owner, AssetIndex token, double amount,
                    std::uint64_t duration, BlockNumber block) {
  twamm.execute_virtual_orders(block);
  const auto result = twamm.place_order(owner, token, amount, duration, block);
  REQUIRE(result.succeeded());
  return result.order_id;
}

}  // namespace

// ------------------------------------------------------------ closed form --

TEST_CASE("twamm: constructor validates its params and starts empty", "[twamm]") {
  const Twamm twamm(twamm_params(0.003));
  CHECK(twamm.pool().reserve_x() == reserve_eth);
  CHECK(twamm.pool().reserve_y() == reserve_usdc);
  CHECK(twamm.order_interval_blocks() == 10);
  CHECK(twamm.max_orders() == 64);
  CHECK(twamm.last_virtual_order_block() == 0);
  CHECK(twamm.segments_evaluated() == 0);
  CHECK_FALSE(twamm.has_active_orders());
  CHECK(twamm.order_count() == 0);
  CHECK(twamm.holdings_of(eth) == reserve_eth);
  CHECK(twamm.holdings_of(usdc) == reserve_usdc);
  CHECK(twamm.holdings_of(unrelated_asset) == 0.0);
  CHECK(twamm.proceeds_of(0) == 0.0);
  CHECK(twamm.unsold_of(0) == 0.0);

  TwammParams params = twamm_params(0.003);
  params.order_interval_blocks = 0;
  CHECK_THROWS_AS(Twamm(params), std::invalid_argument);
  params = twamm_params(0.003);
  params.max_orders = 0;
  CHECK_THROWS_AS(Twamm(params), std::invalid_argument);
  params.max_orders = 0x8000'0000u;
  CHECK_THROWS_AS(Twamm(params), std::invalid_argument);
  params = twamm_params(0.003);
  params.pool.reserve_x = -1.0;  // the embedded Cpmm's own check
  CHECK_THROWS_AS(Twamm(params), std::invalid_argument);
  params = twamm_params(1.0);
  CHECK_THROWS_AS(Twamm(params), std::invalid_argument);
}

TEST_CASE("twamm: x coth x - 1 against long double references", "[twamm]") {
  // References: below 0.1 the Taylor series s coth s - 1 = s^2/3 - s^4/45 +
  // 2 s^6/945 - s^8/4725 + 2 s^10/93555 - 1382 s^12/638512875 (Abramowitz &
  // Stegun 4.5.67; the next term is < 1e-18 relative there); from 0.1 the
  // definition in long double (64-bit mantissa: the final - 1 cancels at most
  // a factor 300 at s = 0.1, leaving ~2e-17). Both are independent of the
  // continued fraction and exp_det the code uses. 1e-15 = ~9 ulps.
  auto reference = [](long double s) {
    if (s < 0.1L) {
      const long double z = s * s;
      return z * (1.0L / 3 +
                  z * (-1.0L / 45 +
                       z * (2.0L / 945 +
                            z * (-1.0L / 4725 + z * (2.0L / 93555 + z * (-1382.0L / 638512875))))));
    }
    return s * std::cosh(s) / std::sinh(s) - 1.0L;
  };
  for (const double s : {1e-150,   1e-10, 1e-5,     1e-3, 0.01, 0.05, 0.0999, 0.1,   0.3,  0.5, 0.9,
                         0.999999, 1.0,   1.000001, 1.5,  2.0,  5.0,  20.0,   100.0, 354.0}) {
    INFO("s = " << s);
    const long double expected = reference(s);
    CHECK(std::fabs(x_coth_x_minus_one(s) - expected) <= 1e-15L * expected);
  }
  CHECK(x_coth_x_minus_one(0.0) == 0.0);
  // Beyond 2s ~ 709.8, e^{2s} overflows and coth s is 1 to double precision:
  // s coth s - 1 = s - 1 (s - 1 is exact here).
  CHECK(x_coth_x_minus_one(400.0) == 399.0);
  CHECK(x_coth_x_minus_one(1e10) == 1e10 - 1.0);
}

TEST_CASE("twamm: virtual_trade equals the paper's closed form", "[twamm]") {
  SECTION("moderate inputs: the literal formula in long double") {
    // Without cancellation worse than ~1e3 (both sides within a factor 1e3
    // of each other and of 1e-3 of the reserves), long double's 11 extra
    // bits keep the literal formula accurate to double precision.
    for (const double x_in : {1.0, 50.0, 400.0, 3000.0}) {
      for (const double y_in : {2'000.0, 60'000.0, 1e6, 5e6}) {
        INFO("x_in " << x_in << " y_in " << y_in);
        const VirtualTrade trade = virtual_trade(reserve_eth, reserve_usdc, 0.0, x_in, y_in);
        const PaperResult paper = paper_closed_form(reserve_eth, reserve_usdc, x_in, y_in);
        CHECK(std::fabs(trade.x_out - paper.x_out) <= 1e-13L * (paper.x_out + x_in));
        CHECK(std::fabs(trade.y_out - paper.y_out) <= 1e-13L * (paper.y_out + y_in));
        CHECK(std::fabs(trade.reserve_x - paper.x_end) <= 1e-13L * paper.x_end);
        CHECK(std::fabs(trade.reserve_y - paper.y_end) <= 1e-13L * paper.y_end);
      }
    }
  }
  SECTION("extreme inputs: 60-digit references") {
    // mpmath, mp.dps = 60, the paper's formula as written above:
    //   k = x0*y0; a = sqrt(x0*yi); b = sqrt(y0*xi); c = (a-b)/(a+b)
    //   s = sqrt(xi*yi/k); E = exp(2*s); xe = sqrt(k*xi/yi)*(E+c)/(E-c); ye = k/xe
    //   x_out = x0 + xi - xe; y_out = y0 + yi - ye
    // Cases: s tiny; c near -1 (y side tiny); c near +1 (x side tiny);
    // s = 707 (e^{2s} near overflow) and s = 2830 (beyond); extreme reserves.
    struct Case {
      double x0, y0, x_in, y_in, x_out, y_out, x_end, y_end;
    };
    const Case cases[] = {
        {1000.0, 2e6, 1e-9, 3e-6, 1.499999999999250038e-9, 2.0000000000010001246e-6, 999.9999999995,
         2000000.000001},
        {1000.0, 2e6, 500, 1e-6, 7.9166666666620413084e-10, 666666.66666696296296,
         1499.9999999992083333, 1333333.333334037037},
        {1000.0, 2e6, 1e-9, 5e6, 714.2857142862585034, 0.000011166666666645500695,
         285.7142857147414966, 6999999.9999888333333},
        {1000.0, 2e6, 1e6, 1e9, 999585.78643762690495, 1000585786.437626905, 1414.2135623730950488,
         1414213.5623730950488},
        {1000.0, 2e6, 4e6, 4e9, 3999585.786437626905, 4000585786.437626905, 1414.2135623730950488,
         1414213.5623730950488},
        {0.001, 5e12, 7.0, 1e-4, 3.2680668666664836912e-13, 4999285816311.9555016,
         7.0009999999996731933, 714183688.04459841509},
        {1000.0, 2e6, 50, 60000, 30.591944715900867511, 98077.107952007100475,
         1019.4080552840991325, 1961922.8920479928995},
    };
    for (const Case& c : cases) {
      INFO("x0 " << c.x0 << " y0 " << c.y0 << " x_in " << c.x_in << " y_in " << c.y_in);
      const VirtualTrade trade = virtual_trade(c.x0, c.y0, 0.0, c.x_in, c.y_in);
      CHECK(relative_close(trade.x_out, c.x_out, closed_form_relative));
      CHECK(relative_close(trade.y_out, c.y_out, closed_form_relative));
      CHECK(relative_close(trade.reserve_x, c.x_end, closed_form_relative));
      CHECK(relative_close(trade.reserve_y, c.y_end, closed_form_relative));
    }
  }
}

TEST_CASE("twamm: the closed form is the limit of brute-force alternating swaps, error O(1/N)",
          "[twamm]") {
  // 5% of the ETH reserve against 3% of the USDC reserve: both sides matter.
  // Measured (fee 0): error * N = 0.0480 for every N, successive ratios
  // 10.002, 10.0002, 10.0000; with fee 0.003: 0.0479, the same ratios. The
  // band [9, 11] around 10 is first-order convergence; second order would
  // give 100, no convergence 1. At N = 10^4 the error (5e-6) is still 1e7
  // times the rounding of 2N swaps, so rounding cannot blur the rate.
  const double x_sold = 50.0;
  const double y_sold = 60'000.0;
  for (const double fee : {0.0, 0.003}) {
    INFO("fee " << fee);
    const VirtualTrade closed = virtual_trade(reserve_eth, reserve_usdc, fee, x_sold, y_sold);
    double previous_error = 0.0;
    for (const int steps : {10, 100, 1000, 10000}) {
      INFO("N " << steps);
      const double error = brute_force_error(
          closed, brute_force(reserve_eth, reserve_usdc, fee, x_sold, y_sold, steps));
      CHECK(error * steps > 0.04);
      CHECK(error * steps < 0.06);
      if (previous_error > 0.0) {
        CHECK(previous_error / error > 9.0);
        CHECK(previous_error / error < 11.0);
      }
      previous_error = error;
    }
    // The fee parts are the same bookkeeping on both sides: exactly f * sold.
    CHECK(closed.fee_x == fee * x_sold);
    CHECK(closed.fee_y == fee * y_sold);
  }
}

TEST_CASE("twamm: x_in/y_in = x0/y0 leaves the reserves unchanged (the paper's special case)",
          "[twamm]") {
  // White, Robinson, Adams (2021): with sqrt(x0 y_in) = sqrt(y0 x_in), c = 0
  // and x_end = sqrt(k x_in/y_in) = sqrt(x0 y0 x0/y0) = x0: the two pools
  // trade entirely with each other at the pool price. 10/1000 and
  // 20000/2e6 are both the double nearest 0.01, so alpha == beta exactly and
  // the implementation's (alpha + h)/(beta + h) is exactly 1.
  const VirtualTrade trade = virtual_trade(reserve_eth, reserve_usdc, 0.0, 10.0, 20'000.0);
  CHECK(trade.reserve_x == reserve_eth);
  CHECK(trade.reserve_y == reserve_usdc);
  // Each pool receives everything the other sold.
  CHECK(relative_close(trade.x_out, 10.0, few_ops_relative));
  CHECK(relative_close(trade.y_out, 20'000.0, few_ops_relative));
  // With a fee both net inputs shrink by the same factor: the ratio and so
  // the closed-form reserves are unchanged; only the fees are added.
  const VirtualTrade with_fee = virtual_trade(reserve_eth, reserve_usdc, 0.003, 10.0, 20'000.0);
  CHECK(relative_close(with_fee.reserve_x, reserve_eth + 0.003 * 10.0, 1e-15));
  CHECK(relative_close(with_fee.reserve_y, reserve_usdc + 0.003 * 20'000.0, 1e-15));
}

TEST_CASE("twamm: a one-sided segment is exactly a plain swap of the net-of-fee input", "[twamm]") {
  for (const double fee : {0.0, 0.003, 0.05}) {
    INFO("fee " << fee);
    const double gamma = 1.0 - fee;
    // (a) Against Cpmm::swap of the gross input with the fee: the same
    // operations, so bit-for-bit.
    for (const bool sells_x : {true, false}) {
      const double sold = sells_x ? 37.5 : 81'000.0;
      const VirtualTrade trade = sells_x ? virtual_trade(reserve_eth, reserve_usdc, fee, sold, 0.0)
                                         : virtual_trade(reserve_eth, reserve_usdc, fee, 0.0, sold);
      Cpmm pool(pool_params(fee));
      const auto swap = pool.swap(sells_x ? eth : usdc, sold, 0.0);
      REQUIRE(swap.succeeded());
      CHECK((sells_x ? trade.y_out : trade.x_out) == swap.amount_out);
      CHECK((sells_x ? trade.x_out : trade.y_out) == 0.0);
      CHECK(trade.reserve_x == pool.reserve_x());
      CHECK(trade.reserve_y == pool.reserve_y());
      CHECK((sells_x ? trade.fee_x : trade.fee_y) == swap.fee_paid);
      // (b) Against a fee-0 pool swapping the net input gamma * sold: the
      // same output (getAmountOut sees the same net amount).
      Cpmm no_fee_pool(pool_params(0.0));
      const auto net_swap = no_fee_pool.swap(sells_x ? eth : usdc, gamma * sold, 0.0);
      CHECK((sells_x ? trade.y_out : trade.x_out) == net_swap.amount_out);
      // (c) Against getAmountOut by hand.
      const double expected = sells_x ? hand_amount_out(reserve_eth, reserve_usdc, fee, sold)
                                      : hand_amount_out(reserve_usdc, reserve_eth, fee, sold);
      CHECK(relative_close(sells_x ? trade.y_out : trade.x_out, expected, few_ops_relative));
    }
  }

  SECTION("through the Twamm: one order, one segment, the same state as the swap") {
    Twamm twamm(twamm_params(0.003));
    // 100 ETH over 200 blocks: 0.5 ETH per block, so 100 blocks sell exactly 50.
    const std::uint32_t id = place(twamm, alice, eth, 100.0, 200, 0);
    twamm.execute_virtual_orders(100);
    Cpmm pool(pool_params(0.003));
    const auto swap = pool.swap(eth, 50.0, 0.0);
    CHECK(twamm.pool().reserve_x() == pool.reserve_x());
    CHECK(twamm.pool().reserve_y() == pool.reserve_y());
    CHECK(twamm.pool().fees_per_share_x() == pool.fees_per_share_x());
    CHECK(twamm.pool().fees_per_share_y() == pool.fees_per_share_y());
    // proceeds = rate * (y_out / rate): two roundings.
    CHECK(relative_close(twamm.proceeds_of(id), swap.amount_out, 1e-15));
    CHECK(twamm.unsold_of(id) == 50.0);
  }
}

TEST_CASE("twamm: the two-sided formula tends to the one-sided one as the other side vanishes",
          "[twamm]") {
  // As y_sold -> 0 the continuous trade tends to the plain swap of x. The
  // first-order effect of selling eps of y is to move y_out by O(eps) (the
  // pool receives eps of y) and x_out = O(eps): so the gaps over eps must
  // settle to constants. Checked down to eps = 1e-12 USDC (s ~ 1e-9), where
  // a formula with cancellation (x0 + x_in - x_end) would have lost every
  // digit of x_out (~1e-15 against x0 = 1000).
  const double x_sold = 40.0;
  const double gamma = 0.997;
  const VirtualTrade one_sided = virtual_trade(reserve_eth, reserve_usdc, 0.003, x_sold, 0.0);
  double previous_slope = 0.0;
  for (const double eps : {1e-2, 1e-4, 1e-6, 1e-8, 1e-10, 1e-12}) {
    INFO("eps " << eps);
    const VirtualTrade two_sided = virtual_trade(reserve_eth, reserve_usdc, 0.003, x_sold, eps);
    const double y_slope = (two_sided.y_out - one_sided.y_out) / eps;
    CHECK(std::fabs(two_sided.y_out - one_sided.y_out) <= 10.0 * eps + 1e-15 * one_sided.y_out);
    // x_out / (net y sold) tends to the marginal price of y in x along the
    // trade, between x_end/y_end before and after: within the band.
    const double x_per_y = two_sided.x_out / (gamma * eps);
    const double price_before = reserve_eth / reserve_usdc;
    const double price_after = one_sided.reserve_x / one_sided.reserve_y;
    CHECK(x_per_y > std::min(price_before, price_after));
    CHECK(x_per_y < std::max(price_before, price_after));
    if (previous_slope != 0.0 && eps >= 1e-8) {
      // The slope converges (its change is O(eps)) until the rounding of
      // y_out (ulp(8e4) ~ 1.5e-11, two of them per gap) over eps dominates.
      CHECK(std::fabs(y_slope - previous_slope) <= 1e-3 + 6e-11 / eps);
    }
    previous_slope = y_slope;
  }
}

TEST_CASE("twamm: with no fee, splitting a segment changes nothing but rounding", "[twamm]") {
  // Constant rates make the continuous trade an autonomous flow: running
  // [0, t] then [t, T] is running [0, T]. With a fee the fee parts join the
  // reserves at segment ends, so the split matters (by design, as in
  // Fraxswap where segments end when the contract is touched).
  const double x_sold = 30.0;
  const double y_sold = 90'000.0;
  for (const double split : {0.1, 0.5, 0.77}) {
    INFO("split " << split);
    const VirtualTrade whole = virtual_trade(reserve_eth, reserve_usdc, 0.0, x_sold, y_sold);
    const VirtualTrade first =
        virtual_trade(reserve_eth, reserve_usdc, 0.0, split * x_sold, split * y_sold);
    const VirtualTrade second = virtual_trade(first.reserve_x, first.reserve_y, 0.0,
                                              (1 - split) * x_sold, (1 - split) * y_sold);
    CHECK(relative_close(second.reserve_x, whole.reserve_x, few_ops_relative));
    CHECK(relative_close(second.reserve_y, whole.reserve_y, few_ops_relative));
    CHECK(relative_close(first.x_out + second.x_out, whole.x_out, few_ops_relative));
    CHECK(relative_close(first.y_out + second.y_out, whole.y_out, few_ops_relative));
  }

  SECTION("through the Twamm: every block versus one jump") {
    for (const double fee : {0.0, 0.003}) {
      INFO("fee " << fee);
      Twamm stepped(twamm_params(fee));
      Twamm jumped(twamm_params(fee));
      for (Twamm* twamm : {&stepped, &jumped}) {
        place(*twamm, alice, eth, 30.0, 1000, 0);
        place(*twamm, bob, usdc, 90'000.0, 1000, 0);
      }
      for (BlockNumber block = 1; block <= 600; ++block) stepped.execute_virtual_orders(block);
      jumped.execute_virtual_orders(600);
      CHECK(stepped.segments_evaluated() == 600);
      CHECK(jumped.segments_evaluated() == 1);
      // 600 segments of ~20 roundings each: <= 1.2e4 ulps ~ 1.3e-12 in the
      // worst case, so 1e-11 (measured: 2e-16 and 3e-15). With the fee the
      // gap is a modelling effect, not rounding (measured: 3.5e-7 in the
      // reserve, 1.3e-5 in the proceeds).
      const double gap_x = std::fabs(stepped.pool().reserve_x() / jumped.pool().reserve_x() - 1.0);
      const double gap_proceeds = std::fabs(stepped.proceeds_of(0) / jumped.proceeds_of(0) - 1.0);
      if (fee == 0.0) {
        CHECK(gap_x <= 1e-11);
        CHECK(gap_proceeds <= 1e-11);
      } else {
        CHECK(gap_x > 1e-9);
      }
    }
  }
}

// ----------------------------------------------------------- the market ----

TEST_CASE("twamm: evaluation is lazy, one segment per boundary where rates change", "[twamm]") {
  // Interval 10, orders placed at block 0 (a boundary: they start at once).
  //   A sells ETH until 2,000,000 (after every target below),
  //   B sells USDC until 30,000, C ETH until 60,000, D USDC until 90,000.
  // At block 3, E is placed (to sell ETH over [10, 45,010]) and cancelled
  // before it starts: nothing changes at 10 or 45,010 any more.
  // Executing 3 -> 100,000 visits 30,000, 60,000, 90,000 and ends at
  // 100,000: 3 boundaries + 1 = 4 segments, not 10,000 intervals.
  auto make = [](bool with_cancelled_order) {
    Twamm twamm(twamm_params(0.003));
    place(twamm, alice, eth, 100.0, 2'000'000, 0);
    place(twamm, bob, usdc, 1e6, 30'000, 0);
    place(twamm, alice, eth, 50.0, 60'000, 0);
    place(twamm, bob, usdc, 5e5, 90'000, 0);
    twamm.execute_virtual_orders(3);
    if (with_cancelled_order) {
      const std::uint32_t id = place(twamm, alice, eth, 10.0, 45'000, 3);
      REQUIRE(twamm.cancel_order(alice, id).succeeded());
    }
    return twamm;
  };
  Twamm twamm = make(true);
  REQUIRE(twamm.segments_evaluated() == 1);  // [0, 3]
  twamm.execute_virtual_orders(100'000);
  CHECK(twamm.segments_evaluated() == 1 + 4);
  CHECK(twamm.last_virtual_order_block() == 100'000);

  SECTION("the cancelled order's boundary is not a segment end") {
    // With a fee an extra segment end would move the reserves, so equal
    // bits show 45,000 was not visited.
    Twamm without = make(false);
    without.execute_virtual_orders(100'000);
    CHECK(without.segments_evaluated() == 1 + 4);
    require_same_market(twamm, without);
  }
  SECTION("the count does not depend on the blocks elapsed") {
    Twamm longer = make(true);
    longer.execute_virtual_orders(1'000'000);  // ten times further, same three boundaries
    CHECK(longer.segments_evaluated() == 1 + 4);
  }
  SECTION("stepping boundary by boundary evaluates the same segments") {
    Twamm stepped = make(true);
    for (const BlockNumber block : {30'000u, 60'000u, 90'000u, 100'000u})
      stepped.execute_virtual_orders(block);
    require_same(snapshot(stepped), snapshot(twamm));
  }
  SECTION("idempotent for the same block, never backwards") {
    const TwammSnapshot before = snapshot(twamm);
    twamm.execute_virtual_orders(100'000);
    require_same(snapshot(twamm), before);
    twamm.execute_virtual_orders(50'000);
    require_same(snapshot(twamm), before);
  }
}

TEST_CASE("twamm: an order expiring inside an evaluation gets exactly its proceeds up to expiry",
          "[twamm]") {
  // A sells 100 ETH over [0, 1000]; B sells 300,000 USDC over [0, 5000].
  // Executing 0 -> 1500 in one call must end a segment at A's expiry, so it
  // evaluates the very segments of stepping to 1000 first: equal bits, with
  // or without a fee.
  for (const double fee : {0.0, 0.003}) {
    INFO("fee " << fee);
    Twamm direct(twamm_params(fee));
    Twamm stepped(twamm_params(fee));
    for (Twamm* twamm : {&direct, &stepped}) {
      place(*twamm, alice, eth, 100.0, 1000, 0);
      place(*twamm, bob, usdc, 300'000.0, 5000, 0);
    }
    stepped.execute_virtual_orders(1000);
    const double proceeds_at_expiry = stepped.proceeds_of(0);
    CHECK(stepped.unsold_of(0) == 0.0);
    // Over [0, 1000] A sold 100 ETH and B 1000 * 60 = 60,000 USDC: one
    // closed-form segment (tested above against the paper and brute force).
    const VirtualTrade segment = virtual_trade(reserve_eth, reserve_usdc, fee, 100.0, 60'000.0);
    CHECK(relative_close(proceeds_at_expiry, segment.y_out, 1e-15));

    stepped.execute_virtual_orders(1500);
    direct.execute_virtual_orders(1500);
    CHECK(direct.proceeds_of(0) == proceeds_at_expiry);  // nothing earned after expiry
    CHECK(stepped.proceeds_of(0) == proceeds_at_expiry);
    require_same(snapshot(direct), snapshot(stepped));
    CHECK(direct.segments_evaluated() == 2);
    CHECK(direct.sales_rate_x() == 0.0);  // A's rate left exactly
    CHECK(direct.sales_rate_y() == 60.0);
  }
}

TEST_CASE("twamm: orders start on the next boundary and expire on whole intervals", "[twamm]") {
  Twamm twamm(twamm_params(0.003));
  twamm.execute_virtual_orders(3);

  SECTION("placed between boundaries: waits for the next one") {
    // Block 3, interval 10: start 10; 25 blocks -> ceil(25/10) = 3 intervals -> expiry 40.
    const auto result = twamm.place_order(alice, eth, 60.0, 25, 3);
    REQUIRE(result.succeeded());
    CHECK(result.start_block == 10);
    CHECK(result.expiry_block == 40);
    CHECK(result.sales_rate == 60.0 / 30.0);
    CHECK(result.amount_in == 60.0);
    CHECK(twamm.order(result.order_id).status == OrderStatus::open);
    CHECK(twamm.order(result.order_id).token_out == usdc);
    CHECK(twamm.has_active_orders());
    CHECK(twamm.sales_rate_x() == 0.0);
    CHECK(twamm.unsold_of(result.order_id) == 60.0);

    twamm.execute_virtual_orders(9);  // nothing sells before the start
    CHECK(twamm.segments_evaluated() == 0);
    CHECK(twamm.pool().reserve_x() == reserve_eth);
    CHECK(twamm.proceeds_of(result.order_id) == 0.0);
    CHECK(twamm.unsold_of(result.order_id) == 60.0);

    twamm.execute_virtual_orders(10);
    CHECK(twamm.sales_rate_x() == 2.0);
    CHECK(twamm.unsold_of(result.order_id) == 60.0);  // rate * 30 = 60 exactly
    twamm.execute_virtual_orders(25);
    CHECK(twamm.unsold_of(result.order_id) == 30.0);
    // One-sided over [10, 25]: a swap of 30 ETH.
    CHECK(relative_close(twamm.proceeds_of(result.order_id),
                         hand_amount_out(reserve_eth, reserve_usdc, 0.003, 30.0),
                         few_ops_relative));
    twamm.execute_virtual_orders(40);
    CHECK(twamm.sales_rate_x() == 0.0);
    CHECK_FALSE(twamm.has_active_orders());
    CHECK(twamm.unsold_of(result.order_id) == 0.0);
    CHECK(twamm.pooled_unsold(eth) == 0.0);  // 2 * 15 + 2 * 15 = 60 exactly
  }
  SECTION("placed on a boundary that has been executed: starts at once") {
    twamm.execute_virtual_orders(10);
    const auto result = twamm.place_order(alice, usdc, 30'000.0, 30, 10);
    REQUIRE(result.succeeded());
    CHECK(result.start_block == 10);
    CHECK(result.expiry_block == 40);
    CHECK(twamm.sales_rate_y() == 1'000.0);
  }
  SECTION("durations: one block is one interval, whole intervals are kept") {
    const auto one = twamm.place_order(alice, eth, 1.0, 1, 3);
    CHECK(one.expiry_block - one.start_block == 10);
    const auto whole = twamm.place_order(alice, eth, 1.0, 30, 3);
    CHECK(whole.expiry_block - whole.start_block == 30);
    const auto just_over = twamm.place_order(alice, eth, 1.0, 31, 3);
    CHECK(just_over.expiry_block - just_over.start_block == 40);
  }
  SECTION("a later block executes first; an earlier one is taken as the last executed block") {
    const auto later = twamm.place_order(alice, eth, 1.0, 10, 57);
    REQUIRE(later.succeeded());
    CHECK(twamm.last_virtual_order_block() == 57);
    CHECK(later.start_block == 60);
    const auto earlier = twamm.place_order(alice, eth, 1.0, 10, 12);
    REQUIRE(earlier.succeeded());
    CHECK(earlier.start_block == 60);  // from block 57, not 12
  }
}

TEST_CASE("twamm: cancel, withdraw and every revert", "[twamm]") {
  // One ETH order of 10 ETH over [0, 1000] (rate 0.01): alone in its pool,
  // so each segment is a plain swap of what it sold (getAmountOut by hand).
  const double fee = 0.003;
  Twamm twamm(twamm_params(fee, 10, 3));
  const std::uint32_t id = place(twamm, alice, eth, 10.0, 1000, 0);
  twamm.execute_virtual_orders(400);
  // 0.01 * 400 rounds to exactly 4 (0.01 is 1.0000000000000000208e-2).
  const double out_first = hand_amount_out(reserve_eth, reserve_usdc, fee, 4.0);

  SECTION("cancel returns the unsold input and the proceeds so far") {
    CHECK(relative_close(twamm.unsold_of(id), 6.0, few_ops_relative));
    CHECK(relative_close(twamm.proceeds_of(id), out_first, few_ops_relative));
    const auto settlement = twamm.cancel_order(alice, id);
    REQUIRE(settlement.succeeded());
    CHECK(settlement.order_closed);
    CHECK(settlement.refund_token == eth);
    CHECK(settlement.proceeds_token == usdc);
    // The last open order of its pool takes what is left: exactly 10 - 4.
    CHECK(settlement.refund_amount == 6.0);
    CHECK(relative_close(settlement.proceeds_amount, out_first, few_ops_relative));
    CHECK(twamm.order(id).status == OrderStatus::cancelled);
    CHECK(twamm.order(id).refund_paid == settlement.refund_amount);
    CHECK(twamm.order(id).proceeds_paid == settlement.proceeds_amount);
    CHECK(twamm.pooled_unsold(eth) == 0.0);
    CHECK(twamm.pooled_proceeds(eth) == 0.0);
    CHECK(twamm.holdings_of(eth) == twamm.pool().reserve_x());
    CHECK(twamm.sales_rate_x() == 0.0);
    CHECK_FALSE(twamm.has_active_orders());
    // Nothing more sells.
    const double reserve_x = twamm.pool().reserve_x();
    twamm.execute_virtual_orders(900);
    CHECK(twamm.pool().reserve_x() == reserve_x);
    // A second cancel, or a withdraw, has nothing to act on.
    const TwammSnapshot before = snapshot(twamm);
    CHECK(twamm.cancel_order(alice, id).revert_reason == RevertReason::unsupported);
    CHECK(twamm.withdraw_proceeds(alice, id).revert_reason == RevertReason::unsupported);
    require_same(snapshot(twamm), before);
  }
  SECTION("withdraw pays the proceeds so far and the order continues; after expiry the rest") {
    const auto first = twamm.withdraw_proceeds(alice, id);
    REQUIRE(first.succeeded());
    CHECK_FALSE(first.order_closed);
    CHECK(first.refund_amount == 0.0);
    CHECK(relative_close(first.proceeds_amount, out_first, few_ops_relative));
    CHECK(twamm.proceeds_of(id) == 0.0);
    CHECK(twamm.order(id).status == OrderStatus::open);

    twamm.execute_virtual_orders(700);  // sells 3 more on the reserves after the first 4
    const double out_second =
        hand_amount_out(reserve_eth + 4.0, reserve_usdc - out_first, fee, 3.0);
    CHECK(relative_close(twamm.proceeds_of(id), out_second, few_ops_relative));
    CHECK(relative_close(twamm.unsold_of(id), 3.0, few_ops_relative));

    twamm.execute_virtual_orders(1500);  // expires at 1000
    const double out_third =
        hand_amount_out(reserve_eth + 7.0, reserve_usdc - out_first - out_second, fee, 3.0);
    const auto rest = twamm.withdraw_proceeds(alice, id);
    REQUIRE(rest.succeeded());
    CHECK(rest.order_closed);
    CHECK(relative_close(rest.proceeds_amount, out_second + out_third, few_ops_relative));
    CHECK(twamm.order(id).status == OrderStatus::finished);
    CHECK(relative_close(twamm.order(id).proceeds_paid, out_first + out_second + out_third,
                         few_ops_relative));
    CHECK(twamm.pooled_proceeds(eth) == 0.0);

    const TwammSnapshot before = snapshot(twamm);
    CHECK(twamm.withdraw_proceeds(alice, id).revert_reason == RevertReason::unsupported);
    CHECK(twamm.cancel_order(alice, id).revert_reason == RevertReason::unsupported);
    require_same(snapshot(twamm), before);
  }
  SECTION("cancel after expiry is unsupported, withdraw still works") {
    twamm.execute_virtual_orders(1000);
    const TwammSnapshot before = snapshot(twamm);
    CHECK(twamm.cancel_order(alice, id).revert_reason == RevertReason::unsupported);
    require_same(snapshot(twamm), before);
    CHECK(twamm.withdraw_proceeds(alice, id).succeeded());
  }
  SECTION("cancel before the start refunds everything") {
    twamm.execute_virtual_orders(405);
    const auto later = twamm.place_order(bob, eth, 5.0, 100, 405);  // starts at 410
    REQUIRE(later.succeeded());
    const auto settlement = twamm.cancel_order(bob, later.order_id);
    REQUIRE(settlement.succeeded());
    CHECK(settlement.refund_amount == 5.0);
    CHECK(settlement.proceeds_amount == 0.0);
    // Alice's order sells on unchanged; the cancelled one never starts.
    twamm.execute_virtual_orders(600);
    CHECK(twamm.sales_rate_x() == 0.01);
  }
  SECTION("reverts change nothing") {
    const double nan = std::nan("");
    const double inf = std::numeric_limits<double>::infinity();
    const TwammSnapshot before = snapshot(twamm);
    auto check_place = [&](AssetIndex token, double amount, std::uint64_t duration,
                           RevertReason expected) {
      INFO("token " << token << " amount " << amount << " duration " << duration);
      const auto result = twamm.place_order(alice, token, amount, duration, 400);
      CHECK(result.revert_reason == expected);
      CHECK(result.amount_in == 0.0);
      require_same(snapshot(twamm), before);
    };
    check_place(unrelated_asset, 1.0, 100, RevertReason::invalid_token);
    for (const double amount : {0.0, -1.0, nan, inf, -inf}) {
      check_place(eth, amount, 100, RevertReason::invalid_amount);
    }
    check_place(eth, 1.0, 0, RevertReason::invalid_amount);
    // Expiry past the last representable block.
    check_place(eth, 1.0, std::numeric_limits<std::uint64_t>::max(), RevertReason::invalid_amount);
    // 1e-320 / 1e18 blocks underflows: the order would never sell.
    check_place(eth, 1e-320, 1'000'000'000'000'000'000u, RevertReason::invalid_amount);

    auto check_settle = [&](auto action, RevertReason expected) {
      const auto result = action();
      CHECK(result.revert_reason == expected);
      CHECK(result.refund_amount == 0.0);
      CHECK(result.proceeds_amount == 0.0);
      require_same(snapshot(twamm), before);
    };
    check_settle([&] { return twamm.cancel_order(bob, id); }, RevertReason::not_owner);
    check_settle([&] { return twamm.withdraw_proceeds(bob, id); }, RevertReason::not_owner);
    check_settle([&] { return twamm.cancel_order(alice, 99); }, RevertReason::not_owner);
    check_settle([&] { return twamm.withdraw_proceeds(alice, 99); }, RevertReason::not_owner);

    // Capacity (max_orders = 3): two more fit, the fourth is unsupported.
    const auto second = twamm.place_order(bob, usdc, 1'000.0, 100, 405);  // starts at 410
    REQUIRE(second.succeeded());
    REQUIRE(twamm.place_order(bob, usdc, 1'000.0, 100, 405).succeeded());
    const TwammSnapshot full = snapshot(twamm);
    const auto fourth = twamm.place_order(bob, usdc, 1'000.0, 100, 405);
    CHECK(fourth.revert_reason == RevertReason::unsupported);
    require_same(snapshot(twamm), full);
    // Withdrawing from an order that has not started: nothing to withdraw.
    CHECK(twamm.withdraw_proceeds(bob, second.order_id).revert_reason == RevertReason::unsupported);
    require_same(snapshot(twamm), full);
  }
  SECTION("an order whose input would make the holdings overflow is invalid_amount") {
    Twamm huge(twamm_params(fee));
    const double amount = 0.6 * std::numeric_limits<double>::max();
    REQUIRE(huge.place_order(alice, eth, amount, 100, 0).succeeded());
    const TwammSnapshot before = snapshot(huge);
    CHECK(huge.place_order(alice, eth, amount, 100, 0).revert_reason ==
          RevertReason::invalid_amount);
    require_same(snapshot(huge), before);
  }
}

TEST_CASE("twamm: orders in one pool share the proceeds in proportion to their sales rates",
          "[twamm]") {
  // Over any stretch where two orders both sell, each earns rate * (increase
  // of the pool's reward factor): the same increase, so the ratio of their
  // proceeds is the ratio of their rates, to two roundings each.
  Twamm twamm(twamm_params(0.003));
  const std::uint32_t a = place(twamm, alice, eth, 100.0, 2000, 0);  // rate 0.05
  const std::uint32_t b = place(twamm, bob, eth, 30.0, 1000, 0);     // rate 0.03
  place(twamm, bob, usdc, 200'000.0, 3000, 0);                       // the other side
  twamm.execute_virtual_orders(503);
  const std::uint32_t d = place(twamm, bob, eth, 7.0, 500, 503);  // [510, 1010], rate 0.014
  twamm.execute_virtual_orders(510);
  const double a_before_d = twamm.withdraw_proceeds(alice, a).proceeds_amount;
  twamm.execute_virtual_orders(800);
  // A and D both sold over [510, 800].
  const double ratio_ad = twamm.proceeds_of(a) / twamm.proceeds_of(d);
  CHECK(relative_close(ratio_ad, 0.05 / 0.014, 1e-14));
  twamm.execute_virtual_orders(1000);  // B expires
  const double a_total_to_1000 = a_before_d + twamm.proceeds_of(a);
  CHECK(relative_close(a_total_to_1000 / twamm.proceeds_of(b), 0.05 / 0.03, 1e-14));
  // After B's expiry A keeps earning, B does not.
  const double b_at_expiry = twamm.proceeds_of(b);
  twamm.execute_virtual_orders(1500);
  CHECK(twamm.proceeds_of(b) == b_at_expiry);
  CHECK(twamm.proceeds_of(a) > a_total_to_1000 - a_before_d);
}

TEST_CASE("twamm: an emptied embedded pool pauses the orders and loses nothing", "[twamm]") {
  // Every LP share burnt leaves no price: nothing sells, nothing is earned,
  // and the input stays in the order pool (README: "Empty pool").
  Twamm twamm(twamm_params(0.003));
  const std::uint32_t id = place(twamm, alice, eth, 10.0, 1000, 0);
  twamm.execute_virtual_orders(100);
  const double pooled_before = twamm.pooled_unsold(eth);
  const double proceeds_before = twamm.proceeds_of(id);
  const auto removed = twamm.pool().remove_liquidity(twamm.pool().total_shares(), 0.0, 0.0);
  REQUIRE(removed.succeeded());
  const std::uint64_t segments = twamm.segments_evaluated();
  twamm.execute_virtual_orders(600);
  CHECK(twamm.segments_evaluated() == segments);
  CHECK(twamm.pooled_unsold(eth) == pooled_before);
  CHECK(twamm.proceeds_of(id) == proceeds_before);
  // Cancelling then pays all the input the pool still holds to the last
  // order: conservation holds exactly.
  const auto settlement = twamm.cancel_order(alice, id);
  REQUIRE(settlement.succeeded());
  CHECK(settlement.refund_amount == pooled_before);
  CHECK(twamm.holdings_of(eth) == 0.0);
  CHECK(twamm.holdings_of(usdc) == 0.0);
}

TEST_CASE("twamm: random sequences conserve both tokens", "[twamm]") {
  // Ledger: initial reserves + everything put in (orders, swaps, deposits)
  // - everything paid out (refunds, proceeds, swap outputs, withdrawals)
  // must equal holdings_of for both tokens at every step.
  // Tolerance: relative to the scale of the run, the initial reserve plus
  // everything ever put in, which bounds every holding and every amount
  // moved. Each step conserves up to a few dozen roundings per closed-form
  // segment, each <= 1.1e-16 of that scale; the errors have random signs,
  // so their sum grows like sqrt(segments) (measured: <= 1.6e-15). 1e-12
  // leaves a wide margin, while the smallest amount moved is >= 1e-4 of a
  // reserve, so any amount lost or counted twice would show.
  std::mt19937_64 rng(20260214);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (const double fee : {0.0, 0.003}) {
    INFO("fee " << fee);
    Twamm twamm(twamm_params(fee, 5, 400));
    double ledger_x = reserve_eth;
    double ledger_y = reserve_usdc;
    double scale_x = reserve_eth;  // initial + everything put in
    double scale_y = reserve_usdc;
    double worst_relative_gap = 0.0;
    BlockNumber block = 0;
    int placed = 0;
    int cancelled = 0;
    int withdrawn = 0;
    auto check_conservation = [&] {
      const double gap_x = std::fabs(twamm.holdings_of(eth) - ledger_x) / scale_x;
      const double gap_y = std::fabs(twamm.holdings_of(usdc) - ledger_y) / scale_y;
      CHECK(gap_x <= few_ops_relative);
      CHECK(gap_y <= few_ops_relative);
      worst_relative_gap = std::max({worst_relative_gap, gap_x, gap_y});
      for (const AssetIndex token : {eth, usdc}) {
        CHECK(twamm.pooled_proceeds(token) >= 0.0);
        CHECK(twamm.pooled_unsold(token) >= 0.0);
      }
    };
    auto settle = [&](const defisim::markets::OrderSettlement& settlement) {
      if (!settlement.succeeded()) return false;
      (settlement.refund_token == eth ? ledger_x : ledger_y) -= settlement.refund_amount;
      (settlement.proceeds_token == eth ? ledger_x : ledger_y) -= settlement.proceeds_amount;
      return true;
    };
    for (int step = 0; step < 1500; ++step) {
      block += static_cast<BlockNumber>(unit(rng) * 40.0);
      twamm.execute_virtual_orders(block);
      const AgentIndex owner = static_cast<AgentIndex>(unit(rng) * 3.0);
      const bool x_side = unit(rng) < 0.5;
      double& scale_in = x_side ? scale_x : scale_y;
      const AssetIndex token = x_side ? eth : usdc;
      const double reserve = twamm.pool().reserve_of(token);
      const double size =
          reserve * std::pow(10.0, -4.0 + 3.5 * unit(rng));  // 1e-4 .. 0.3 of the reserve
      const int action = static_cast<int>(unit(rng) * 6.0);
      // One of the last 20 orders, mostly by its owner (else not_owner).
      const std::uint32_t count = twamm.order_count();
      const std::uint32_t some_order =
          count == 0 ? 0 : count - 1 - static_cast<std::uint32_t>(unit(rng) * std::min(count, 20u));
      const AgentIndex claimant =
          (count > 0 && unit(rng) < 0.8) ? twamm.order(some_order).owner : owner;
      if (action == 0) {
        const auto duration = static_cast<std::uint64_t>(1.0 + unit(rng) * 2000.0);
        const auto result = twamm.place_order(owner, token, size, duration, block);
        if (result.succeeded()) {
          (x_side ? ledger_x : ledger_y) += result.amount_in;
          scale_in += result.amount_in;
          ++placed;
        }
      } else if (action == 1) {
        cancelled += settle(twamm.cancel_order(claimant, some_order)) ? 1 : 0;
      } else if (action == 2) {
        withdrawn += settle(twamm.withdraw_proceeds(claimant, some_order)) ? 1 : 0;
      } else if (action == 3) {
        const auto swap = twamm.pool().swap(token, size, 0.0);
        if (swap.succeeded()) {
          (x_side ? ledger_x : ledger_y) += swap.amount_in;
          scale_in += swap.amount_in;
          (x_side ? ledger_y : ledger_x) -= swap.amount_out;
        }
      } else if (action == 4) {
        // x binds: y offered at 1.5 times the pool's ratio.
        const double fraction = size / reserve;
        const auto added = twamm.pool().add_liquidity(
            fraction * twamm.pool().reserve_x(), 1.5 * fraction * twamm.pool().reserve_y(), 0.0);
        if (added.succeeded()) {
          ledger_x += added.amount_x;
          ledger_y += added.amount_y;
          scale_x += added.amount_x;
          scale_y += added.amount_y;
        }
      } else {
        // Up to 5%: the deposits above (median ~0.6%, mean ~4%) keep the pool from draining.
        const auto removed =
            twamm.pool().remove_liquidity(twamm.pool().total_shares() * 0.05 * unit(rng), 0.0, 0.0);
        if (removed.succeeded()) {
          ledger_x -= removed.amount_x;
          ledger_y -= removed.amount_y;
        }
      }
      check_conservation();
    }
    // The run exercised every path (seed 20260214: ~250 placed, ~80
    // cancelled, ~140 withdrawn, ~1800 segments per fee).
    CHECK(placed > 150);
    CHECK(cancelled > 40);
    CHECK(withdrawn > 80);
    // Run past every expiry and close every order: the order pools are
    // then empty exactly (the last order of each takes what rounding left).
    twamm.execute_virtual_orders(block + 10'000);
    CHECK_FALSE(twamm.has_active_orders());
    for (std::uint32_t id = 0; id < twamm.order_count(); ++id) {
      if (twamm.order(id).status == OrderStatus::open) {
        REQUIRE(settle(twamm.withdraw_proceeds(twamm.order(id).owner, id)));
      }
    }
    check_conservation();
    for (const AssetIndex token : {eth, usdc}) {
      CHECK(twamm.pooled_unsold(token) == 0.0);
      CHECK(twamm.pooled_proceeds(token) == 0.0);
    }
    CHECK(twamm.holdings_of(eth) == twamm.pool().reserve_x());
    CHECK(twamm.pool().reserve_x() > 0.1 * reserve_eth);  // the pool was not drained
  }
}

TEST_CASE("twamm: placing, executing, cancelling and withdrawing never allocate", "[twamm]") {
  // Storage for max_orders orders and 2 * max_orders boundaries is reserved
  // by the constructor. Fill it completely (every order with two new
  // boundaries, so the boundary arrays fill too), with swaps, reverts,
  // cancels and withdrawals in between, and count allocations. No Catch
  // assertion runs inside the window (they may allocate); results are
  // collected in a fixed array and checked after.
  constexpr std::uint32_t max_orders = 32;
  const long before_construction = global_allocations.load();
  Twamm twamm(twamm_params(0.003, 10, max_orders));
  CHECK(global_allocations.load() >=
        before_construction + 4);  // the counter sees the four reservations
  int succeeded = 0;
  int reverted = 0;
  const long before = global_allocations.load();
  for (std::uint32_t i = 0; i < max_orders; ++i) {
    const BlockNumber block =
        7 + 23 * static_cast<BlockNumber>(i);  // never on a boundary: new start boundaries
    twamm.execute_virtual_orders(block);
    const AssetIndex token = i % 2 == 0 ? eth : usdc;
    const double amount = token == eth ? 1.0 + i : 2'000.0 * (1 + i);
    succeeded += twamm.place_order(alice, token, amount, 1000 + 37 * i, block).succeeded() ? 1 : 0;
    succeeded += twamm.pool().swap(usdc, 500.0, 0.0).succeeded() ? 1 : 0;
    reverted += twamm.place_order(alice, unrelated_asset, 1.0, 10, block).succeeded() ? 0 : 1;
    if (i % 5 == 4) succeeded += twamm.cancel_order(alice, i - 2).succeeded() ? 1 : 0;
    if (i % 7 == 6) succeeded += twamm.withdraw_proceeds(alice, i - 4).succeeded() ? 1 : 0;
  }
  reverted += twamm.place_order(alice, eth, 1.0, 10, 800).succeeded() ? 0 : 1;  // full: unsupported
  twamm.execute_virtual_orders(100'000);
  for (std::uint32_t id = 0; id < max_orders; ++id) {
    if (twamm.order(id).status == OrderStatus::open) {
      succeeded += twamm.withdraw_proceeds(alice, id).succeeded() ? 1 : 0;
    }
  }
  const long after = global_allocations.load();
  CHECK(after == before);
  CHECK(twamm.order_count() == max_orders);
  CHECK(reverted == static_cast<int>(max_orders) + 1);
  CHECK(succeeded > static_cast<int>(2 * max_orders));
  CHECK_FALSE(twamm.has_active_orders());
}

TEST_CASE("twamm: a copy behaves identically and keeps its storage reserved", "[twamm]") {
  // An engine may copy a market to save its state and assign it back to
  // restore it (World does so around a bundle). A copy must evaluate
  // exactly as the original (the same operations on the same numbers: equal
  // bits) and, like the original, never allocate after its construction;
  // nor may restoring by assignment.
  Twamm original(twamm_params(0.003, 10, 16));
  place(original, alice, eth, 40.0, 500, 0);
  place(original, bob, usdc, 100'000.0, 900, 3);
  original.execute_virtual_orders(250);
  const TwammSnapshot at_copy = snapshot(original);
  Twamm copy = original;
  const Twamm saved = original;
  require_same(snapshot(copy), at_copy);

  long before = global_allocations.load();
  for (Twamm* twamm : {&original, &copy}) {
    for (std::uint32_t i = 0; i < 14; ++i) {  // fills the remaining capacity
      const BlockNumber block = 251 + 13 * static_cast<BlockNumber>(i);
      twamm->execute_virtual_orders(block);
      twamm->place_order(alice, i % 2 == 0 ? eth : usdc, 1.0 + i, 100 + 29 * i, block);
    }
    twamm->cancel_order(alice, 5);
    twamm->execute_virtual_orders(5'000);
    twamm->withdraw_proceeds(alice, 0);
  }
  long after = global_allocations.load();
  CHECK(after == before);
  CHECK(copy.order_count() == 16);
  require_same(snapshot(copy), snapshot(original));

  before = global_allocations.load();
  original = saved;  // restore
  after = global_allocations.load();
  CHECK(after == before);
  require_same(snapshot(original), at_copy);
}
