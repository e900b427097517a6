#include "framework/output/summary.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <tuple>
#include <utility>
#include <vector>

#include "framework/core/errors.hpp"

namespace defisim::output {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// Compensated (Neumaier) sum: accurate for millions of values and, like the
// rest of this file, deterministic (-ffp-contract=off, no reassociation).
class CompensatedSum {
 public:
  void add(double x) {
    const double t = sum_ + x;
    if (std::fabs(sum_) >= std::fabs(x)) {
      compensation_ += (sum_ - t) + x;
    } else {
      compensation_ += (x - t) + sum_;
    }
    sum_ = t;
  }
  double value() const { return sum_ + compensation_; }

 private:
  double sum_ = 0;
  double compensation_ = 0;
};

double mean_of(std::span<const double> values) {
  if (values.empty()) return nan;
  CompensatedSum sum;
  for (double v : values) sum.add(v);
  return sum.value() / static_cast<double>(values.size());
}

constexpr double infinity = std::numeric_limits<double>::infinity();

// The statistics of no values: count 0, everything else NaN.
SummaryStatistics no_values() {
  SummaryStatistics s;
  s.mean = s.standard_error = nan;
  s.p1 = s.p5 = s.p50 = s.p95 = s.p99 = nan;
  s.var95 = s.var99 = s.es95 = s.es99 = nan;
  s.mean_ci95_low = s.mean_ci95_high = nan;
  s.var95_ci95_low = s.var95_ci95_high = s.var99_ci95_low = s.var99_ci95_high = nan;
  return s;
}

// The normal interval of the mean, from the mean and its standard error.
void set_mean_interval(SummaryStatistics& s) {
  s.mean_ci95_low = s.mean - z95 * s.standard_error;
  s.mean_ci95_high = s.mean + z95 * s.standard_error;
}

// The interval [X_(l), X_(u)] of sorted values for the q quantile.
std::pair<double, double> order_statistic_interval(std::span<const double> sorted, double q) {
  const auto [l, u] = quantile_ci_ranks(sorted.size(), q);
  return {l == 0 ? -infinity : sorted[l - 1], u > sorted.size() ? infinity : sorted[u - 1]};
}

}  // namespace

std::pair<std::size_t, std::size_t> quantile_ci_ranks(std::size_t n, double q, double level) {
  if (!(q > 0.0 && q < 1.0) || !(level > 0.0 && level < 1.0)) {
    throw core::InvariantViolation(fmt::format("quantile_ci_ranks: q = {} and level = {} must be in (0, 1)", q, level));
  }
  if (n == 0) return {0, 1};
  const double alpha = 0.5 * (1.0 - level);
  const double count = static_cast<double>(n);
  // Only the binomial's bulk matters: mass beyond 40 standard deviations is
  // far below any alpha.
  const double spread = 40.0 * std::sqrt(count * q * (1.0 - q)) + 10.0;
  const std::size_t lo = static_cast<std::size_t>(std::max(0.0, std::floor(count * q - spread)));
  const std::size_t hi = static_cast<std::size_t>(std::min(count, std::ceil(count * q + spread)));
  // P(Bin = k) up to a constant, outward from the mode by the exact ratio
  // P(k + 1) / P(k) = (n - k) q / ((k + 1) (1 - q)): IEEE arithmetic only, so
  // the ranks are the same on every machine. Far terms underflow to 0.
  const std::size_t mode = std::clamp<std::size_t>(static_cast<std::size_t>(std::floor((count + 1.0) * q)), lo, hi);
  std::vector<double> pmf(hi - lo + 1, 0.0);
  pmf[mode - lo] = 1.0;
  const double odds = q / (1.0 - q);
  for (std::size_t k = mode; k < hi; ++k) {
    pmf[k + 1 - lo] = pmf[k - lo] * (static_cast<double>(n - k) / static_cast<double>(k + 1)) * odds;
  }
  for (std::size_t k = mode; k > lo; --k) {
    pmf[k - 1 - lo] = pmf[k - lo] * (static_cast<double>(k) / static_cast<double>(n - k + 1)) / odds;
  }
  CompensatedSum total;
  for (const double p : pmf) total.add(p);
  // lower = lo + #{j : F(j) <= alpha}; upper = lo + min{i : F(lo + i) >= 1 - alpha} + 1.
  std::size_t lower = lo, upper = hi + 1;
  CompensatedSum running;
  bool upper_found = false;
  for (std::size_t i = 0; i < pmf.size(); ++i) {
    running.add(pmf[i]);
    const double cdf = running.value() / total.value();
    if (cdf <= alpha) lower = lo + i + 1;
    if (!upper_found && cdf >= 1.0 - alpha) {
      upper = lo + i + 1;
      upper_found = true;
    }
  }
  return {lower, std::min(upper, n + 1)};
}

