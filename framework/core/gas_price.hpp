#pragma once
// Base gas price per block, in gwei of the native asset (units.hpp).
//
// Kinds:
//   constant  gas_b = base_gwei.
//   spike     congestion coupled to drops of one risky asset's price (crashes
//             bring liquidations, panic selling and bidding wars: in March 2020
//             Ethereum gas went from ~20 to ~200 gwei and Maker's keepers could
//             not bid). Deterministic given the price path, no RNG:
//
//     drop_percent_b = max(0, -100 (log S_b - log S_{b-1}))       one-block log drop, %
//     excess_b       = excess_{b-1} * decay
//                      + base_gwei * spike_per_percent_drop * drop_percent_b      gwei
//     gas_b          = min(cap_gwei, base_gwei + excess_b)                        gwei
//     decay          = 2^(-block_time_seconds / half_life_seconds)                per block
//
//             so a 1% one-block drop adds spike_per_percent_drop x base_gwei of
//             excess, which halves every half_life_seconds; rises never lower
//             the gas price. The excess is kept uncapped (the cap applies to
//             the output only), so a capped spike stays at the cap until the
//             uncapped excess has decayed below it.
//
// Why one-block drops and not the drawdown from the running maximum: below the
// maximum, the one-block increase of the drawdown is exactly the one-block
// drop, so an impulse driven by drawdown increments is this same process; a
// level driven by the drawdown itself would keep gas high for as long as a bear
// market lasts, whereas real congestion clears within hours.
//
// Like price_process.hpp: a process owns no RNG and its state is plain values;
// GasPriceStepper precomputes the per-block decay (exp_det, so the same bits on
// every compiler).
#include <limits>
#include <variant>

namespace defisim::core {

struct ConstantGasParams {
  double base_gwei = 20.0;
};

struct SpikeGasParams {
  double base_gwei = 20.0;
  double spike_per_percent_drop = 1.0;  // excess, in multiples of base_gwei, per 1% one-block log drop
  double half_life_seconds = 600.0;     // of the excess; +inf: never decays
  double cap_gwei = std::numeric_limits<double>::infinity();
};

using GasPriceParams = std::variant<ConstantGasParams, SpikeGasParams>;

struct GasPriceState {
  double excess_gwei = 0.0;     // spike: uncapped excess over base_gwei
  double last_log_price = 0.0;  // natural log of the coupled asset's price at the previous block
};

// Throws std::invalid_argument naming the bad parameter: base_gwei not finite
// or < 0; spike_per_percent_drop not finite or < 0; half_life_seconds not > 0
// (+inf allowed); cap_gwei < base_gwei (NaN included).
void validate(const GasPriceParams& params);

// Block 0: no excess; gas price = base_gwei.
inline GasPriceState initial_gas_price_state(double initial_log_price) { return {0.0, initial_log_price}; }

// The gas price of block 0 (and of any block in which the price did not drop
// after the excess has decayed): base_gwei.
double base_gas_price_gwei(const GasPriceParams& params);

// The process with its block time fixed: decay precomputed.
class GasPriceStepper {
 public:
  // Validates params; block_time_seconds must be > 0 and finite.
  GasPriceStepper(const GasPriceParams& params, double block_time_seconds);

  // Advances to the block whose coupled asset has this log price and returns
  // its gas price in gwei. Never throws, never allocates.
  double next(GasPriceState& state, double log_price) const;

  double base_gwei() const { return base_gwei_; }
  double decay_per_block() const { return decay_per_block_; }

 private:
  double base_gwei_ = 0.0;
  double excess_per_percent_drop_gwei_ = 0.0;  // base_gwei * spike_per_percent_drop
  double decay_per_block_ = 1.0;
  double cap_gwei_ = std::numeric_limits<double>::infinity();
};

// The generic form: one block (builds the stepper, one exp, on each call; the
// engine keeps a stepper). Same bits as GasPriceStepper::next.
double next_gas_price(const GasPriceParams& params, GasPriceState& state, double log_price,
                      double block_time_seconds);

}  // namespace defisim::core
