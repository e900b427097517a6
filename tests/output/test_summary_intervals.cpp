// The 95% confidence intervals in a results file's summary (format 1.2,
// framework/output/summary.hpp): the mean's normal interval, the VaR's
// distribution-free order-statistic interval, and under importance sampling
// Woodruff's interval for the VaR.
//
// Coverage is checked by repetition: R independent samples, the fraction of
// intervals covering the true value. Its Monte Carlo standard error is
// sqrt(c (1 - c) / R) with c = 0.95, so with R = 2,000 three standard errors
// are 0.0146: a coverage below 0.95 - 0.0146 would be a real shortfall.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "framework/output/summary.hpp"

using defisim::output::quantile_ci_ranks;
using defisim::output::RiskTail;
using defisim::output::summarize;
using defisim::output::summarize_weighted;
using defisim::output::SummaryStatistics;

namespace {

constexpr int repetitions = 2000;
const double coverage_floor = 0.95 - 3.0 * std::sqrt(0.95 * 0.05 / repetitions);

// Phi^-1 of 0.05 and 0.01 (Abramowitz & Stegun, Table 26.5).
constexpr double z_05 = -1.6448536269514722;
constexpr double z_01 = -2.3263478740408408;

}  // namespace

TEST_CASE("order-statistic ranks of the median match the published table", "[output][summary][intervals]") {
  // Campbell & Gardner, "Calculating confidence intervals for some non-
  // parametric analyses", BMJ 296 (1988), Table 1 (95% interval of a median,
  // ranks of the sorted sample): n = 10 -> 2 and 9; n = 100 -> 40 and 61.
  CHECK(quantile_ci_ranks(10, 0.5) == std::pair<std::size_t, std::size_t>{2, 9});
  CHECK(quantile_ci_ranks(100, 0.5) == std::pair<std::size_t, std::size_t>{40, 61});
  // By the definition, from the binomial directly: P(Bin(100, 0.5) <= 39) =
  // 0.0176 <= 0.025 < P(<= 40) = 0.0284, so l = 40, and by symmetry u = 61.
  // Too few paths for a bound: with n = 20 and q = 0.99, P(Bin(20, 0.99) <=
  // 19) = 1 - 0.99^20 = 0.182 > 0.025, so no order statistic bounds the 0.99
  // quantile from above (u = n + 1); l is the largest rank with P(Bin <= l - 1)
  // <= 0.025: P(Bin <= 18) = 0.182 - 20 (0.01) 0.99^19 = 0.0169, so l = 19.
  CHECK(quantile_ci_ranks(20, 0.99) == std::pair<std::size_t, std::size_t>{19, 21});
  CHECK(quantile_ci_ranks(0, 0.5) == std::pair<std::size_t, std::size_t>{0, 1});
}

TEST_CASE("the mean's interval is mean -/+ 1.96 SE and covers the mean of normal samples",
          "[output][summary][intervals]") {
  std::mt19937_64 generator(7);
  std::normal_distribution<double> normal(10.0, 3.0);
  int covered = 0;
  for (int r = 0; r < repetitions; ++r) {
    std::vector<double> sample(200);
    for (double& x : sample) x = normal(generator);
    const SummaryStatistics s = summarize(sample, RiskTail::lower_is_worse);
    // The defining relation (summary.hpp): the interval is symmetric about the mean.
    REQUIRE(s.mean_ci95_low == s.mean - defisim::output::z95 * s.standard_error);
    REQUIRE(s.mean_ci95_high == s.mean + defisim::output::z95 * s.standard_error);
    covered += s.mean_ci95_low <= 10.0 && 10.0 <= s.mean_ci95_high;
  }
  CHECK(static_cast<double>(covered) / repetitions >= coverage_floor);
}

