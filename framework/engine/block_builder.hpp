#pragma once
// The mempool of one block and the builder's ordering policy.
//
//   fifo          arrival order (agents act in config order, searchers last)
//   random        a uniformly random permutation from the builder's stream
//   priority_fee  highest priority fee first; ties keep arrival order
//   mev           priority_fee, plus searcher bundles around their targets
//   private       arrival order; the View's mempool is empty (World)
//
// Fixed capacity, no allocation per block.
#include <cstdint>
#include <span>
#include <vector>

#include "agents/view.hpp"
#include "framework/core/rng.hpp"
#include "framework/core/transaction.hpp"
#include "framework/engine/experiment_spec.hpp"

namespace defisim::engine {

class Mempool final : public agents::TransactionSink {
 public:
  explicit Mempool(std::uint32_t capacity);
  // Transactions accepted per block from now on, at most the capacity (block
  // 0 may take more than later blocks: a borrower population opening its
  // positions).
  void set_limit(std::uint32_t limit);
  bool submit(const core::Transaction& transaction) override;
  void clear();
  std::span<const core::Transaction> pending() const { return pending_; }
  // What other agents may read: pending transactions not sent privately,
  // in arrival order, each with its `sequence` in pending().
  std::span<const core::Transaction> public_pending() const { return public_; }
  std::span<const core::Transaction> dropped() const { return dropped_; }

 private:
  std::size_t capacity_;
  std::size_t limit_;
  std::vector<core::Transaction> pending_;  // capacity reserved: no allocation per block
  std::vector<core::Transaction> public_;
  std::vector<core::Transaction> dropped_;
};

// One step of a block: a transaction, and under `mev` the winning bundle
// placed around it (front-run before, back-run after), to execute atomically.
struct BlockSlot {
  static constexpr std::uint32_t none = 0xFFFFFFFFu;
  std::uint32_t transaction = none;  // index into the pending transactions
  std::uint32_t front_run = none;
  std::uint32_t back_run = none;
  bool has_bundle() const { return front_run != none || back_run != none; }
};

// A transaction the builder leaves out, and why (not included: pays nothing).
struct Exclusion {
  std::uint32_t transaction = 0;
  core::RevertReason reason = core::RevertReason::none;
};

class BlockBuilder {
 public:
  BlockBuilder(Ordering ordering, std::uint32_t capacity, std::uint64_t seed, std::uint64_t path);
  // The block's execution plan for `pending` (valid until the next call).
  //
  // `mev`: ordinary transactions by priority fee (ties by arrival); each
  // searcher bundle (a sender's front-run and/or back-run for one target) is
  // placed around its target. Per target the highest bid wins (the bribe on
  // the bundle's front-run, or on its back-run if it has none; ties go to the
  // bundle that arrived first); the others are excluded as `outbid`. A bundle
  // transaction whose target is not an ordinary pending transaction, or a
  // sender's second front-run (back-run) for one target, is excluded as
  // `unsupported`. Other orderings ignore bundle roles.
  void plan(std::span<const core::Transaction> pending);
  std::span<const BlockSlot> slots() const { return {slots_.data(), slot_count_}; }
  std::span<const Exclusion> excluded() const { return {excluded_.data(), excluded_count_}; }

 private:
  void order_by_arrival_then_policy(std::span<const core::Transaction> pending);
  void place_bundles(std::span<const core::Transaction> pending);
  void exclude(std::uint32_t transaction, core::RevertReason reason) {
    excluded_[excluded_count_++] = {transaction, reason};
  }

  Ordering ordering_;
  core::RandomStream random_;
  std::vector<std::uint32_t> order_;  // ordinary transactions, in execution order
  std::vector<BlockSlot> slots_;
  std::size_t slot_count_ = 0;
  std::vector<Exclusion> excluded_;
  std::size_t excluded_count_ = 0;
  // Per target (pending index), the winning bundle's sender and bid, and its
  // transactions; per bundle transaction, whether it was kept.
  std::vector<core::AgentIndex> winner_sender_;
  std::vector<double> winner_bid_;
  std::vector<std::uint32_t> front_of_target_, back_of_target_;
  std::vector<std::uint32_t> bundle_transactions_;
};

}  // namespace defisim::engine
