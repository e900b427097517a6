// Oracles (framework/core/oracle.hpp): reference, push (deviation and
// heartbeat, exactly at their boundaries), delayed, median of noisy sources and
// Uniswap v2 pool TWAP, driven with hand-picked inputs and checked against
// hand-computed or brute-force values.
//
// Timing convention (oracle.hpp): initial_oracle_state() is block 0 and
// publishes the initial price; update() runs once per block from block 1.
//
// Monte Carlo checks use fixed seeds (deterministic) and compare a sample mean
// with its exact expectation within 3 standard errors, the standard error
// derived from the known distribution (stated at each check).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <stdexcept>
#include <vector>

#include "framework/core/oracle.hpp"
#include "framework/core/rng.hpp"

namespace {

using defisim::core::DelayedOracleParams;
using defisim::core::initial_oracle_state;
using defisim::core::MedianOracleParams;
using defisim::core::normals_per_block;
using defisim::core::Oracle;
using defisim::core::OracleInputs;
using defisim::core::OracleParams;
using defisim::core::OracleState;
using defisim::core::PoolTwapOracleParams;
using defisim::core::PushOracleParams;
using defisim::core::RandomStream;
using defisim::core::ReferenceOracleParams;

constexpr double block_seconds = 12.0;

OracleInputs at_block(std::uint64_t block, double reference_price, double pool_price = 0.0,
                      std::span<const double> normals = {}) {
  OracleInputs inputs;
  inputs.block = block;
  inputs.time_seconds = block_seconds * static_cast<double>(block);
  inputs.reference_price = reference_price;
  inputs.pool_price = pool_price;
  inputs.normals = normals;
  return inputs;
}

// The median of the K source prices, computed the obvious way (std::exp, every
// source, a full sort).
double brute_force_median(double reference, double noise, std::vector<double> normals) {
  std::vector<double> prices;
  for (const double z : normals) prices.push_back(reference * std::exp(noise * z - 0.5 * noise * noise));
  std::sort(prices.begin(), prices.end());
  const std::size_t k = prices.size();
  return k % 2 == 1 ? prices[k / 2] : 0.5 * (prices[k / 2 - 1] + prices[k / 2]);
}

// E[g(Z_(m))] for the m-th order statistic (1-based) of K standard normals,
// by Simpson's rule on [-10, 10] of g(z) K!/((m-1)!(K-m)!) Phi^(m-1) (1-Phi)^(K-m) phi.
template <class G>
double order_statistic_expectation(int k, int m, G g) {
  double coefficient = 1.0;  // K! / ((m-1)! (K-m)!)
  for (int i = 1; i <= k; ++i) coefficient *= i;
  for (int i = 1; i <= m - 1; ++i) coefficient /= i;
  for (int i = 1; i <= k - m; ++i) coefficient /= i;
  const auto integrand = [&](double z) {
    const double cdf = 0.5 * std::erfc(-z / std::numbers::sqrt2);
    const double pdf = std::exp(-0.5 * z * z) / std::sqrt(2.0 * std::numbers::pi);
    return g(z) * coefficient * std::pow(cdf, m - 1) * std::pow(1.0 - cdf, k - m) * pdf;
  };
  const int intervals = 20000;  // even
  const double a = -10.0, h = 20.0 / intervals;
  double sum = integrand(a) + integrand(a + intervals * h);
  for (int i = 1; i < intervals; ++i) sum += (i % 2 == 1 ? 4.0 : 2.0) * integrand(a + i * h);
  return sum * h / 3.0;
}

}  // namespace

// ---------------------------------------------------------------------------
// Construction
// ---------------------------------------------------------------------------

TEST_CASE("oracle: block 0 publishes the initial price for every kind", "[oracle]") {
  const std::vector<OracleParams> kinds = {ReferenceOracleParams{}, PushOracleParams{}, DelayedOracleParams{3},
                                           MedianOracleParams{5, 0.01, 2}, PoolTwapOracleParams{10}};
  for (const OracleParams& params : kinds) {
    const OracleState state = initial_oracle_state(params, 1234.5, 60.0);
    CHECK(state.published_price == 1234.5);
    CHECK(state.last_publication_seconds == 60.0);
  }
}

TEST_CASE("oracle: normals per block are the median's sources and zero otherwise", "[oracle]") {
  CHECK(normals_per_block(MedianOracleParams{7, 0.01, 0}) == 7);
  CHECK(normals_per_block(ReferenceOracleParams{}) == 0);
  CHECK(normals_per_block(PushOracleParams{}) == 0);
  CHECK(normals_per_block(DelayedOracleParams{4}) == 0);
  CHECK(normals_per_block(PoolTwapOracleParams{4}) == 0);
}

