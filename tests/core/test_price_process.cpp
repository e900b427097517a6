// Reference price processes (framework/core/price_process.hpp): GBM, Merton
// jump diffusion and replay, driven with hand-picked shocks against their
// closed forms, and with core::RandomStream shocks against the moments of the
// known distributions.
//
// Conventions (price_process.hpp): dt in years = seconds / 31,536,000 (a year
// of 365 days); the state holds natural log prices.
//
// Monte Carlo checks use fixed seeds, so they are deterministic; each compares
// a sample statistic with its exact expectation within 3 standard errors, the
// standard error being derived from the known distribution (stated at each
// check). A correct implementation fails one such check with probability
// ~0.3%; the seeds are fixed, so a pass is reproducible, and every check has
// been sized so that the plausible bugs (a missing -sigma^2/2, a missing jump
// compensator, a wrong Cholesky factor) move the statistic by many standard
// errors.
#include <catch2/catch.hpp>

#include <Eigen/Dense>
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "framework/core/price_process.hpp"
#include "framework/core/rng.hpp"

namespace {

using defisim::core::correlation_cholesky;
using defisim::core::GbmParams;
using defisim::core::GbmStepper;
using defisim::core::JumpDiffusionParams;
using defisim::core::JumpDiffusionStepper;
using defisim::core::PriceState;
using defisim::core::PriceStepper;
using defisim::core::RandomStream;
using defisim::core::ReplayParams;
using defisim::core::ReplayStepper;

// Written out rather than taken from units.hpp: 365 days of 86,400 s.
constexpr double year_seconds = 365.0 * 86400.0;  // 31,536,000

GbmParams gbm_params(std::vector<double> drift, std::vector<double> volatility, Eigen::MatrixXd correlation) {
  GbmParams params;
  params.drift = Eigen::Map<Eigen::VectorXd>(drift.data(), static_cast<Eigen::Index>(drift.size()));
  params.volatility = Eigen::Map<Eigen::VectorXd>(volatility.data(), static_cast<Eigen::Index>(volatility.size()));
  params.correlation = std::move(correlation);
  return params;
}

PriceState state_at(std::vector<double> prices) {
  PriceState state;
  state.log_price.resize(static_cast<Eigen::Index>(prices.size()));
  for (std::size_t i = 0; i < prices.size(); ++i) state.log_price(static_cast<Eigen::Index>(i)) = std::log(prices[i]);
  return state;
}

Eigen::MatrixXd matrix3(std::initializer_list<double> values) {
  Eigen::MatrixXd m(3, 3);
  auto it = values.begin();
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) m(i, j) = *it++;
  return m;
}

// Sample mean and unbiased sample variance.
struct Moments {
  double mean = 0;
  double variance = 0;
};
Moments moments(const std::vector<double>& values) {
  long double sum = 0;
  for (double v : values) sum += v;
  const long double mean = sum / static_cast<long double>(values.size());
  long double squares = 0;
  for (double v : values) squares += (v - mean) * (v - mean);
  return {static_cast<double>(mean), static_cast<double>(squares / static_cast<long double>(values.size() - 1))};
}

double sample_correlation(const std::vector<double>& a, const std::vector<double>& b) {
  const Moments ma = moments(a), mb = moments(b);
  long double cross = 0;
  for (std::size_t k = 0; k < a.size(); ++k) cross += (a[k] - ma.mean) * (b[k] - mb.mean);
  cross /= static_cast<long double>(a.size() - 1);
  return static_cast<double>(cross / std::sqrt(static_cast<long double>(ma.variance) * mb.variance));
}

}  // namespace

// ---------------------------------------------------------------------------
// GBM with hand-picked shocks
// ---------------------------------------------------------------------------

