#pragma once
// One Monte Carlo path: a deterministic replay of a chain for `blocks` blocks.
//
// Block 0: agents' start() transactions execute (deposits); no price step.
// Blocks 1..blocks, each:
//   1. exogenous step: the price process advances the reference prices
//   2. oracles update (protocols read the reference until oracles exist)
//   3. lazy accrual (nothing to accrue for cpmm)
//   4. agents act in config order, submitting to the mempool
//   5. the builder orders the block and the engine executes it; receipts go
//      back to the senders in execution order
//   6. record: series every record.every blocks; outcomes after the last block
//
// Accounts: 0..A-1 are the agents, A is the block builder (receives gas), A+1
// owns the markets' initial liquidity.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "agents/agent.hpp"
#include "framework/core/price_process.hpp"
#include "framework/core/rng.hpp"
#include "framework/engine/block_builder.hpp"
#include "framework/engine/ledger.hpp"
#include "framework/engine/scenario_plan.hpp"
#include "framework/engine/settlement.hpp"

namespace defisim::engine {

struct ConservationReport {
  double worst_relative_imbalance = 0;  // max over assets of |sum| / gross
  core::AssetIndex worst_asset = 0;
  double imbalance = 0;  // tokens
  double gross = 0;      // sum of absolute holdings of that asset
};

class World {
 public:
  World(const ScenarioPlan& plan, std::uint64_t path);

  // Runs the whole path. series: [series metric][sample]; outcomes: [outcome metric].
  void run(std::span<double> series, std::span<double> outcomes);

  // Step by step, for tests.
  void start();       // block 0
  void step();        // the next block
  core::BlockNumber block() const { return block_; }
  std::span<const double> reference_prices() const { return reference_prices_; }
  std::span<const markets::Market> markets() const { return markets_; }
  const Ledger& ledger() const { return ledger_; }
  ConservationReport conservation() const;
  // Throws core::InvariantViolation with the values if any asset is off by
  // more than tolerance * its gross holdings.
  void check_conservation(double tolerance) const;

  core::AgentIndex builder_account() const { return builder_account_; }
  core::AgentIndex genesis_account() const { return genesis_account_; }

 private:
  void advance_prices();
  void refill_price_chunk();
  void execute_block();
  void record(std::span<double> series, std::size_t sample);
  void finish(std::span<double> outcomes);
  agents::View& view();

  const ScenarioPlan& plan_;
  const ScenarioSpec& spec_;
  std::uint64_t path_;
  core::BlockNumber block_ = 0;

  // prices
  core::RandomStream price_random_;
  bool negate_shocks_ = false;
  core::PriceState price_state_;
  core::ShockCounts shocks_per_block_;
  std::vector<double> normals_;
  std::vector<double> uniforms_;
  std::vector<double> log_price_chunk_;  // [block in chunk][risky asset]
  std::vector<double> price_chunk_;
  std::size_t chunk_position_ = 0;
  std::size_t chunk_blocks_ = 0;
  std::vector<double> reference_prices_;

  // chain
  std::vector<markets::Market> markets_;
  Ledger ledger_;
  std::vector<std::unique_ptr<agents::Agent>> agents_;
  Mempool mempool_;
  BlockBuilder builder_;
  std::vector<core::Receipt> receipts_;
  core::AgentIndex builder_account_;
  core::AgentIndex genesis_account_;
  agents::View view_;
  SettlementContext settlement_;

  // engine-recorded metrics
  struct MarketTotals {
    double swaps = 0, volume = 0, fees = 0;
  };
  std::vector<MarketTotals> market_totals_;
  double transactions_ = 0, reverts_ = 0, dropped_ = 0, gas_paid_ = 0;
};

}  // namespace defisim::engine
