#pragma once
// Summary statistics of one metric over the paths of a scenario.
#include <span>
#include <utility>
#include <string>
#include <vector>

#include "framework/output/metric.hpp"

namespace defisim::output {

struct SummaryStatistics {
  double count = 0;          // number of finite values used
  double mean = 0;
  double standard_error = 0;  // sample standard deviation / sqrt(count)
  double p1 = 0, p5 = 0, p50 = 0, p95 = 0, p99 = 0;  // quantiles, linear interpolation (numpy default)
  double var95 = 0, var99 = 0;  // value at risk on the metric's risk tail (see RiskTail)
  double es95 = 0, es99 = 0;    // expected shortfall: mean of the values at or beyond the VaR
  // 95% confidence intervals (format 1.2). The mean's: mean -/+ z SE (normal,
  // z = 1.959964). The VaR's: unweighted, distribution-free from order
  // statistics [X_(l), X_(u)] (quantile_ci_ranks); under importance sampling,
  // Woodruff's interval: the weighted quantiles at q -/+ z se(F(VaR)), with
  // se the standard error of the unbiased tail-probability estimate at the
  // VaR. -inf / +inf: too few paths beyond the quantile for a bound.
  double mean_ci95_low = 0, mean_ci95_high = 0;
  double var95_ci95_low = 0, var95_ci95_high = 0;
  double var99_ci95_low = 0, var99_ci95_high = 0;
};

// The two-sided 95% normal quantile, Phi^-1(0.975).
inline constexpr double z95 = 1.959963984540054;

// 1-based ranks (l, u) of the sorted sample X_(1) <= ... <= X_(n) whose
// interval [X_(l), X_(u)] covers the q quantile of any continuous
// distribution with probability >= level: l is the largest rank with
// P(Bin(n, q) <= l - 1) <= (1 - level) / 2 and u the smallest with
// P(Bin(n, q) >= u) <= (1 - level) / 2. l = 0: no lower bound; u = n + 1: no
// upper bound. The same ranks as analysis/defisim/stats.py quantile_ci_ranks.
std::pair<std::size_t, std::size_t> quantile_ci_ranks(std::size_t n, double q, double level = 0.95);

// Quantile q in [0,1] of sorted values, numpy's default "linear" method:
// h = (n-1) q, result = v[floor h] + (h - floor h) (v[floor h + 1] - v[floor h]).
double quantile_of_sorted(std::span<const double> sorted, double q);

// Statistics of the values (need not be sorted; NaNs are not allowed and throw
// core::InvariantViolation naming the metric).
SummaryStatistics summarize(std::span<const double> values, RiskTail tail);

// The same statistics of importance-sampled values with per-path likelihood
// ratios `weights` (>= 0, finite). Unbiased where self-normalising is not
// (a tilt aimed at a tail leaves few paths with most of the weight, and
// sum w / n far from 1): mean = (1/n) sum w x with standard error
// sd(w x) / sqrt(n); quantiles from the distribution estimated on the
// metric's risk tail, F(x) = (1/n) sum w 1{X <= x} (lower_is_worse) or
// 1 - (1/n) sum w 1{X > x} (higher_is_worse), the smallest x with F(x) >= q
// (no interpolation); ES = the weighted mean of the tail beyond the VaR.
SummaryStatistics summarize_weighted(std::span<const double> values, std::span<const double> weights, RiskTail tail);

// The columns of the summary table, in file order.
const std::vector<std::string>& summary_column_names();
double summary_column(const SummaryStatistics& statistics, std::size_t column);

}  // namespace defisim::output