TEST_CASE("gbm: one step with a hand-picked shock matches the closed form", "[price][gbm]") {
  // A whole year in one step makes the closed form easy to do by hand:
  // mu = 0.1, sigma = 0.2, z = 0.5, dt = 1:
  //   log S1 - log S0 = (0.1 - 0.04/2) * 1 + 0.2 * 1 * 0.5 = 0.08 + 0.1 = 0.18.
  const GbmStepper stepper(gbm_params({0.1}, {0.2}, Eigen::MatrixXd::Identity(1, 1)), year_seconds);
  PriceState state = state_at({100.0});
  const double z = 0.5;
  stepper.evolve(state, std::span<const double>(&z, 1));
  // Tolerance: a handful of roundings on numbers of size <= log(100) ~ 4.6,
  // i.e. a few ulp of 4.6 (8.9e-16 each): 1e-14 absolute.
  CHECK(state.log_price(0) == Approx(std::log(100.0) + 0.18).margin(1e-14));
  CHECK(state.step == 1);
}

TEST_CASE("gbm: 12-second steps with hand-picked shocks follow the closed form", "[price][gbm]") {
  // log S_k = log S_{k-1} + (mu - sigma^2/2) dt + sigma sqrt(dt) z_k, dt = 12 / 31,536,000 years.
  const double mu = 0.05, sigma = 0.8, dt_seconds = 12.0;
  const GbmStepper stepper(gbm_params({mu}, {sigma}, Eigen::MatrixXd::Identity(1, 1)), dt_seconds);
  const std::vector<double> shocks = {1.3, -0.7, 0.0, 2.5, -3.1, 0.25};
  PriceState state = state_at({2000.0});
  // The closed form in long double (64-bit significand), independently of the stepper.
  const long double dt = 12.0L / 31536000.0L;
  long double expected = std::log(2000.0L);
  for (double z : shocks) {
    stepper.evolve(state, std::span<const double>(&z, 1));
    expected += (mu - 0.5L * sigma * sigma) * dt + sigma * std::sqrt(dt) * z;
    // Tolerance: each step adds a few roundings of numbers of size log(2000)
    // ~ 7.6 (ulp 8.9e-16); over 6 steps < 1e-14 absolute. A step of drift alone
    // is (0.05 - 0.32) * 3.8e-7 ~ 1e-7, so a wrong drift would show.
    CHECK(static_cast<long double>(state.log_price(0)) == Approx(static_cast<double>(expected)).margin(1e-14));
  }
  CHECK(state.step == shocks.size());

  // The generic evolve(params, state, dt, normals) gives the same step.
  PriceState generic = state_at({2000.0});
  const GbmParams params = gbm_params({mu}, {sigma}, Eigen::MatrixXd::Identity(1, 1));
  const double z = 1.3;
  defisim::core::evolve(params, generic, dt_seconds, std::span<const double>(&z, 1));
  const long double first = std::log(2000.0L) + (mu - 0.5L * sigma * sigma) * dt + sigma * std::sqrt(dt) * 1.3L;
  CHECK(generic.log_price(0) == Approx(static_cast<double>(first)).margin(1e-14));
}

TEST_CASE("gbm: correlated 2-asset step uses L z with L the hand Cholesky factor", "[price][gbm]") {
  // rho = 0.6: [[1, .6], [.6, 1]] = L L^T with L = [[1, 0], [0.6, 0.8]] (0.36 + 0.64 = 1).
  // z = (1, 2): L z = (1, 0.6 + 1.6) = (1, 2.2).
  // dt = 1 year, mu = 0, sigma = (0.1, 0.2):
  //   asset 0: -0.01/2 + 0.1 * 1   = 0.095
  //   asset 1: -0.04/2 + 0.2 * 2.2 = 0.42
  Eigen::MatrixXd correlation(2, 2);
  correlation << 1.0, 0.6, 0.6, 1.0;
  const GbmStepper stepper(gbm_params({0.0, 0.0}, {0.1, 0.2}, correlation), year_seconds);
  PriceState state = state_at({1.0, 1.0});
  const double z[2] = {1.0, 2.0};
  stepper.evolve(state, z);
  // Tolerance: decimal 0.6, 0.8 etc. are not binary; a few ulp of O(1): 1e-15.
  CHECK(state.log_price(0) == Approx(0.095).margin(1e-15));
  CHECK(state.log_price(1) == Approx(0.42).margin(1e-15));

  const Eigen::MatrixXd lower = correlation_cholesky(correlation);
  CHECK(lower(0, 0) == Approx(1.0).margin(1e-15));
  CHECK(lower(0, 1) == 0.0);
  CHECK(lower(1, 0) == Approx(0.6).margin(1e-15));
  CHECK(lower(1, 1) == Approx(0.8).margin(1e-15));
}