TEST_CASE("the VaR's order-statistic interval covers the true quantile on both tails", "[output][summary][intervals]") {
  // Uniform(0, 1) paths: the 5% and 1% quantiles are 0.05 and 0.01, the 95%
  // and 99% quantiles 0.95 and 0.99. The interval is distribution-free with
  // coverage >= 95% for any n, so it is checked at a small n where the normal
  // approximation would not hold.
  std::mt19937_64 generator(11);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  int covered_lower_95 = 0, covered_lower_99 = 0, covered_upper_95 = 0, covered_upper_99 = 0;
  for (int r = 0; r < repetitions; ++r) {
    std::vector<double> sample(300);
    for (double& x : sample) x = uniform(generator);
    const SummaryStatistics lower = summarize(sample, RiskTail::lower_is_worse);
    const SummaryStatistics upper = summarize(sample, RiskTail::higher_is_worse);
    covered_lower_95 += lower.var95_ci95_low <= 0.05 && 0.05 <= lower.var95_ci95_high;
    covered_lower_99 += lower.var99_ci95_low <= 0.01 && 0.01 <= lower.var99_ci95_high;
    covered_upper_95 += upper.var95_ci95_low <= 0.95 && 0.95 <= upper.var95_ci95_high;
    covered_upper_99 += upper.var99_ci95_low <= 0.99 && 0.99 <= upper.var99_ci95_high;
    REQUIRE(lower.var95_ci95_low <= lower.var95);
    REQUIRE(lower.var95 <= lower.var95_ci95_high);
  }
  CHECK(static_cast<double>(covered_lower_95) / repetitions >= coverage_floor);
  CHECK(static_cast<double>(covered_lower_99) / repetitions >= coverage_floor);
  CHECK(static_cast<double>(covered_upper_95) / repetitions >= coverage_floor);
  CHECK(static_cast<double>(covered_upper_99) / repetitions >= coverage_floor);
}

TEST_CASE("too few paths leave the far bound of a tail quantile open", "[output][summary][intervals]") {
  // 20 paths cannot bound the 1% quantile from below (quantile_ci_ranks(20,
  // 0.01) has l = 0): the interval is -inf there, not a made-up number.
  std::vector<double> sample;
  for (int i = 1; i <= 20; ++i) sample.push_back(i);
  const SummaryStatistics s = summarize(sample, RiskTail::lower_is_worse);
  CHECK(std::isinf(s.var99_ci95_low));
  CHECK(s.var99_ci95_low < 0);
  CHECK(std::isfinite(s.var99_ci95_high));
}

TEST_CASE("under importance sampling, Woodruff's interval covers the true tail quantile",
          "[output][summary][intervals]") {
  // X ~ N(0, 1) under P; paths drawn from Q = N(mu, 1) with mu = z_01 (the
  // tilt aimed at the 1% tail), each with the likelihood ratio
  // dP/dQ(x) = exp(-mu x + mu^2 / 2). The weighted VaR95 and VaR99 of a
  // lower_is_worse metric estimate z_05 and z_01.
  std::mt19937_64 generator(13);
  std::normal_distribution<double> normal(0.0, 1.0);
  const double mu = z_01;
  int covered_95 = 0, covered_99 = 0;
  double width_99_weighted = 0, width_99_plain = 0;
  for (int r = 0; r < repetitions; ++r) {
    std::vector<double> values(500), weights(500), plain(500);
    for (std::size_t i = 0; i < values.size(); ++i) {
      values[i] = mu + normal(generator);
      weights[i] = std::exp(-mu * values[i] + 0.5 * mu * mu);
      plain[i] = normal(generator);
    }
    const SummaryStatistics s = summarize_weighted(values, weights, RiskTail::lower_is_worse);
    covered_95 += s.var95_ci95_low <= z_05 && z_05 <= s.var95_ci95_high;
    covered_99 += s.var99_ci95_low <= z_01 && z_01 <= s.var99_ci95_high;
    width_99_weighted += s.var99_ci95_high - s.var99_ci95_low;
    const SummaryStatistics p = summarize(plain, RiskTail::lower_is_worse);
    width_99_plain += p.var99_ci95_high - p.var99_ci95_low;
  }
  // Woodruff's interval is asymptotic, not exact: its coverage must still be
  // 95% within the Monte Carlo error.
  CHECK(static_cast<double>(covered_95) / repetitions >= coverage_floor);
  CHECK(static_cast<double>(covered_99) / repetitions >= coverage_floor);
  // And the tilt is what it is for: at equal paths the 1% quantile's interval
  // is narrower than plain Monte Carlo's.
  CHECK(width_99_weighted < 0.5 * width_99_plain);
}
