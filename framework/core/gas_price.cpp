#include "framework/core/gas_price.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

#include "framework/core/deterministic_math.hpp"

namespace defisim::core {
namespace {

void require(bool ok, const char* what, double value) {
  if (!ok) throw std::invalid_argument(std::string("gas price: ") + what + ", got " + std::to_string(value));
}

}  // namespace

void validate(const GasPriceParams& params) {
  if (const auto* constant = std::get_if<ConstantGasParams>(&params)) {
    require(std::isfinite(constant->base_gwei) && constant->base_gwei >= 0.0, "base_gwei must be finite and >= 0",
            constant->base_gwei);
    return;
  }
  const auto& spike = std::get<SpikeGasParams>(params);
  require(std::isfinite(spike.base_gwei) && spike.base_gwei >= 0.0, "base_gwei must be finite and >= 0",
          spike.base_gwei);
  require(std::isfinite(spike.spike_per_percent_drop) && spike.spike_per_percent_drop >= 0.0,
          "spike_per_percent_drop must be finite and >= 0", spike.spike_per_percent_drop);
  require(spike.half_life_seconds > 0.0, "half_life_seconds must be > 0 (inf: never decays)",
          spike.half_life_seconds);
  require(spike.cap_gwei >= spike.base_gwei, "cap_gwei must be >= base_gwei", spike.cap_gwei);
}

double base_gas_price_gwei(const GasPriceParams& params) {
  return std::visit([](const auto& kind) { return kind.base_gwei; }, params);
}

GasPriceStepper::GasPriceStepper(const GasPriceParams& params, double block_time_seconds) {
  validate(params);
  require(std::isfinite(block_time_seconds) && block_time_seconds > 0.0, "block_time_seconds must be finite and > 0",
          block_time_seconds);
  base_gwei_ = base_gas_price_gwei(params);
  if (const auto* spike = std::get_if<SpikeGasParams>(&params)) {
    excess_per_percent_drop_gwei_ = spike->base_gwei * spike->spike_per_percent_drop;
    // 2^(-dt / h) = e^(-ln2 dt / h); exp_det takes finite arguments only, so an
    // infinite half-life (-0 here) is spelled out.
    decay_per_block_ = std::isinf(spike->half_life_seconds)
                           ? 1.0
                           : exp_det(-std::numbers::ln2 * (block_time_seconds / spike->half_life_seconds));
    cap_gwei_ = spike->cap_gwei;
  }
}

double GasPriceStepper::next(GasPriceState& state, double log_price) const {
  const double drop_percent = std::max(0.0, -100.0 * (log_price - state.last_log_price));
  state.last_log_price = log_price;
  state.excess_gwei = state.excess_gwei * decay_per_block_ + excess_per_percent_drop_gwei_ * drop_percent;
  return std::min(cap_gwei_, base_gwei_ + state.excess_gwei);
}

double next_gas_price(const GasPriceParams& params, GasPriceState& state, double log_price,
                      double block_time_seconds) {
  return GasPriceStepper(params, block_time_seconds).next(state, log_price);
}

}  // namespace defisim::core