TEST_CASE("gbm: correlated 3-asset step uses the hand Cholesky factor", "[price][gbm]") {
  // Built from unit rows so the factor is exact in decimals:
  //   L = [[1, 0, 0], [0.6, 0.8, 0], [0.48, 0.64, 0.6]]  (0.2304 + 0.4096 + 0.36 = 1)
  //   C = L L^T = [[1, 0.6, 0.48], [0.6, 1, 0.8], [0.48, 0.8, 1]]
  //   (C32 = 0.6 * 0.48 + 0.8 * 0.64 = 0.288 + 0.512 = 0.8).
  // z = (1, -1, 2): L z = (1, 0.6 - 0.8, 0.48 - 0.64 + 1.2) = (1, -0.2, 1.04).
  // dt = 1 year, mu = (0.1, 0, -0.1), sigma = (0.1, 0.5, 1):
  //   asset 0: 0.1 - 0.005 + 0.1 * 1      =  0.195
  //   asset 1: 0   - 0.125 + 0.5 * -0.2   = -0.225
  //   asset 2: -0.1 - 0.5  + 1 * 1.04     =  0.44
  const Eigen::MatrixXd correlation = matrix3({1.0, 0.6, 0.48, 0.6, 1.0, 0.8, 0.48, 0.8, 1.0});
  const Eigen::MatrixXd lower = correlation_cholesky(correlation);
  const Eigen::MatrixXd expected_lower = matrix3({1.0, 0.0, 0.0, 0.6, 0.8, 0.0, 0.48, 0.64, 0.6});
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) CHECK(lower(i, j) == Approx(expected_lower(i, j)).margin(1e-14));

  const GbmStepper stepper(gbm_params({0.1, 0.0, -0.1}, {0.1, 0.5, 1.0}, correlation), year_seconds);
  PriceState state = state_at({1.0, 10.0, 1000.0});
  const double z[3] = {1.0, -1.0, 2.0};
  stepper.evolve(state, z);
  // Tolerance: a few ulp of numbers up to log(1000) ~ 6.9: 1e-14.
  CHECK(state.log_price(0) == Approx(0.195).margin(1e-14));
  CHECK(state.log_price(1) == Approx(std::log(10.0) - 0.225).margin(1e-14));
  CHECK(state.log_price(2) == Approx(std::log(1000.0) + 0.44).margin(1e-14));
}

TEST_CASE("correlation_cholesky rejects invalid correlation matrices", "[price][gbm]") {
  Eigen::MatrixXd non_symmetric(2, 2);
  non_symmetric << 1.0, 0.5, 0.4, 1.0;
  CHECK_THROWS_AS(correlation_cholesky(non_symmetric), std::invalid_argument);

  Eigen::MatrixXd diagonal_high(2, 2);
  diagonal_high << 1.1, 0.0, 0.0, 1.0;
  CHECK_THROWS_AS(correlation_cholesky(diagonal_high), std::invalid_argument);
  Eigen::MatrixXd diagonal_low(2, 2);
  diagonal_low << 1.0, 0.0, 0.0, 0.9;
  CHECK_THROWS_AS(correlation_cholesky(diagonal_low), std::invalid_argument);

  Eigen::MatrixXd out_of_range(2, 2);
  out_of_range << 1.0, 1.5, 1.5, 1.0;
  CHECK_THROWS_AS(correlation_cholesky(out_of_range), std::invalid_argument);
  Eigen::MatrixXd out_of_range_3 = Eigen::MatrixXd::Identity(3, 3);
  out_of_range_3(0, 2) = out_of_range_3(2, 0) = -1.2;
  CHECK_THROWS_AS(correlation_cholesky(out_of_range_3), std::invalid_argument);

  // Entries in [-1, 1], symmetric, unit diagonal, yet indefinite: the
  // determinant is 1 + 2(0.9)(0.9)(-0.9) - 3(0.81) = 1 - 1.458 - 2.43 < 0.
  const Eigen::MatrixXd indefinite = matrix3({1.0, 0.9, -0.9, 0.9, 1.0, 0.9, -0.9, 0.9, 1.0});
  CHECK_THROWS_AS(correlation_cholesky(indefinite), std::invalid_argument);

  // Singular (perfectly correlated): positive semi-definite only.
  Eigen::MatrixXd singular(2, 2);
  singular << 1.0, 1.0, 1.0, 1.0;
  CHECK_THROWS_AS(correlation_cholesky(singular), std::invalid_argument);

  Eigen::MatrixXd not_square(2, 3);
  not_square << 1, 0, 0, 0, 1, 0;
  CHECK_THROWS_AS(correlation_cholesky(not_square), std::invalid_argument);

  // The stepper refuses them too.
  CHECK_THROWS_AS(GbmStepper(gbm_params({0, 0, 0}, {0.1, 0.1, 0.1}, indefinite), 12.0), std::invalid_argument);

  // And valid matrices pass (so the checks above are not vacuous).
  Eigen::MatrixXd valid(2, 2);
  valid << 1.0, -0.99, -0.99, 1.0;
  CHECK_NOTHROW(correlation_cholesky(valid));
  CHECK_NOTHROW(correlation_cholesky(Eigen::MatrixXd::Identity(4, 4)));
}

