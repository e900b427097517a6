#pragma once
// What a metric is, for the results file and the summary table.
#include <string>

namespace defisim::output {

// Which tail of a metric is the risk: VaR and expected shortfall are taken on
// that tail, in the metric's own units and sign (nothing is flipped).
enum class RiskTail {
  lower_is_worse,   // PnL, value: VaR_95 = 5th percentile, ES_95 = mean of values <= it
  higher_is_worse,  // losses, bad debt, costs: VaR_95 = 95th percentile, ES_95 = mean of values >= it
};

struct MetricInfo {
  std::string name;         // "<component id>.<metric>", e.g. "lp.pnl_vs_hodl"
  std::string unit;         // e.g. "USDC", "ETH", "count", "fraction"
  std::string description;  // one sentence for the file and the docs
  RiskTail risk_tail = RiskTail::lower_is_worse;
};

}  // namespace defisim::output
