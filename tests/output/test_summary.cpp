// Summary statistics: quantiles (numpy's default "linear" method), standard
// error, VaR and expected shortfall on both risk tails.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "framework/core/errors.hpp"
#include "framework/output/summary.hpp"

using defisim::output::quantile_of_sorted;
using defisim::output::RiskTail;
using defisim::output::summarize;
using defisim::output::summary_column;
using defisim::output::summary_column_names;
using defisim::output::SummaryStatistics;

namespace {

std::vector<double> one_to(int n) {
  std::vector<double> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 1.0);
  return v;
}

std::vector<double> shuffled(std::vector<double> v) {
  std::mt19937 generator(12345);
  std::shuffle(v.begin(), v.end(), generator);
  return v;
}

}  // namespace

TEST_CASE("quantiles of 1..100 follow numpy's linear method", "[output][summary]") {
  // numpy.quantile docs, method "linear" (the default): virtual index
  // h = (n - 1) q, value = v[floor h] + (h - floor h)(v[floor h + 1] - v[floor h]).
  // For v = 1..100 (v[i] = i + 1): h = 99 q, so the quantile is 1 + 99 q:
  //   q = 0.01 -> 1.99, 0.05 -> 5.95, 0.5 -> 50.5, 0.95 -> 95.05, 0.99 -> 99.01.
  const std::vector<double> v = one_to(100);
  CHECK(quantile_of_sorted(v, 0.01) == Approx(1.99).epsilon(1e-14));
  CHECK(quantile_of_sorted(v, 0.05) == Approx(5.95).epsilon(1e-14));
  CHECK(quantile_of_sorted(v, 0.50) == Approx(50.5).epsilon(1e-14));
  CHECK(quantile_of_sorted(v, 0.95) == Approx(95.05).epsilon(1e-14));
  CHECK(quantile_of_sorted(v, 0.99) == Approx(99.01).epsilon(1e-14));
  CHECK(quantile_of_sorted(v, 0.0) == 1.0);
  CHECK(quantile_of_sorted(v, 1.0) == 100.0);
  CHECK(quantile_of_sorted(v, 0.25) == 25.75);  // h = 24.75 -> 25 + 0.75

  const SummaryStatistics s = summarize(shuffled(v), RiskTail::lower_is_worse);
  CHECK(s.count == 100);
  CHECK(s.p5 == Approx(5.95).epsilon(1e-14));
  CHECK(s.p50 == 50.5);
  CHECK(s.p95 == Approx(95.05).epsilon(1e-14));
}

TEST_CASE("quantiles are bit-identical to numpy on an irregular sample", "[output][summary]") {
  // Expected values printed with float.hex() from numpy 1.24:
  //   x = np.array([0.3, -1.7, 2.9, 0.1, 0.1, 5.5, -0.2, 1e-3, 7.25, 3.3, -4.4])
  //   np.quantile(x, q)  for q in 0.01, 0.05, 0.5, 0.95, 0.99
  std::vector<double> x = {0.3, -1.7, 2.9, 0.1, 0.1, 5.5, -0.2, 1e-3, 7.25, 3.3, -4.4};
  const SummaryStatistics s = summarize(x, RiskTail::lower_is_worse);
  CHECK(s.p1 == -0x1.0851eb851eb86p+2);
  CHECK(s.p5 == -0x1.8666666666666p+1);
  CHECK(s.p50 == 0x1.999999999999ap-4);
  CHECK(s.p95 == 0x1.9800000000000p+2);
  CHECK(s.p99 == 0x1.c4ccccccccccep+2);
  // np.mean(x), np.std(x, ddof=1) / sqrt(11)
  CHECK(s.mean == Approx(0x1.320f445427787p+0).epsilon(1e-15));
  CHECK(s.standard_error == Approx(0x1.fd2d0a5121503p-1).epsilon(1e-15));
}

TEST_CASE("quantile edge cases", "[output][summary]") {
  const std::vector<double> empty;
  CHECK(std::isnan(quantile_of_sorted(empty, 0.5)));
  const std::vector<double> one = {3.5};
  CHECK(quantile_of_sorted(one, 0.0) == 3.5);
  CHECK(quantile_of_sorted(one, 0.99) == 3.5);
  const std::vector<double> two = {1.0, 3.0};
  CHECK(quantile_of_sorted(two, 0.5) == 2.0);
  CHECK(quantile_of_sorted(two, 0.25) == 1.5);
  CHECK_THROWS_AS(quantile_of_sorted(two, 1.5), defisim::core::InvariantViolation);
  CHECK_THROWS_AS(quantile_of_sorted(two, -0.1), defisim::core::InvariantViolation);
}

TEST_CASE("standard error is the sample standard deviation over sqrt(n)", "[output][summary]") {
  // {2, 4, 4, 4, 5, 5, 7, 9}: mean 5, squared deviations 9+1+1+1+0+0+4+16 = 32,
  // sample variance 32/7, standard error sqrt(32/7)/sqrt(8) = sqrt(4/7).
  const std::vector<double> v = {2, 4, 4, 4, 5, 5, 7, 9};
  const SummaryStatistics s = summarize(v, RiskTail::lower_is_worse);
  CHECK(s.count == 8);
  CHECK(s.mean == 5.0);
  CHECK(s.standard_error == Approx(std::sqrt(4.0 / 7.0)).epsilon(1e-15));

  // One value: no sample standard deviation.
  const std::vector<double> single = {42.0};
  const SummaryStatistics one = summarize(single, RiskTail::higher_is_worse);
  CHECK(one.count == 1);
  CHECK(one.mean == 42.0);
  CHECK(std::isnan(one.standard_error));
  CHECK(one.p1 == 42.0);
  CHECK(one.var95 == 42.0);
  CHECK(one.es99 == 42.0);
}