// ---------------------------------------------------------------------------
// GBM Monte Carlo moments
// ---------------------------------------------------------------------------

TEST_CASE("gbm: Monte Carlo mean and log-return moments match the lognormal law", "[price][gbm][mc]") {
  // mu = 0.3, sigma = 0.8, 50 daily steps: T = 50/365 years.
  // log(S_T/S0) ~ N((mu - sigma^2/2) T, sigma^2 T) and E[S_T] = S0 e^{mu T}.
  const double mu = 0.3, sigma = 0.8, s0 = 2000.0;
  const int steps = 50;
  const std::size_t n = 20000;
  const double T = steps * 86400.0 / year_seconds;
  const GbmStepper stepper(gbm_params({mu}, {sigma}, Eigen::MatrixXd::Identity(1, 1)), 86400.0);
  RandomStream random(7, 0, 0);
  std::vector<double> final_price(n), log_return(n);
  std::vector<double> z(steps);
  for (std::size_t k = 0; k < n; ++k) {
    PriceState state = state_at({s0});
    random.fill_normal(z.data(), z.size());
    for (int t = 0; t < steps; ++t) stepper.evolve(state, std::span<const double>(&z[t], 1));
    final_price[k] = std::exp(state.log_price(0));
    log_return[k] = state.log_price(0) - std::log(s0);
  }
  const Moments price = moments(final_price);
  const Moments logs = moments(log_return);

  // E[S_T] = S0 e^{mu T}; Var[S_T] = S0^2 e^{2 mu T} (e^{sigma^2 T} - 1) (lognormal).
  const double expected_mean = s0 * std::exp(mu * T);
  const double price_se = std::sqrt(s0 * s0 * std::exp(2 * mu * T) * std::expm1(sigma * sigma * T) / n);
  // Power: mu T = 0.041 moves the mean by 4% ~ 20 SE; so would a missing -sigma^2/2.
  CHECK(std::fabs(price.mean - expected_mean) <= 3 * price_se);

  // Mean of log returns: (mu - sigma^2/2) T, SE = sigma sqrt(T) / sqrt(n).
  const double expected_log_mean = (mu - 0.5 * sigma * sigma) * T;
  CHECK(std::fabs(logs.mean - expected_log_mean) <= 3 * sigma * std::sqrt(T / n));

  // Variance of log returns: sigma^2 T; for normal data the sample variance has
  // SE sqrt(2/(n-1)) sigma^2 T.
  const double expected_variance = sigma * sigma * T;
  CHECK(std::fabs(logs.variance - expected_variance) <= 3 * std::sqrt(2.0 / (n - 1)) * expected_variance);
}