double quantile_of_sorted(std::span<const double> sorted, double q) {
  if (!(q >= 0.0 && q <= 1.0)) {
    throw core::InvariantViolation(fmt::format("quantile level {} is outside [0, 1]", q));
  }
  const std::size_t n = sorted.size();
  if (n == 0) return nan;
  if (n == 1) return sorted[0];
  // numpy.quantile(method="linear"): virtual index h = (n - 1) q, then a
  // linear interpolation between the neighbours. numpy's _lerp evaluates
  // b - (b - a)(1 - t) when t >= 0.5 and a + (b - a) t otherwise; doing the
  // same gives bit-identical results to numpy.
  const double h = static_cast<double>(n - 1) * q;
  const double floor_h = std::floor(h);
  std::size_t lower = static_cast<std::size_t>(floor_h);
  if (lower >= n - 1) return sorted[n - 1];
  const double t = h - floor_h;
  const double a = sorted[lower];
  const double b = sorted[lower + 1];
  const double difference = b - a;
  if (t >= 0.5) return b - difference * (1.0 - t);
  return a + difference * t;
}

SummaryStatistics summarize(std::span<const double> values, RiskTail tail) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      throw core::InvariantViolation(fmt::format(
          "summary statistics of a metric with a non-finite value ({} at path {} of {})",
          values[i], i, values.size()));
    }
  }
  if (values.empty()) return no_values();
  SummaryStatistics s;
  s.count = static_cast<double>(values.size());

  std::vector<double> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  const std::span<const double> view(sorted);

  // Mean and sample standard deviation (two passes over the original order).
  s.mean = mean_of(values);
  if (values.size() >= 2) {
    CompensatedSum squares;
    for (double v : values) {
      const double d = v - s.mean;
      squares.add(d * d);
    }
    const double n = static_cast<double>(values.size());
    const double variance = squares.value() / (n - 1.0);
    s.standard_error = std::sqrt(variance) / std::sqrt(n);
  } else {
    s.standard_error = nan;  // a sample standard deviation needs two values
  }

  s.p1 = quantile_of_sorted(view, 0.01);
  s.p5 = quantile_of_sorted(view, 0.05);
  s.p50 = quantile_of_sorted(view, 0.50);
  s.p95 = quantile_of_sorted(view, 0.95);
  s.p99 = quantile_of_sorted(view, 0.99);

  // VaR and ES on the risk tail, in the metric's own units and sign.
  // lower_is_worse:  VaR = low quantile, ES = mean of the values <= VaR.
  // higher_is_worse: VaR = high quantile, ES = mean of the values >= VaR.
  // The tail is never empty: the VaR lies between the minimum and maximum.
  auto lower_tail_mean = [&](double var) {
    const auto end = std::upper_bound(sorted.begin(), sorted.end(), var);
    return mean_of(view.first(static_cast<std::size_t>(end - sorted.begin())));
  };
  auto upper_tail_mean = [&](double var) {
    const auto begin = std::lower_bound(sorted.begin(), sorted.end(), var);
    return mean_of(view.subspan(static_cast<std::size_t>(begin - sorted.begin())));
  };
  if (tail == RiskTail::lower_is_worse) {
    s.var95 = s.p5;
    s.var99 = s.p1;
    s.es95 = lower_tail_mean(s.var95);
    s.es99 = lower_tail_mean(s.var99);
  } else {
    s.var95 = s.p95;
    s.var99 = s.p99;
    s.es95 = upper_tail_mean(s.var95);
    s.es99 = upper_tail_mean(s.var99);
  }
  set_mean_interval(s);
  const bool lower = tail == RiskTail::lower_is_worse;
  std::tie(s.var95_ci95_low, s.var95_ci95_high) = order_statistic_interval(view, lower ? 0.05 : 0.95);
  std::tie(s.var99_ci95_low, s.var99_ci95_high) = order_statistic_interval(view, lower ? 0.01 : 0.99);
  return s;
}

