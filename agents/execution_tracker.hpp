#pragma once
// Execution quality of a trading program that sells `token_in` for
// `token_out` during a window of blocks [first_block, end_block), measured
// against the reference (off-chain) market over the same window:
//
//   execution_price = sold / bought                     (token_in per token_out)
//   reference_twap  = mean over the window's blocks of p_out / p_in
//   arrival_price   = p_out / p_in at first_block
//   cost_vs_twap    = execution_price / reference_twap - 1     (> 0: paid more than the TWAP)
//   cost_vs_arrival = execution_price / arrival_price - 1      (implementation shortfall)
//   cost_vs_twap_numeraire = (sold - bought * reference_twap) * p_in at the end
//
// so every strategy of the same program (one swap, manual TWAP slices, a
// TWAMM order) is compared on the same benchmark. Gas is reported apart, in
// numeraire. A program that bought nothing reports prices and costs of 0
// (summaries need finite values) and filled_fraction 0.
#include <span>
#include <string>
#include <vector>

#include "agents/view.hpp"
#include "framework/output/metric.hpp"

namespace defisim::agents {

class ExecutionTracker {
 public:
  ExecutionTracker(core::AssetIndex token_in, core::AssetIndex token_out, core::BlockNumber first_block,
                   core::BlockNumber end_block, double planned_in)
      : token_in_(token_in),
        token_out_(token_out),
        first_block_(first_block),
        end_block_(end_block),
        planned_in_(planned_in) {}

  bool in_window(core::BlockNumber block) const { return block >= first_block_ && block < end_block_; }
  core::BlockNumber end_block() const { return end_block_; }

  // Once per block while in the window (the agent stays awake for it).
  void observe(const View& view) {
    if (!in_window(view.block)) return;
    const double ratio = view.reference_prices[token_out_] / view.reference_prices[token_in_];
    if (view.block == first_block_) arrival_price_ = ratio;
    twap_sum_ += ratio;
    twap_blocks_ += 1.0;
  }
  void add_fill(double sold, double bought) {
    sold_ += sold;
    bought_ += bought;
  }
  void add_gas(double numeraire) { gas_paid_ += numeraire; }

  // Units name the tokens: `sold_symbol` is token_in's, `bought_symbol` token_out's.
  static std::vector<output::MetricInfo> outcome_metrics(const std::string& sold_symbol,
                                                         const std::string& bought_symbol) {
    using output::RiskTail;
    const std::string price_unit = sold_symbol + " per " + bought_symbol;
    return {
        {"sold", sold_symbol, "input sold", RiskTail::lower_is_worse},
        {"bought", bought_symbol, "output received", RiskTail::lower_is_worse},
        {"filled_fraction", "fraction", "sold / planned", RiskTail::lower_is_worse},
        {"execution_price", price_unit, "sold / bought (0 if nothing bought)", RiskTail::higher_is_worse},
        {"reference_twap", price_unit, "mean reference price over the window", RiskTail::higher_is_worse},
        {"cost_vs_twap", "fraction", "execution_price / reference_twap - 1 (> 0: worse than the TWAP)",
         RiskTail::higher_is_worse},
        {"cost_vs_arrival", "fraction", "execution_price / reference price at the window's start - 1",
         RiskTail::higher_is_worse},
        {"cost_vs_twap_numeraire", "numeraire",
         "(sold - bought * reference_twap) valued at the end: what the program paid above the TWAP",
         RiskTail::higher_is_worse},
        {"gas_paid", "numeraire", "gas for the program's transactions", RiskTail::higher_is_worse},
    };
  }
  void finish(const View& view, std::span<double> outcomes) const {
    const double twap = twap_blocks_ > 0.0 ? twap_sum_ / twap_blocks_ : 0.0;
    const bool filled = bought_ > 0.0;
    const double execution_price = filled ? sold_ / bought_ : 0.0;
    outcomes[0] = sold_;
    outcomes[1] = bought_;
    outcomes[2] = planned_in_ > 0.0 ? sold_ / planned_in_ : 0.0;
    outcomes[3] = execution_price;
    outcomes[4] = twap;
    outcomes[5] = filled && twap > 0.0 ? execution_price / twap - 1.0 : 0.0;
    outcomes[6] = filled && arrival_price_ > 0.0 ? execution_price / arrival_price_ - 1.0 : 0.0;
    outcomes[7] = (sold_ - bought_ * twap) * view.reference_prices[token_in_];
    outcomes[8] = gas_paid_;
  }

 private:
  core::AssetIndex token_in_;
  core::AssetIndex token_out_;
  core::BlockNumber first_block_;
  core::BlockNumber end_block_;
  double planned_in_;
  double sold_ = 0.0;
  double bought_ = 0.0;
  double twap_sum_ = 0.0;
  double twap_blocks_ = 0.0;
  double arrival_price_ = 0.0;
  double gas_paid_ = 0.0;
};

}  // namespace defisim::agents