TEST_CASE("gbm: Monte Carlo correlations of log returns match the correlation matrix", "[price][gbm][mc]") {
  // Three assets with C = [[1, .6, .48], [.6, 1, .8], [.48, .8, 1]]; 10 steps of an hour.
  // Log returns are jointly normal with correlation C, so Fisher's z applies:
  // atanh(r) ~ N(atanh(rho), 1/(n-3)) (Fisher 1921; the variance is exact to
  // O(1/n^2) for bivariate normal samples). We check within 3/sqrt(n-3).
  const Eigen::MatrixXd correlation = matrix3({1.0, 0.6, 0.48, 0.6, 1.0, 0.8, 0.48, 0.8, 1.0});
  const std::vector<double> sigmas = {0.5, 0.9, 1.4};
  const GbmStepper stepper(gbm_params({0.0, 0.2, -0.2}, sigmas, correlation), 3600.0);
  const int steps = 10;
  const std::size_t n = 20000;
  const double T = steps * 3600.0 / year_seconds;
  RandomStream random(11, 3, 0);
  std::vector<std::vector<double>> returns(3, std::vector<double>(n));
  std::vector<double> z(3 * steps);
  for (std::size_t k = 0; k < n; ++k) {
    PriceState state = state_at({1.0, 1.0, 1.0});
    random.fill_normal(z.data(), z.size());
    for (int t = 0; t < steps; ++t) stepper.evolve(state, std::span<const double>(&z[3 * t], 3));
    for (int i = 0; i < 3; ++i) returns[i][k] = state.log_price(i);
  }
  const double fisher_se = 1.0 / std::sqrt(static_cast<double>(n) - 3.0);
  for (int i = 0; i < 3; ++i) {
    for (int j = i + 1; j < 3; ++j) {
      const double r = sample_correlation(returns[i], returns[j]);
      INFO("assets " << i << ", " << j << ": r = " << r << ", rho = " << correlation(i, j));
      CHECK(std::fabs(std::atanh(r) - std::atanh(correlation(i, j))) <= 3 * fisher_se);
    }
    // Each marginal variance: sigma_i^2 T within 3 SE (SE sqrt(2/(n-1)) sigma^2 T).
    const double expected_variance = sigmas[i] * sigmas[i] * T;
    CHECK(std::fabs(moments(returns[i]).variance - expected_variance) <=
          3 * std::sqrt(2.0 / (n - 1)) * expected_variance);
  }
}

// ---------------------------------------------------------------------------
// Jump diffusion
// ---------------------------------------------------------------------------

namespace {

JumpDiffusionParams jump_params(const GbmParams& diffusion, std::vector<double> intensity, std::vector<double> mean,
                                std::vector<double> stdev) {
  JumpDiffusionParams params;
  params.diffusion = diffusion;
  const auto n = static_cast<Eigen::Index>(intensity.size());
  params.jump_intensity_per_year = Eigen::Map<Eigen::VectorXd>(intensity.data(), n);
  params.jump_mean = Eigen::Map<Eigen::VectorXd>(mean.data(), n);
  params.jump_stdev = Eigen::Map<Eigen::VectorXd>(stdev.data(), n);
  return params;
}

}  // namespace

TEST_CASE("jump diffusion: shock counts", "[price][jump]") {
  const GbmParams diffusion = gbm_params({0, 0}, {0.1, 0.2}, Eigen::MatrixXd::Identity(2, 2));
  const PriceStepper jump = JumpDiffusionStepper(jump_params(diffusion, {1, 2}, {0, 0}, {0.1, 0.1}), 12.0);
  // Per asset: one diffusion normal, one jump normal, one count uniform.
  CHECK(defisim::core::shock_counts(jump).normals == 4);
  CHECK(defisim::core::shock_counts(jump).uniforms == 2);
  const PriceStepper gbm = GbmStepper(diffusion, 12.0);
  CHECK(defisim::core::shock_counts(gbm).normals == 2);
  CHECK(defisim::core::shock_counts(gbm).uniforms == 0);
}