SummaryStatistics summarize_weighted(std::span<const double> values, std::span<const double> weights, RiskTail tail) {
  if (weights.size() != values.size()) {
    throw core::InvariantViolation(
        fmt::format("weighted summary of {} values with {} weights", values.size(), weights.size()));
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i]) || !std::isfinite(weights[i]) || !(weights[i] >= 0.0)) {
      throw core::InvariantViolation(fmt::format(
          "weighted summary statistics need finite values and non-negative finite weights (path {} of {}: value {}, "
          "weight {})",
          i, values.size(), values[i], weights[i]));
    }
  }
  const std::size_t n = values.size();
  if (n == 0) return no_values();
  SummaryStatistics s;
  s.count = static_cast<double>(n);
  const double count = static_cast<double>(n);
  // The unbiased importance-sampling mean (1/n) sum w x and its standard
  // error, sd(w x) / sqrt(n).
  std::vector<double> products(n);
  for (std::size_t i = 0; i < n; ++i) products[i] = weights[i] * values[i];
  s.mean = mean_of(products);
  if (n >= 2) {
    CompensatedSum squares;
    for (const double y : products) squares.add((y - s.mean) * (y - s.mean));
    s.standard_error = std::sqrt(squares.value() / (count - 1.0)) / std::sqrt(count);
  } else {
    s.standard_error = nan;
  }
  // The distribution from the side of the risk tail, where the tilt puts the
  // paths: F(x) = (1/n) sum w 1{X <= x} for lower_is_worse, 1 - (1/n) sum w
  // 1{X > x} for higher_is_worse. Quantile q: the smallest sorted x with
  // F(x) >= q.
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  std::vector<double> cdf(n);
  const bool lower = tail == RiskTail::lower_is_worse;
  if (lower) {
    CompensatedSum running;
    for (std::size_t k = 0; k < n; ++k) {
      running.add(weights[order[k]]);
      cdf[k] = running.value() / count;
    }
  } else {
    CompensatedSum above;  // (sum of the weights of the values above sorted position k) / n
    for (std::size_t k = n; k-- > 0;) {
      cdf[k] = 1.0 - above.value() / count;
      above.add(weights[order[k]]);
    }
  }
  auto quantile = [&](double q) {  // cdf is non-decreasing
    const auto it = std::lower_bound(cdf.begin(), cdf.end(), q * (1.0 - 1e-12));
    return values[order[std::min<std::size_t>(static_cast<std::size_t>(it - cdf.begin()), n - 1)]];
  };
  s.p1 = quantile(0.01);
  s.p5 = quantile(0.05);
  s.p50 = quantile(0.50);
  s.p95 = quantile(0.95);
  s.p99 = quantile(0.99);
  // ES: the mean of the tail beyond the VaR, sum w x 1{tail} / sum w 1{tail}.
  auto tail_mean = [&](double var) {
    CompensatedSum tail_weight, tail_value;
    for (std::size_t i = 0; i < n; ++i) {
      if (lower ? values[i] <= var : values[i] >= var) {
        tail_weight.add(weights[i]);
        tail_value.add(weights[i] * values[i]);
      }
    }
    return tail_weight.value() > 0.0 ? tail_value.value() / tail_weight.value() : var;
  };
  s.var95 = lower ? s.p5 : s.p95;
  s.var99 = lower ? s.p1 : s.p99;
  s.es95 = tail_mean(s.var95);
  s.es99 = tail_mean(s.var99);
  set_mean_interval(s);
  // Woodruff's interval for the VaR at level q: the standard error of the
  // tail probability estimated at the VaR, (1/n) sum w 1{X beyond it} (the
  // side the CDF is estimated from), moved through the estimated quantile
  // function. An interval level outside what the paths estimate is unbounded.
  auto woodruff = [&](double q, double var) -> std::pair<double, double> {
    // The terms of the tail-probability estimate: w 1{X on the estimated side of var}.
    auto term = [&](std::size_t i) { return (lower ? values[i] <= var : values[i] > var) ? weights[i] : 0.0; };
    CompensatedSum sum;
    for (std::size_t i = 0; i < n; ++i) sum.add(term(i));
    const double tail_probability = sum.value() / count;
    CompensatedSum squares;
    for (std::size_t i = 0; i < n; ++i) squares.add((term(i) - tail_probability) * (term(i) - tail_probability));
    const double se = n >= 2 ? std::sqrt(squares.value() / (count - 1.0)) / std::sqrt(count) : nan;
    const double low_level = q - z95 * se, high_level = q + z95 * se;
    const double low = low_level <= 0.0 ? -infinity : quantile(low_level);
    const double high = high_level > cdf.back() ? infinity : quantile(high_level);
    return {low, high};
  };
  std::tie(s.var95_ci95_low, s.var95_ci95_high) = woodruff(lower ? 0.05 : 0.95, s.var95);
  std::tie(s.var99_ci95_low, s.var99_ci95_high) = woodruff(lower ? 0.01 : 0.99, s.var99);
  return s;
}

const std::vector<std::string>& summary_column_names() {
  static const std::vector<std::string> names = {
      "count",         "mean",           "standard_error", "p1",   "p5",   "p50",  "p95",
      "p99",           "var95",          "es95",           "var99", "es99", "mean_ci95_low",
      "mean_ci95_high", "var95_ci95_low", "var95_ci95_high", "var99_ci95_low", "var99_ci95_high"};
  return names;
}

double summary_column(const SummaryStatistics& statistics, std::size_t column) {
  switch (column) {
    case 0: return statistics.count;
    case 1: return statistics.mean;
    case 2: return statistics.standard_error;
    case 3: return statistics.p1;
    case 4: return statistics.p5;
    case 5: return statistics.p50;
    case 6: return statistics.p95;
    case 7: return statistics.p99;
    case 8: return statistics.var95;
    case 9: return statistics.es95;
    case 10: return statistics.var99;
    case 11: return statistics.es99;
    case 12: return statistics.mean_ci95_low;
    case 13: return statistics.mean_ci95_high;
    case 14: return statistics.var95_ci95_low;
    case 15: return statistics.var95_ci95_high;
    case 16: return statistics.var99_ci95_low;
    case 17: return statistics.var99_ci95_high;
    default:
      throw core::InvariantViolation(
          fmt::format("summary column {} out of range (there are {})", column,
                      summary_column_names().size()));
  }
}

}  // namespace defisim::output
