#include "framework/engine/block_builder.hpp"

#include <numeric>

namespace defisim::engine {

// Reserved, not sized: a path's World is built for every path, and most
// blocks see no transaction, so nothing is constructed until submitted.
Mempool::Mempool(std::uint32_t capacity) : capacity_(capacity) {
  pending_.reserve(capacity);
  dropped_.reserve(capacity);
}

bool Mempool::submit(const core::Transaction& transaction) {
  if (pending_.size() == capacity_) {
    // Remember (up to capacity) what was dropped so its sender hears of it.
    if (dropped_.size() < capacity_) dropped_.push_back(transaction);
    return false;
  }
  pending_.push_back(transaction);
  pending_.back().sequence = static_cast<std::uint32_t>(pending_.size() - 1);
  return true;
}

void Mempool::clear() {
  pending_.clear();
  dropped_.clear();
}

BlockBuilder::BlockBuilder(Ordering ordering, std::uint32_t capacity, std::uint64_t seed, std::uint64_t path)
    : ordering_(ordering), random_(seed, path, core::streams::builder), order_(capacity) {}

std::span<const std::uint32_t> BlockBuilder::order(std::span<const core::Transaction> pending) {
  const std::size_t n = pending.size();
  std::iota(order_.begin(), order_.begin() + static_cast<std::ptrdiff_t>(n), 0u);
  if (n < 2) return {order_.data(), n};
  switch (ordering_) {
    case Ordering::fifo: break;
    case Ordering::random:
      // Fisher-Yates, one builder-stream uniform per swap.
      for (std::size_t i = n - 1; i > 0; --i) {
        const auto j = static_cast<std::size_t>(random_.uniform() * static_cast<double>(i + 1));
        std::swap(order_[i], order_[j < i ? j : i]);
      }
      break;
    case Ordering::priority_fee:
      // Stable insertion sort, descending fee: blocks hold few transactions.
      for (std::size_t i = 1; i < n; ++i) {
        const std::uint32_t moving = order_[i];
        std::size_t j = i;
        while (j > 0 && pending[order_[j - 1]].priority_fee_gwei < pending[moving].priority_fee_gwei) {
          order_[j] = order_[j - 1];
          --j;
        }
        order_[j] = moving;
      }
      break;
  }
  return {order_.data(), n};
}

}  // namespace defisim::engine