TEST_CASE("jump diffusion: zero intensity equals GBM bit for bit with the same normals", "[price][jump]") {
  Eigen::MatrixXd correlation(2, 2);
  correlation << 1.0, 0.3, 0.3, 1.0;
  const GbmParams diffusion = gbm_params({0.1, -0.2}, {0.7, 0.4}, correlation);
  const GbmStepper gbm(diffusion, 12.0);
  // Nonzero jump mean and stdev: with lambda = 0 the compensator lambda*k is 0
  // and no jump can occur, whatever the uniforms.
  const JumpDiffusionStepper jump(jump_params(diffusion, {0.0, 0.0}, {0.2, -0.3}, {0.5, 0.5}), 12.0);
  PriceState a = state_at({2000.0, 30.0});
  PriceState b = a;
  RandomStream random(3, 1, 0);
  for (int t = 0; t < 1000; ++t) {
    double normals[4];
    double uniforms[2];
    random.fill_normal(normals, 4);
    random.fill_uniform(uniforms, 2);
    gbm.evolve(a, std::span<const double>(normals, 2));
    jump.evolve(b, normals, uniforms);
  }
  CHECK(a.log_price(0) == b.log_price(0));
  CHECK(a.log_price(1) == b.log_price(1));
  CHECK(a.step == b.step);
}

TEST_CASE("jump diffusion: hand-driven steps with exactly 0 or 1 or 2 jumps", "[price][jump]") {
  // lambda = 365 per year and dt = 1 day: lambda dt = 1 jump per step.
  // Poisson(1) CDF: P(N<=0) = e^-1 = 0.3679, P(N<=1) = 2e^-1 = 0.7358,
  // P(N<=2) = 2.5e^-1 = 0.9197. Inversion gives N = the least k with
  // u <= P(N<=k), so u = 0.2 -> 0, u = 0.55 -> 1, u = 0.83 -> 2 (each far
  // from the CDF steps).
  const double mu = 0.05, sigma = 0.6, m = -0.04, s = 0.15, lambda = 365.0;
  const GbmParams diffusion = gbm_params({mu, mu}, {sigma, sigma}, Eigen::MatrixXd::Identity(2, 2));
  const JumpDiffusionStepper stepper(jump_params(diffusion, {lambda, lambda}, {m, m}, {s, s}), 86400.0);
  const long double dt = 1.0L / 365.0L;
  // Compensated drift per step: (mu - sigma^2/2 - lambda (e^{m + s^2/2} - 1)) dt.
  const long double k = std::exp(static_cast<long double>(m) + 0.5L * s * s) - 1.0L;
  const long double drift_step = (mu - 0.5L * sigma * sigma - lambda * k) * dt;
  const long double vol_step = sigma * std::sqrt(dt);

  struct Case {
    double u0, u1;
    int n0, n1;
  };
  for (const Case c : {Case{0.55, 0.83, 1, 2}, Case{0.83, 0.2, 2, 0}, Case{0.2, 0.55, 0, 1}}) {
    // normals: [diffusion 0, diffusion 1, jump 0, jump 1]
    const double normals[4] = {0.3, -1.1, 1.7, -0.6};
    const double uniforms[2] = {c.u0, c.u1};
    PriceState state = state_at({2000.0, 1.0});
    stepper.evolve(state, normals, uniforms);
    // Given N jumps, the log jump is N m + sqrt(N) s z_jump.
    const long double expected0 =
        std::log(2000.0L) + drift_step + vol_step * normals[0] + c.n0 * m + std::sqrt(static_cast<long double>(c.n0)) * s * normals[2];
    const long double expected1 =
        drift_step + vol_step * normals[1] + c.n1 * m + std::sqrt(static_cast<long double>(c.n1)) * s * normals[3];
    INFO("u = (" << c.u0 << ", " << c.u1 << "), jumps = (" << c.n0 << ", " << c.n1 << ")");
    // Tolerance: a few ulp of log(2000) ~ 7.6: 1e-14 absolute. One jump
    // more or less moves the log price by |m| or more (>= 0.04).
    CHECK(state.log_price(0) == Approx(static_cast<double>(expected0)).margin(1e-14));
    CHECK(state.log_price(1) == Approx(static_cast<double>(expected1)).margin(1e-14));
  }
}

