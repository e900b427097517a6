#pragma once
// What front-runs took from an agent's swaps: the engine marks a receipt
// `sandwiched` when its transaction executed behind a searcher's front-run
// (a mev bundle, or a front-run that outbid it in a gas auction) and gives
// `amount_out_unattacked`, what it would have received without it. Any
// agent whose swaps are public can record this, per agent, beside
// chain.victim_loss (which sums every victim).
#include <vector>

#include "agents/view.hpp"
#include "framework/output/metric.hpp"

namespace defisim::agents {

class SandwichExposure {
 public:
  void observe(const core::Receipt& receipt, const View& view) {
    if (!receipt.succeeded() || !receipt.sandwiched) return;
    sandwiched_ += 1.0;
    loss_ += (receipt.amount_out_unattacked - receipt.amount_out) * view.reference_prices[receipt.token_out];
  }
  double sandwiched() const { return sandwiched_; }
  double loss() const { return loss_; }

  static std::vector<output::MetricInfo> outcome_metrics() {
    using output::RiskTail;
    return {
        {"sandwiched", "count", "its swaps that executed behind a searcher's front-run", RiskTail::higher_is_worse},
        {"sandwich_loss", "numeraire",
         "output the front-runs took from its swaps (vs the same swap without them), at reference prices",
         RiskTail::higher_is_worse},
    };
  }

 private:
  double sandwiched_ = 0.0;
  double loss_ = 0.0;  // numeraire
};

}  // namespace defisim::agents