TEST_CASE("oracle: invalid parameters and initial prices are rejected at initialisation", "[oracle]") {
  CHECK_THROWS_AS(initial_oracle_state(PushOracleParams{-0.01, 3600.0}, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(initial_oracle_state(PushOracleParams{0.01, 0.0}, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(initial_oracle_state(PushOracleParams{0.01, std::nan("")}, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(initial_oracle_state(MedianOracleParams{0, 0.01, 0}, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(initial_oracle_state(MedianOracleParams{3, -0.01, 0}, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(initial_oracle_state(PoolTwapOracleParams{0}, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(initial_oracle_state(ReferenceOracleParams{}, 0.0), std::invalid_argument);
  CHECK_THROWS_AS(initial_oracle_state(ReferenceOracleParams{}, -1.0), std::invalid_argument);
  CHECK_THROWS_AS(initial_oracle_state(ReferenceOracleParams{}, INFINITY), std::invalid_argument);
  // An infinite heartbeat means "deviation only" and is valid.
  CHECK_NOTHROW(initial_oracle_state(PushOracleParams{0.01, INFINITY}, 1.0));
}

// ---------------------------------------------------------------------------
// Reference and push
// ---------------------------------------------------------------------------

TEST_CASE("oracle reference: publishes the reference price every block", "[oracle]") {
  Oracle oracle(ReferenceOracleParams{}, 100.0);
  for (std::uint64_t b = 1; b <= 5; ++b) {
    const double reference = 100.0 + 7.25 * static_cast<double>(b);
    CHECK(oracle.update(at_block(b, reference)) == reference);
    CHECK(oracle.state().last_publication_seconds == block_seconds * static_cast<double>(b));
  }
}

TEST_CASE("oracle push: the first block publishes even without a deviation", "[oracle]") {
  const PushOracleParams params{0.01, 3600.0};
  OracleState state = initial_oracle_state(params, 100.0);
  CHECK(update(params, state, at_block(1, 100.2)) == 100.2);
  CHECK(state.last_publication_seconds == 12.0);
  CHECK(update(params, state, at_block(2, 100.0)) == 100.2);  // 0.2% < 1%: kept
}

TEST_CASE("oracle push: publishes only on a deviation strictly above the threshold", "[oracle]") {
  // deviation 2^-7 on a last published price of 128: the threshold is exactly 1.
  const PushOracleParams params{0.0078125, 3600.0};
  OracleState state = initial_oracle_state(params, 128.0);
  CHECK(update(params, state, at_block(1, 128.0)) == 128.0);  // the first block publishes
  // Exactly 1 away, up or down: no publication.
  CHECK(update(params, state, at_block(2, 129.0)) == 128.0);
  CHECK(update(params, state, at_block(3, 127.0)) == 128.0);
  CHECK(state.last_publication_seconds == 12.0);
  // The next double beyond the boundary publishes, down and up.
  const double below = std::nextafter(127.0, 0.0);
  CHECK(update(params, state, at_block(4, below)) == below);
  CHECK(state.last_publication_seconds == 48.0);
  CHECK(update(params, state, at_block(5, 128.0)) == 128.0);  // 1 + 1.4e-14 > below / 128
  const double above = std::nextafter(129.0, 200.0);
  CHECK(update(params, state, at_block(6, above)) == above);
  CHECK(state.last_publication_seconds == 72.0);
}

TEST_CASE("oracle push: 0.5% threshold on 100 publishes at 100.5 plus a hair, not at 100.5", "[oracle]") {
  const PushOracleParams params{0.005, 3600.0};
  OracleState state = initial_oracle_state(params, 100.0);
  CHECK(update(params, state, at_block(1, 100.0)) == 100.0);
  CHECK(update(params, state, at_block(2, 100.5)) == 100.0);
  CHECK(update(params, state, at_block(3, 99.5)) == 100.0);
  CHECK(update(params, state, at_block(4, 100.5000001)) == 100.5000001);
}

TEST_CASE("oracle push: the heartbeat publishes exactly heartbeat_seconds after the last publication", "[oracle]") {
  // 12 s blocks, heartbeat 3600 s = 300 blocks. The reference creeps by 0.001
  // a block, far below the 1% threshold, so only the heartbeat publishes.
  const PushOracleParams params{0.01, 3600.0};
  OracleState state = initial_oracle_state(params, 100.0);
  const auto reference = [](std::uint64_t b) { return 100.0 + 0.001 * static_cast<double>(b); };
  CHECK(update(params, state, at_block(1, reference(1))) == reference(1));  // first block, t = 12
  for (std::uint64_t b = 2; b <= 300; ++b) {  // t - 12 = 3588 at block 300: not yet
    REQUIRE(update(params, state, at_block(b, reference(b))) == reference(1));
  }
  CHECK(update(params, state, at_block(301, reference(301))) == reference(301));  // t - 12 = 3600
  CHECK(state.last_publication_seconds == 3612.0);
  for (std::uint64_t b = 302; b <= 600; ++b) {
    REQUIRE(update(params, state, at_block(b, reference(b))) == reference(301));
  }
  CHECK(update(params, state, at_block(601, reference(601))) == reference(601));
}

TEST_CASE("oracle push: a deviation publication restarts the heartbeat", "[oracle]") {
  const PushOracleParams params{0.01, 120.0};  // 10 blocks
  OracleState state = initial_oracle_state(params, 100.0);
  CHECK(update(params, state, at_block(1, 100.0)) == 100.0);  // t = 12
  CHECK(update(params, state, at_block(5, 110.0)) == 110.0);  // deviation, t = 60
  CHECK(update(params, state, at_block(14, 110.5)) == 110.0); // t - 60 = 108 < 120
  CHECK(update(params, state, at_block(15, 110.5)) == 110.5); // t - 60 = 120
}

// ---------------------------------------------------------------------------
// Delayed
// ---------------------------------------------------------------------------

TEST_CASE("oracle delayed: publishes the reference of exactly delay_blocks ago", "[oracle]") {
  const auto reference = [](std::uint64_t b) { return 100.0 + 3.0 * static_cast<double>(b); };  // reference(0) = initial
  for (const std::uint64_t delay : {0ULL, 1ULL, 3ULL, 25ULL}) {
    const DelayedOracleParams params{delay};
    OracleState state = initial_oracle_state(params, reference(0));
    for (std::uint64_t b = 1; b <= 100; ++b) {
      const double expected = b >= delay ? reference(b - delay) : reference(0);
      INFO("delay " << delay << ", block " << b);
      REQUIRE(update(params, state, at_block(b, reference(b))) == expected);
    }
  }
}

// ---------------------------------------------------------------------------
// Median
// ---------------------------------------------------------------------------

TEST_CASE("oracle median: hand-picked shocks give the hand-computed median", "[oracle]") {
  const double noise = 0.1, reference = 100.0;
  const double half_variance = 0.005;  // noise^2 / 2
  SECTION("K = 3: the middle shock 0.5") {
    const std::vector<double> z = {1.0, -2.0, 0.5};
    OracleState state = initial_oracle_state(MedianOracleParams{3, noise, 0}, 50.0);
    const double published = update(MedianOracleParams{3, noise, 0}, state, at_block(1, reference, 0.0, z));
    CHECK(published == Approx(100.0 * std::exp(0.05 - half_variance)).epsilon(1e-15));
    CHECK(published == Approx(brute_force_median(reference, noise, z)).epsilon(1e-15));
  }
  SECTION("K = 4: the mean of the two middle sources (shocks 0 and 0.3)") {
    const std::vector<double> z = {0.3, -1.0, 2.0, 0.0};
    OracleState state = initial_oracle_state(MedianOracleParams{4, noise, 0}, 50.0);
    const double published = update(MedianOracleParams{4, noise, 0}, state, at_block(1, reference, 0.0, z));
    const double expected = 0.5 * (100.0 * std::exp(-half_variance) + 100.0 * std::exp(0.03 - half_variance));
    CHECK(published == Approx(expected).epsilon(1e-15));
    CHECK(published == Approx(brute_force_median(reference, noise, z)).epsilon(1e-15));
  }
  SECTION("K = 1: the single source") {
    const std::vector<double> z = {-1.5};
    OracleState state = initial_oracle_state(MedianOracleParams{1, noise, 0}, 50.0);
    const double published = update(MedianOracleParams{1, noise, 0}, state, at_block(1, reference, 0.0, z));
    CHECK(published == Approx(100.0 * std::exp(-0.15 - half_variance)).epsilon(1e-15));
  }
  SECTION("no noise: exactly the reference whatever the shocks") {
    const std::vector<double> z = {0.7, -0.2, 3.0, -1.0, 0.1};
    OracleState state = initial_oracle_state(MedianOracleParams{5, 0.0, 0}, 50.0);
    CHECK(update(MedianOracleParams{5, 0.0, 0}, state, at_block(1, reference, 0.0, z)) == reference);
  }
}

TEST_CASE("oracle median: matches the brute-force median over many random blocks and K", "[oracle]") {
  RandomStream random(21, 0, 5);
  for (const std::size_t k : {1u, 2u, 3u, 4u, 5u, 8u, 13u}) {
    const MedianOracleParams params{k, 0.02, 0};
    OracleState state = initial_oracle_state(params, 100.0);
    std::vector<double> z(k);
    for (std::uint64_t b = 1; b <= 200; ++b) {
      random.fill_normal(z.data(), z.size());
      const double reference = 100.0 * std::exp(0.01 * random.normal());
      INFO("K " << k << ", block " << b);
      REQUIRE(update(params, state, at_block(b, reference, 0.0, z)) ==
              Approx(brute_force_median(reference, params.noise, z)).epsilon(1e-14));
    }
  }
}

TEST_CASE("oracle median: delay_blocks delays the median exactly like the delayed oracle", "[oracle]") {
  const MedianOracleParams delayed{3, 0.05, 2};
  const MedianOracleParams immediate{3, 0.05, 0};
  OracleState delayed_state = initial_oracle_state(delayed, 100.0);
  OracleState immediate_state = initial_oracle_state(immediate, 100.0);
  RandomStream random(5, 0, 9);
  std::vector<double> medians = {100.0};  // block 0
  std::vector<double> z(3);
  for (std::uint64_t b = 1; b <= 50; ++b) {
    random.fill_normal(z.data(), z.size());
    const double reference = 100.0 + static_cast<double>(b);
    medians.push_back(update(immediate, immediate_state, at_block(b, reference, 0.0, z)));
    const double expected = b >= 2 ? medians[b - 2] : 100.0;
    REQUIRE(update(delayed, delayed_state, at_block(b, reference, 0.0, z)) == expected);
  }
}

TEST_CASE("oracle median: Monte Carlo mean of noisy sources against the exact law", "[oracle][mc]") {
  // Each source is reference * exp(noise z - noise^2/2): mean exactly the
  // reference. The median of K > 1 of them is not: its log is
  // noise Z_(m) - noise^2/2 with Z_(m) the median of K normals (symmetric about
  // 0), so E[log(published / reference)] = -noise^2/2 exactly, and
  // E[published / reference] = e^{-noise^2/2} E[e^{noise Z_(m)}] < 1 (the
  // expectation computed by quadrature of the order-statistic density).
  const double noise = 0.05, reference = 2000.0;
  const std::size_t n = 200000;

  SECTION("K = 1: the mean-corrected source is unbiased") {
    const MedianOracleParams params{1, noise, 0};
    OracleState state = initial_oracle_state(params, reference);
    RandomStream random(17, 0, 3);
    double sum = 0.0;
    for (std::uint64_t b = 1; b <= n; ++b) {
      const double z = random.normal();
      sum += update(params, state, at_block(b, reference, 0.0, std::span<const double>(&z, 1))) / reference;
    }
    // Var[e^{noise z - noise^2/2}] = e^{noise^2} - 1 (lognormal).
    const double se = std::sqrt(std::expm1(noise * noise) / static_cast<double>(n));
    CHECK(std::fabs(sum / static_cast<double>(n) - 1.0) <= 3.0 * se);
  }

  SECTION("K = 5: log mean -noise^2/2 and mean by quadrature, measurably below the reference") {
    const int k = 5, m = 3;
    const MedianOracleParams params{k, noise, 0};
    OracleState state = initial_oracle_state(params, reference);
    RandomStream random(17, 1, 3);
    std::vector<double> z(k);
    double sum = 0.0, sum_log = 0.0;
    for (std::uint64_t b = 1; b <= n; ++b) {
      random.fill_normal(z.data(), z.size());
      const double ratio = update(params, state, at_block(b, reference, 0.0, z)) / reference;
      sum += ratio;
      sum_log += std::log(ratio);
    }
    const double mean = sum / static_cast<double>(n);
    const double mean_log = sum_log / static_cast<double>(n);

    const double median_variance = order_statistic_expectation(k, m, [](double x) { return x * x; });
    CHECK(median_variance == Approx(0.2868).margin(5e-4));  // tabulated variance of the median of 5 normals
    // log ratio = noise Z_(3) - noise^2/2: SE = noise sqrt(Var Z_(3) / n).
    const double log_se = noise * std::sqrt(median_variance / static_cast<double>(n));
    CHECK(std::fabs(mean_log + 0.5 * noise * noise) <= 3.0 * log_se);

    const double factor = std::exp(-0.5 * noise * noise);
    const double expected_mean =
        factor * order_statistic_expectation(k, m, [&](double x) { return std::exp(noise * x); });
    const double second_moment =
        factor * factor * order_statistic_expectation(k, m, [&](double x) { return std::exp(2.0 * noise * x); });
    const double se = std::sqrt((second_moment - expected_mean * expected_mean) / static_cast<double>(n));
    CHECK(std::fabs(mean - expected_mean) <= 3.0 * se);
    // Power: the median's bias (about -noise^2 (1 - 0.287) / 2 = -8.9e-4) is ~15 SE.
    CHECK(1.0 - expected_mean > 10.0 * se);
  }
}

// ---------------------------------------------------------------------------
// Pool TWAP
// ---------------------------------------------------------------------------

TEST_CASE("oracle pool_twap: equals the brute-force mean of the window over a long random path", "[oracle]") {
  // Pool prices: a lognormal random walk from 1500 with 2% steps, 20,000 blocks.
  // Brute force: the plain mean of the last min(b + 1, W) samples, sample 0
  // being the initial price. Tolerance 1e-12 relative: the running sum is
  // re-added every W samples, so its error stays within ~2W ulps (W <= 97).
  for (const std::uint64_t window : {1ULL, 2ULL, 7ULL, 97ULL}) {
    const PoolTwapOracleParams params{window};
    const double initial = 1500.0;
    OracleState state = initial_oracle_state(params, initial);
    RandomStream random(99, window, 4);
    std::vector<double> samples = {initial};
    double pool = initial;
    for (std::uint64_t b = 1; b <= 20000; ++b) {
      pool *= std::exp(0.02 * random.normal());
      samples.push_back(pool);
      const std::size_t count = std::min<std::size_t>(samples.size(), window);
      double sum = 0.0;
      for (std::size_t i = samples.size() - count; i < samples.size(); ++i) sum += samples[i];
      const double brute_force = sum / static_cast<double>(count);
      INFO("window " << window << ", block " << b);
      // The reference price is ignored by pool_twap.
      REQUIRE(update(params, state, at_block(b, 1.0, pool)) == Approx(brute_force).epsilon(1e-12));
    }
  }
}

TEST_CASE("oracle pool_twap: averages the samples so far before the window fills", "[oracle]") {
  const PoolTwapOracleParams params{4};
  OracleState state = initial_oracle_state(params, 100.0);
  CHECK(update(params, state, at_block(1, 1.0, 130.0)) == 115.0);            // (100 + 130) / 2
  CHECK(update(params, state, at_block(2, 1.0, 70.0)) == 100.0);             // (100 + 130 + 70) / 3
  CHECK(update(params, state, at_block(3, 1.0, 140.0)) == 110.0);            // (100 + 130 + 70 + 140) / 4
  CHECK(update(params, state, at_block(4, 1.0, 200.0)) == 135.0);            // (130 + 70 + 140 + 200) / 4
}

TEST_CASE("oracle pool_twap: fully reflects a step change exactly W blocks after the move", "[oracle]") {
  // The pool moves from 100 to 200 during block s; from block s + 1 on, the
  // start-of-block sample is 200. The TWAP reaches 200 at block s + W, not before.
  const std::uint64_t window = 30, s = 50;
  const PoolTwapOracleParams params{window};
  OracleState state = initial_oracle_state(params, 100.0);
  for (std::uint64_t b = 1; b <= s + 2 * window; ++b) {
    const double pool = b <= s ? 100.0 : 200.0;
    const double published = update(params, state, at_block(b, 100.0, pool));
    INFO("block " << b);
    if (b <= s) {
      REQUIRE(published == 100.0);
    } else if (b < s + window) {
      // (b - s) samples of 200 and W - (b - s) of 100: exact in binary.
      const double moved = static_cast<double>(b - s);
      REQUIRE(published == (moved * 200.0 + (static_cast<double>(window) - moved) * 100.0) / window);
      REQUIRE(published < 200.0);
    } else {
      REQUIRE(published == 200.0);
    }
  }
}

// ---------------------------------------------------------------------------
// The Oracle class
// ---------------------------------------------------------------------------

TEST_CASE("oracle class: same prices as the free functions", "[oracle]") {
  const OracleParams params = PushOracleParams{0.01, 60.0};
  Oracle oracle(params, 100.0);
  OracleState state = initial_oracle_state(params, 100.0);
  CHECK(oracle.price() == 100.0);
  CHECK(oracle.normals_per_block() == 0);
  for (std::uint64_t b = 1; b <= 100; ++b) {
    const double reference = 100.0 * (1.0 + 0.004 * std::sin(0.3 * static_cast<double>(b)));
    REQUIRE(oracle.update(at_block(b, reference)) == update(params, state, at_block(b, reference)));
    REQUIRE(oracle.price() == state.published_price);
  }
}