TEST_CASE("jump diffusion: Monte Carlo mean of S_T is S0 e^(mu T) thanks to the compensator", "[price][jump][mc]") {
  // mu = 0.1, sigma = 0.3, lambda = 20/year, m = -0.05, s = 0.1; 50 daily steps.
  // With X = log(S_T/S0) = (mu - sigma^2/2 - lambda k) T + sigma W_T + sum_{i<=N_T} Y_i,
  // Y ~ N(m, s^2), N_T ~ Poisson(lambda T), k = E[e^Y] - 1 = e^{m + s^2/2} - 1:
  //   E[e^X]  = e^{mu T}                        (the compensator cancels lambda T k)
  //   E[e^2X] = e^{2 mu T + sigma^2 T + lambda T (e^{2m + 2s^2} - 2 e^{m + s^2/2} + 1)}
  // (moment generating function of a compound Poisson sum: E[e^{aY}] - 1 per
  // unit intensity). The per-step scheme sums independent Poisson(lambda dt)
  // counts, i.e. exactly Poisson(lambda T), so both hold exactly.
  const double mu = 0.1, sigma = 0.3, lambda = 20.0, m = -0.05, s = 0.1, s0 = 100.0;
  const int steps = 50;
  const std::size_t n = 20000;
  const double T = steps / 365.0;
  const JumpDiffusionStepper stepper(
      jump_params(gbm_params({mu}, {sigma}, Eigen::MatrixXd::Identity(1, 1)), {lambda}, {m}, {s}), 86400.0);
  RandomStream random(5, 0, 0);
  std::vector<double> final_price(n);
  std::vector<double> normals(2 * steps), uniforms(steps);
  for (std::size_t path = 0; path < n; ++path) {
    PriceState state = state_at({s0});
    random.fill_normal(normals.data(), normals.size());
    random.fill_uniform(uniforms.data(), uniforms.size());
    for (int t = 0; t < steps; ++t) {
      stepper.evolve(state, std::span<const double>(&normals[2 * t], 2), std::span<const double>(&uniforms[t], 1));
    }
    final_price[path] = std::exp(state.log_price(0));
  }
  const double mean = moments(final_price).mean;
  const double expected = s0 * std::exp(mu * T);
  const double jump_term = std::exp(2 * m + 2 * s * s) - 2 * std::exp(m + 0.5 * s * s) + 1;
  const double variance = s0 * s0 * std::exp(2 * mu * T) * std::expm1(sigma * sigma * T + lambda * T * jump_term);
  const double se = std::sqrt(variance / n);
  // Power: without the compensator the mean moves by a factor e^{lambda k T}
  // ~ e^{-0.12}, about 80 SE.
  INFO("mean " << mean << ", expected " << expected << ", SE " << se);
  CHECK(std::fabs(mean - expected) <= 3 * se);
}

// ---------------------------------------------------------------------------
// Replay
// ---------------------------------------------------------------------------

namespace {

// Two assets, 21 rows of prices with log returns whose sizes are all
// different (|r_t| = 0.01 (t+1) for asset 0, alternating in sign), so a
// return identifies its row.
struct ReplayData {
  std::vector<std::vector<double>> prices;  // [row][asset]
  std::shared_ptr<std::vector<Eigen::VectorXd>> returns = std::make_shared<std::vector<Eigen::VectorXd>>();
};

ReplayData make_replay_data() {
  ReplayData data;
  double p0 = 100.0, p1 = 5.0;
  data.prices.push_back({p0, p1});
  for (int t = 0; t < 20; ++t) {
    p0 *= std::exp((t % 2 == 0 ? 1 : -1) * 0.01 * (t + 1));
    p1 *= std::exp(0.003 * ((t * 7) % 5 - 2));
    data.prices.push_back({p0, p1});
  }
  for (std::size_t t = 0; t + 1 < data.prices.size(); ++t) {
    Eigen::VectorXd r(2);
    r << std::log(data.prices[t + 1][0]) - std::log(data.prices[t][0]),
        std::log(data.prices[t + 1][1]) - std::log(data.prices[t][1]);
    data.returns->push_back(r);
  }
  return data;
}

}  // namespace

