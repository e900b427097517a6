#pragma once
// The mempool of one block and the builder's ordering policy.
//
//   fifo          arrival order (agents act in config order)
//   random        a uniformly random permutation from the builder's stream
//   priority_fee  highest priority fee first; ties keep arrival order
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
  bool submit(const core::Transaction& transaction) override;
  void clear();
  std::span<const core::Transaction> pending() const { return pending_; }
  std::span<const core::Transaction> dropped() const { return dropped_; }

 private:
  std::size_t capacity_;
  std::vector<core::Transaction> pending_;  // capacity reserved: no allocation per block
  std::vector<core::Transaction> dropped_;
};

class BlockBuilder {
 public:
  BlockBuilder(Ordering ordering, std::uint32_t capacity, std::uint64_t seed, std::uint64_t path);
  // The execution order: indices into `pending`.
  std::span<const std::uint32_t> order(std::span<const core::Transaction> pending);

 private:
  Ordering ordering_;
  core::RandomStream random_;
  std::vector<std::uint32_t> order_;
};

}  // namespace defisim::engine
