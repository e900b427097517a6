#pragma once
// Summary statistics of one metric over the paths of a scenario.
#include <span>
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
};

// Quantile q in [0,1] of sorted values, numpy's default "linear" method:
// h = (n-1) q, result = v[floor h] + (h - floor h) (v[floor h + 1] - v[floor h]).
double quantile_of_sorted(std::span<const double> sorted, double q);

// Statistics of the values (need not be sorted; NaNs are not allowed and throw
// core::InvariantViolation naming the metric).
SummaryStatistics summarize(std::span<const double> values, RiskTail tail);

// The same statistics of importance-sampled values with per-path likelihood
// ratios `weights` (> 0, finite), self-normalised (as analysis/defisim's
// stats.mean_ci and weighted_quantile): mean = sum w x / sum w, its standard
// error by the delta method, sqrt(n / (n - 1) sum w^2 (x - mean)^2) / sum w;
// quantile q = the smallest x whose cumulative weight in sorted order
// reaches q sum w (no interpolation); ES = the weighted mean of the tail.
SummaryStatistics summarize_weighted(std::span<const double> values, std::span<const double> weights, RiskTail tail);

// The columns of the summary table, in file order.
const std::vector<std::string>& summary_column_names();
double summary_column(const SummaryStatistics& statistics, std::size_t column);

}  // namespace defisim::output