TEST_CASE("replay without bootstrap reproduces the data's prices", "[price][replay]") {
  const ReplayData data = make_replay_data();
  ReplayParams params;
  params.log_returns = data.returns;
  params.bootstrap_block_length = 0;
  const ReplayStepper stepper(params);
  CHECK(stepper.shocks().uniforms == 1);
  PriceState state = state_at(data.prices[0]);
  for (std::size_t t = 1; t < data.prices.size(); ++t) {
    const double u = 0.999;  // ignored without bootstrap
    stepper.evolve(state, std::span<const double>(&u, 1));
    // Tolerance: the log price is a running sum of t <= 20 returns on numbers
    // of size <= log(100) ~ 4.6 (ulp 8.9e-16), and exp adds 1 ulp: 1e-13 relative.
    for (int i = 0; i < 2; ++i) {
      CHECK(std::exp(state.log_price(i)) == Approx(data.prices[t][i]).epsilon(1e-13));
    }
    CHECK(state.cursor == t);
  }
}

TEST_CASE("replay with a block bootstrap applies contiguous runs of the data", "[price][replay]") {
  const ReplayData data = make_replay_data();
  const std::size_t R = data.returns->size();  // 20 returns
  const std::uint64_t L = 4;
  ReplayParams params;
  params.log_returns = data.returns;
  params.bootstrap_block_length = L;
  const ReplayStepper stepper(params);

  // Which data row does an observed increment come from? Asset 0's returns
  // are at least 0.01 apart, so a 1e-9 match identifies the row uniquely
  // (the increment differs from the return by rounding only, ~1e-15).
  auto row_of = [&](double increment0, double increment1) -> long {
    long found = -1;
    for (std::size_t t = 0; t < R; ++t) {
      if (std::fabs(increment0 - (*data.returns)[t](0)) < 1e-9 && std::fabs(increment1 - (*data.returns)[t](1)) < 1e-9) {
        if (found != -1) return -2;
        found = static_cast<long>(t);
      }
    }
    return found;
  };

  RandomStream random(9, 0, 0);
  PriceState state = state_at({50.0, 2.0});  // a bootstrap starts from price.initial, not the data
  const std::size_t blocks = 300;
  std::vector<int> start_seen(R, 0);
  for (std::size_t block = 0; block < blocks; ++block) {
    long first_row = -1;
    double block_u = 0;
    for (std::uint64_t j = 0; j < L; ++j) {
      const double u = random.uniform();
      if (j == 0) block_u = u;
      const Eigen::VectorXd before = state.log_price;
      stepper.evolve(state, std::span<const double>(&u, 1));
      const long row = row_of(state.log_price(0) - before(0), state.log_price(1) - before(1));
      INFO("block " << block << ", step " << j << ": row " << row);
      REQUIRE(row >= 0);
      if (j == 0) {
        first_row = row;
        // A uniformly random start among the R - L + 1 starts that leave a whole block.
        const auto expected_start = static_cast<long>(std::floor(block_u * static_cast<double>(R - L + 1)));
        CHECK(row == expected_start);
        REQUIRE(static_cast<std::size_t>(row) + L <= R);
        ++start_seen[static_cast<std::size_t>(row)];
      } else {
        CHECK(row == first_row + static_cast<long>(j));  // contiguous
      }
    }
  }
  // Every start 0..R-L occurs (300 blocks over 17 starts: each is missed with
  // probability (16/17)^300 ~ 1e-8), and none beyond.
  for (std::size_t t = 0; t < R; ++t) {
    if (t + L <= R) {
      CHECK(start_seen[t] > 0);
    } else {
      CHECK(start_seen[t] == 0);
    }
  }

  // The largest uniform below 1 starts the last whole block, never beyond.
  PriceState edge = state_at({1.0, 1.0});
  const double u = std::nextafter(1.0, 0.0);
  stepper.evolve(edge, std::span<const double>(&u, 1));
  CHECK(row_of(edge.log_price(0), edge.log_price(1)) == static_cast<long>(R - L));
}
