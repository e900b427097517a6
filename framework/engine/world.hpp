#pragma once
// One Monte Carlo path: a deterministic replay of a chain for `blocks` blocks.
//
// Block 0: agents' start() transactions execute (deposits); no price step.
// Blocks 1..blocks, each:
//   1. exogenous step: the price process advances the reference prices
//   2. oracles update (what protocols read; framework/core/oracle.hpp), and
//      the gas price (framework/core/gas_price.hpp)
//   3. lazy accrual: each twamm executes its virtual orders up to the block;
//      lending markets reset stale auctions (their interest accrues lazily
//      when touched, and reads project it to the block's time)
//   4. agents act in config order, those that watch the mempool (searchers)
//      last, submitting to the mempool; an agent that declared itself idle
//      (agents/wake.hpp) is skipped until its wake condition holds
//   5. the builder orders the block (bundles around their targets under
//      mev) and the engine executes it; receipts go back to the senders in
//      execution order
//   6. record: series every record.every blocks; outcomes after the last block
//
// Accounts: 0..A-1 are the agents, A is the block builder (receives gas and bids), A+1
// owns the markets' initial liquidity.
#include <array>
#include <cmath>
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

  // How much idle-agent skipping saved (agents/wake.hpp): blocks advanced by
  // skip_quiet_blocks, and act() calls not made in blocks that were stepped.
  struct IdleStatistics {
    std::uint64_t quiet_blocks = 0;
    std::uint64_t skipped_act_calls = 0;
  };
  const IdleStatistics& idle_statistics() const { return idle_statistics_; }

  core::AgentIndex builder_account() const { return builder_account_; }
  core::AgentIndex genesis_account() const { return genesis_account_; }

 private:
  void advance_prices();
  void refill_price_chunk();
  // reference_prices_ from the log prices of a block of the current chunk.
  void publish_prices(std::size_t chunk_block);
  void execute_block();
  // Executes one transaction next in the block; its receipt (not yet accounted for).
  core::Receipt& execute_next(const core::Transaction& transaction);
  // A swap that executed behind a front-run, and what it would have received
  // without it: marks its receipt and adds to chain.victim_loss.
  void record_victim(core::Receipt& receipt, double amount_out_unattacked);
  // Executes one transaction where it stands in the block and accounts for it.
  void execute_alone(const core::Transaction& transaction);
  // A bundle and its target, atomically: true if all of it executed; false
  // (state restored, the bundle's transactions excluded) if any would revert.
  bool execute_bundle(std::span<const core::Transaction> pending, const BlockSlot& slot);
  // A back-run that sells its front-run's output, resolved against this block's receipts.
  core::Transaction resolve_back_run(const core::Transaction& transaction) const;
  void account(const core::Receipt& receipt);
  void exclude(const core::Transaction& transaction, core::RevertReason reason);
  std::span<const core::Transaction> public_mempool() const;
  void update_oracles();
  void update_gas_price();
  void accrue_markets();
  // Some market changes by itself between blocks (see markets::moves_between_blocks,
  // and lending auctions): no block may be skipped.
  bool markets_move_between_blocks() const;
  void record_lending(const markets::Lending& lending, std::size_t market, std::span<double> series, std::size_t sample);
  void finish_lending(const markets::Lending& lending, std::size_t market, std::span<double> outcomes);
  // Perpetual pools (world_perp.cpp).
  void build_perp_market(std::size_t market);
  void settle_perp_funding();  // phase 3: a vamm's funding once it is due
  void account_perp(const core::Receipt& receipt);
  void track_perp_markets();  // after every block: drawdown, open interest, skew
  struct PerpMark {
    double value = 0.0;        // the LPs' claim (gmx AUM, gtrade marked vault, vamm fund), numeraire
    double share_price = 0.0;  // per LP share (vamm: per unit of the initial fund)
    markets::PerpPoolPnl pnl;  // since genesis, numeraire
    double long_open_interest = 0.0, short_open_interest = 0.0;  // notional at entry, numeraire
  };
  PerpMark mark_perp(core::MarketIndex market);
  void record_perp(core::MarketIndex market, std::span<double> series, std::size_t sample);
  void finish_perp(core::MarketIndex market, std::span<double> outcomes);
  // At reference prices: a pool's reserves; everything a market holds.
  double pool_value(const markets::Cpmm& pool) const;
  double market_value(const markets::Market& market) const;
  void record(std::span<double> series, std::size_t sample);
  void finish(std::span<double> outcomes);
  agents::View& view();
  // An idle agent and what it was waiting for.
  struct IdleAgent {
    bool idle = false;
    agents::WakeConditions wake;
    std::array<std::uint64_t, agents::WakeConditions::max_watched_markets> market_versions{};
    // Each price band in log space, drawn inside it (see skip_quiet_blocks).
    std::array<double, agents::WakeConditions::max_price_bands> log_low{}, log_high{};
  };
  void fall_asleep(IdleAgent& agent);
  bool should_wake(const IdleAgent& agent) const;
  // Advances over blocks in which every agent stays idle, at most to block
  // `last`; see the comment in world.cpp.
  void skip_quiet_blocks(core::BlockNumber last);

  const ScenarioPlan& plan_;
  const ScenarioSpec& spec_;
  std::uint64_t path_;
  core::BlockNumber block_ = 0;

  // prices
  core::RandomStream price_random_;
  bool negate_shocks_ = false;
  double log_likelihood_ratio_ = 0.0;  // importance sampling: log dP/dQ of the shocks drawn so far
  core::PriceState price_state_;
  core::ShockCounts shocks_per_block_;
  std::vector<double> normals_;
  std::vector<double> uniforms_;
  std::vector<double> log_price_chunk_;  // [block in chunk][risky asset]
  std::size_t chunk_position_ = 0;
  std::size_t chunk_blocks_ = 0;
  std::vector<double> reference_prices_;
  // What protocols read, per asset: the reference itself unless an oracle
  // is configured (then oracle_prices_, updated in phase 2).
  std::span<const double> protocol_prices_;
  std::vector<double> oracle_prices_;
  std::vector<core::Oracle> oracles_;           // configured (non-reference) oracles
  std::vector<core::AssetIndex> oracle_assets_;  // and their assets
  core::RandomStream oracle_random_;
  std::vector<double> oracle_normals_;
  core::GasPriceState gas_state_;
  double peak_gas_price_gwei_ = 0.0;
  // Agents may fall asleep (agents/wake.hpp) only while the gas price is
  // constant: their wake conditions assume it.
  bool idle_allowed_ = true;

  // chain
  std::vector<markets::Market> markets_;
  std::vector<core::MarketIndex> twamm_markets_;  // phase 3 brings these up to date
  std::vector<core::MarketIndex> lending_markets_;
  std::vector<markets::PositionId> position_scratch_;  // lending queries at record time
  Ledger ledger_;
  std::vector<std::unique_ptr<agents::Agent>> agents_;
  // Agents in the order they act: those that read the public mempool last,
  // so they see all of it (config order otherwise).
  std::vector<std::size_t> act_order_;
  Mempool mempool_;
  BlockBuilder builder_;
  std::vector<core::Receipt> receipts_;
  // Front-runs executed as ordinary transactions (priority_fee, random) in
  // this block, with the pool they found, to measure their targets' loss.
  struct FrontRun {
    std::uint32_t target = 0;  // the target's sequence
    core::MarketIndex market = 0;
    markets::Cpmm pool_before;
    bool executed = false;
  };
  std::vector<FrontRun> front_runs_;
  // Undo buffer for a bundle the builder must drop after trying it (the
  // pool it touched is saved on the stack).
  Ledger ledger_before_bundle_;
  core::AgentIndex builder_account_;
  core::AgentIndex genesis_account_;
  agents::View view_;
  SettlementContext settlement_;
  std::vector<IdleAgent> idle_agents_;
  std::size_t awake_agents_ = 0;
  IdleStatistics idle_statistics_;
  std::vector<int> risky_index_;  // per asset: its component of the price state, or -1
  // Bumped by every successful transaction on a market: what idle agents watch.
  std::vector<std::uint64_t> market_versions_;

  // engine-recorded metrics
  struct MarketTotals {
    double swaps = 0, volume = 0, fees = 0;
    double orders_placed = 0, virtual_volume = 0;  // twamm
    // lending; numeraire at reference prices unless a count
    double liquidations = 0, liquidation_volume = 0, collateral_seized_value = 0, bad_debt = 0;
    double auctions_started = 0, auction_takes = 0, auctions_closed_stale = 0;
  };
  std::vector<MarketTotals> market_totals_;
  std::vector<core::MarketIndex> perp_markets_;
  struct PerpTotals {  // numeraire unless a count or a fraction
    double peak_share_price = 0.0, max_drawdown = 0.0, min_pool_value = INFINITY;
    double funding_to_pool = 0.0, position_fees = 0.0;
    double positions_opened = 0.0, notional_opened = 0.0, positions_closed = 0.0, liquidations = 0.0, bad_debt = 0.0;
    double peak_open_interest = 0.0, skew_sum = 0.0, skew_blocks = 0.0;
  };
  std::vector<PerpTotals> perp_totals_;  // by market (used for perpetual pools)
  double transactions_ = 0, reverts_ = 0, dropped_ = 0, gas_paid_ = 0;
  double bundles_ = 0, bribes_ = 0, victim_loss_ = 0;  // numeraire for the last two
};

}  // namespace defisim::engine