TEST_CASE("VaR and expected shortfall on the lower tail", "[output][summary]") {
  // 1..100: VaR95 = p5 = 5.95, values <= 5.95 are 1..5, ES95 = 3;
  //         VaR99 = p1 = 1.99, values <= 1.99 are {1}, ES99 = 1.
  const SummaryStatistics s = summarize(shuffled(one_to(100)), RiskTail::lower_is_worse);
  CHECK(s.var95 == s.p5);
  CHECK(s.var99 == s.p1);
  CHECK(s.es95 == 3.0);
  CHECK(s.es99 == 1.0);

  // A PnL-like sample with negatives: sorted {-10, -3, 0, 2, 5}, n = 5.
  // p5: h = 4 * 0.05 = 0.2 -> -10 + 0.2 * 7 = -8.6; values <= -8.6: {-10}.
  const std::vector<double> pnl = {2, -3, 5, -10, 0};
  const SummaryStatistics p = summarize(pnl, RiskTail::lower_is_worse);
  CHECK(p.var95 == Approx(-8.6).epsilon(1e-14));
  CHECK(p.es95 == -10.0);
  CHECK(p.mean == Approx(-1.2).epsilon(1e-14));

  // Ties at the VaR are part of the tail: {1, 1, 1, 1, 2}: p5 = 1, ES95 = mean{1,1,1,1} = 1.
  const std::vector<double> ties = {1, 2, 1, 1, 1};
  const SummaryStatistics t = summarize(ties, RiskTail::lower_is_worse);
  CHECK(t.var95 == 1.0);
  CHECK(t.es95 == 1.0);
}

TEST_CASE("VaR and expected shortfall on the upper tail", "[output][summary]") {
  // 1..100: VaR95 = p95 = 95.05, values >= 95.05 are 96..100, ES95 = 98;
  //         VaR99 = p99 = 99.01, values >= 99.01 are {100}, ES99 = 100.
  const SummaryStatistics s = summarize(shuffled(one_to(100)), RiskTail::higher_is_worse);
  CHECK(s.var95 == s.p95);
  CHECK(s.var99 == s.p99);
  CHECK(s.es95 == 98.0);
  CHECK(s.es99 == 100.0);

  // {1, 1, 1, 1, 2}: p95: h = 3.8 between 1 and 2 -> 1.8; values >= 1.8: {2}.
  const std::vector<double> ties = {1, 2, 1, 1, 1};
  const SummaryStatistics t = summarize(ties, RiskTail::higher_is_worse);
  CHECK(t.var95 == Approx(1.8).epsilon(1e-14));
  CHECK(t.es95 == 2.0);
  // The sign is never flipped: a loss metric keeps positive VaR.
  CHECK(t.var95 > 0);
}

TEST_CASE("no values give NaN statistics, not a crash", "[output][summary]") {
  const std::vector<double> empty;
  const SummaryStatistics s = summarize(empty, RiskTail::lower_is_worse);
  CHECK(s.count == 0);
  for (std::size_t c = 1; c < summary_column_names().size(); ++c) {
    INFO(summary_column_names()[c]);
    CHECK(std::isnan(summary_column(s, c)));
  }
}

TEST_CASE("non-finite values are an invariant violation", "[output][summary]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> with_nan = {1.0, nan, 2.0};
  CHECK_THROWS_AS(summarize(with_nan, RiskTail::lower_is_worse),
                  defisim::core::InvariantViolation);
  const std::vector<double> with_inf = {1.0, std::numeric_limits<double>::infinity()};
  CHECK_THROWS_AS(summarize(with_inf, RiskTail::higher_is_worse),
                  defisim::core::InvariantViolation);
}

TEST_CASE("summary columns are named and ordered as in the file", "[output][summary]") {
  const std::vector<std::string> expected = {
      "count", "mean", "standard_error", "p1", "p5", "p50", "p95", "p99", "var95", "es95", "var99", "es99",
      "mean_ci95_low", "mean_ci95_high", "var95_ci95_low", "var95_ci95_high", "var99_ci95_low", "var99_ci95_high"};
  CHECK(summary_column_names() == expected);

  SummaryStatistics s;
  s.count = 1;
  s.mean = 2;
  s.standard_error = 3;
  s.p1 = 4;
  s.p5 = 5;
  s.p50 = 6;
  s.p95 = 7;
  s.p99 = 8;
  s.var95 = 9;
  s.es95 = 10;
  s.var99 = 11;
  s.es99 = 12;
  s.mean_ci95_low = 13;
  s.mean_ci95_high = 14;
  s.var95_ci95_low = 15;
  s.var95_ci95_high = 16;
  s.var99_ci95_low = 17;
  s.var99_ci95_high = 18;
  for (std::size_t c = 0; c < expected.size(); ++c) {
    CHECK(summary_column(s, c) == static_cast<double>(c + 1));
  }
  CHECK_THROWS_AS(summary_column(s, expected.size()), defisim::core::InvariantViolation);
}
