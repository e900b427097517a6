#include "framework/engine/block_builder.hpp"

#include <algorithm>
#include <numeric>

namespace defisim::engine {

// Reserved, not sized: a path's World is built for every path, and most
// blocks see no transaction, so nothing is constructed until submitted.
Mempool::Mempool(std::uint32_t capacity) : capacity_(capacity), limit_(capacity) {
  pending_.reserve(capacity);
  public_.reserve(capacity);
  dropped_.reserve(capacity);
}

void Mempool::set_limit(std::uint32_t limit) { limit_ = std::min<std::size_t>(limit, capacity_); }

bool Mempool::submit(const core::Transaction& transaction) {
  if (pending_.size() == limit_) {
    // Remember (up to capacity) what was dropped so its sender hears of it.
    if (dropped_.size() < limit_) dropped_.push_back(transaction);
    return false;
  }
  pending_.push_back(transaction);
  pending_.back().sequence = static_cast<std::uint32_t>(pending_.size() - 1);
  if (!transaction.private_channel) public_.push_back(pending_.back());
  return true;
}

void Mempool::clear() {
  pending_.clear();
  public_.clear();
  dropped_.clear();
}

// The per-target bundle tables exist only under `mev`: every path builds a
// builder, and most orderings never need them.
BlockBuilder::BlockBuilder(Ordering ordering, std::uint32_t capacity, std::uint64_t seed, std::uint64_t path)
    : ordering_(ordering), random_(seed, path, core::streams::builder), order_(capacity), slots_(capacity) {
  if (ordering_ != Ordering::mev) return;
  excluded_.resize(capacity);
  winner_sender_.assign(capacity, core::no_agent);
  winner_bid_.assign(capacity, 0.0);
  front_of_target_.assign(capacity, BlockSlot::none);
  back_of_target_.assign(capacity, BlockSlot::none);
  bundle_transactions_.reserve(capacity);
}

void BlockBuilder::plan(std::span<const core::Transaction> pending) {
  slot_count_ = 0;
  excluded_count_ = 0;
  order_by_arrival_then_policy(pending);
  if (ordering_ == Ordering::mev) {
    place_bundles(pending);
    return;
  }
  for (std::size_t i = 0; i < pending.size(); ++i) slots_[slot_count_++] = {order_[i]};
}

void BlockBuilder::order_by_arrival_then_policy(std::span<const core::Transaction> pending) {
  const std::size_t n = pending.size();
  std::iota(order_.begin(), order_.begin() + static_cast<std::ptrdiff_t>(n), 0u);
  if (n < 2) return;
  switch (ordering_) {
    case Ordering::fifo:
    case Ordering::private_: break;
    case Ordering::random:
      // Fisher-Yates, one builder-stream uniform per swap.
      for (std::size_t i = n - 1; i > 0; --i) {
        const auto j = static_cast<std::size_t>(random_.uniform() * static_cast<double>(i + 1));
        std::swap(order_[i], order_[j < i ? j : i]);
      }
      break;
    case Ordering::priority_fee:
    case Ordering::mev:
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
}

void BlockBuilder::place_bundles(std::span<const core::Transaction> pending) {
  using core::BundleRole;
  using core::RevertReason;
  const auto n = static_cast<std::uint32_t>(pending.size());
  auto is_ordinary = [&](std::uint32_t i) { return pending[i].bundle_role == BundleRole::none; };
  // Bundle transactions in arrival order, the malformed ones excluded. Few
  // per block, so the pairwise scans below stay cheap.
  bundle_transactions_.clear();
  for (std::uint32_t i = 0; i < n; ++i) {
    if (is_ordinary(i)) continue;
    const core::Transaction& transaction = pending[i];
    bool valid = transaction.bundle_target < n && is_ordinary(transaction.bundle_target);
    for (const std::uint32_t earlier : bundle_transactions_) {
      const core::Transaction& other = pending[earlier];
      if (other.sender == transaction.sender && other.bundle_target == transaction.bundle_target &&
          other.bundle_role == transaction.bundle_role) {
        valid = false;  // one front-run and one back-run per sender and target
      }
    }
    if (!valid) {
      exclude(i, RevertReason::unsupported);
      continue;
    }
    bundle_transactions_.push_back(i);
  }
  // A bundle's bid: its front-run's bribe, or its back-run's if it has no front-run.
  auto bid_of = [&](std::uint32_t i) {
    const core::Transaction& transaction = pending[i];
    if (transaction.bundle_role == BundleRole::back_run) {
      for (const std::uint32_t other : bundle_transactions_) {
        if (pending[other].sender == transaction.sender && pending[other].bundle_target == transaction.bundle_target &&
            pending[other].bundle_role == BundleRole::front_run) {
          return pending[other].bribe_native;
        }
      }
    }
    return transaction.bribe_native;
  };
  for (const std::uint32_t i : bundle_transactions_) {
    const std::uint32_t target = pending[i].bundle_target;
    winner_sender_[target] = core::no_agent;
    front_of_target_[target] = BlockSlot::none;
    back_of_target_[target] = BlockSlot::none;
  }
  for (const std::uint32_t i : bundle_transactions_) {
    const std::uint32_t target = pending[i].bundle_target;
    const double bid = bid_of(i);
    // Strictly greater: on a tie the bundle seen first (arrived first) keeps it.
    if (winner_sender_[target] == core::no_agent || bid > winner_bid_[target]) {
      winner_sender_[target] = pending[i].sender;
      winner_bid_[target] = bid;
    }
  }
  for (const std::uint32_t i : bundle_transactions_) {
    const core::Transaction& transaction = pending[i];
    if (transaction.sender != winner_sender_[transaction.bundle_target]) {
      exclude(i, RevertReason::outbid);
    } else if (transaction.bundle_role == BundleRole::front_run) {
      front_of_target_[transaction.bundle_target] = i;
    } else {
      back_of_target_[transaction.bundle_target] = i;
    }
  }
  const bool any_bundle = !bundle_transactions_.empty();
  for (std::uint32_t k = 0; k < n; ++k) {
    const std::uint32_t i = order_[k];
    if (!is_ordinary(i)) continue;
    BlockSlot slot{i};
    if (any_bundle && winner_sender_[i] != core::no_agent) {
      slot.front_run = front_of_target_[i];
      slot.back_run = back_of_target_[i];
    }
    slots_[slot_count_++] = slot;
  }
  // Reset the per-target winners for the next block.
  for (const std::uint32_t i : bundle_transactions_) winner_sender_[pending[i].bundle_target] = core::no_agent;
}

}  // namespace defisim::engine
