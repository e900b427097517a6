#pragma once
// Everything about a scenario that is the same for all its paths, computed
// once: the price stepper, the metric layout, the sample blocks.
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "framework/core/gas_price.hpp"
#include "framework/core/price_process.hpp"
#include "framework/engine/experiment_spec.hpp"
#include "framework/output/metric.hpp"

namespace defisim::engine {

// Where a component's metrics sit in a path's series and outcome arrays.
struct MetricSlots {
  std::size_t series_offset = 0;
  std::size_t series_count = 0;
  std::size_t outcome_offset = 0;
  std::size_t outcome_count = 0;
};

struct ScenarioPlan {
  explicit ScenarioPlan(std::shared_ptr<const ScenarioSpec> spec);

  std::shared_ptr<const ScenarioSpec> spec;
  core::PriceStepper stepper;
  std::vector<output::MetricInfo> series_metrics;   // series values of a path: [metric][sample]
  std::vector<output::MetricInfo> outcome_metrics;  // outcomes of a path: [metric]
  MetricSlots reference_slots;                      // series: reference.<asset> per risky asset
  std::vector<MetricSlots> market_slots;            // per market
  MetricSlots chain_slots;                          // outcomes: chain.*
  std::vector<MetricSlots> agent_slots;             // per agent
  MetricSlots sampling_slots;                       // outcomes: sampling.likelihood_ratio (importance sampling)
  // Importance sampling: added to each normal of a block (the diffusion
  // normals; 0 for jump sizes); empty for plain Monte Carlo.
  std::vector<double> tilt_per_normal;
  std::vector<std::uint64_t> sample_blocks;

  // The gas price or an oracle changes every block by itself (not only when
  // a reference price crosses an agent's band): no block may be skipped.
  bool changes_every_block = false;
  // The gas price process with its block time fixed (a constant price: none).
  std::optional<core::GasPriceStepper> gas_stepper;

  std::size_t samples() const { return sample_blocks.size(); }
  std::size_t series_values_per_path() const { return series_metrics.size() * samples(); }

 private:
  void add_lending_metrics(const markets::LendingParams& lending, const std::string& id,
                           const std::vector<std::string>& assets);
  void add_perp_metrics(const std::string& id);
};

// Market metrics the engine records (markets know nothing of metrics):
// series spot_price, value (+ order_pool_value for a twamm); outcomes swaps,
// volume, fees, final_value (+ orders_placed, virtual_volume for a twamm);
// a lending market's are listed in add_lending_metrics (scenario_plan.cpp),
// in the order World::record_lending and finish_lending write them.
// transactions, reverts, dropped, gas_paid, bundles, bribes, builder_revenue,
// victim_loss; with a gas process also the series base_gas_price_gwei and the
// outcome peak_base_gas_price_gwei.
inline constexpr std::size_t chain_outcome_count = 8;
// An agent records at most this many series (a fixed scratch row per sample).
inline constexpr std::size_t max_series_per_agent = 64;

}  // namespace defisim::engine
