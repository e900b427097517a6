#include "markets/lending_index.hpp"

#include <algorithm>
#include <cmath>

namespace defisim::markets::lending_detail {

namespace {

// The sorted part's order: pair ascending, key descending (lowest health
// factor first), then position and version, so the order is total and the
// result of a merge never depends on std::sort's (unstable) tie handling.
bool comes_before(const IndexEntry& a, const IndexEntry& b) {
  if (a.pair != b.pair) return a.pair < b.pair;
  if (a.key != b.key) return a.key > b.key;
  if (a.position != b.position) return a.position < b.position;
  return a.version < b.version;
}

}  // namespace

std::size_t PositionIndex::buffer_capacity_for(std::size_t max_positions) {
  const auto scaled = static_cast<std::size_t>(4.0 * std::sqrt(static_cast<double>(max_positions)));
  return std::max<std::size_t>(64, scaled);
}

PositionIndex::PositionIndex(std::size_t max_positions) : buffer_capacity_(buffer_capacity_for(max_positions)) {
  // A position has at most one current entry, so after stale entries are
  // dropped the sorted part plus the buffer never hold more than the
  // positions opened: max_positions is enough for the merged result.
  sorted_.reserve(max_positions);
  buffer_.reserve(buffer_capacity_);
  scratch_.reserve(buffer_capacity_);
}

void PositionIndex::insert(const IndexEntry& entry, std::span<const std::uint32_t> versions) {
  buffer_.push_back(entry);
  if (buffer_.size() >= buffer_capacity_) merge(versions);
}

std::span<const IndexEntry> PositionIndex::sorted(std::size_t pair) const {
  return {sorted_.data() + pair_begin_[pair], sorted_.data() + pair_begin_[pair + 1]};
}

void PositionIndex::sort_buffer() const {
  if (buffer_sorted_ == buffer_.size()) return;
  // Sort the tail in place, then merge it with the head from the back
  // (the tail moves to scratch_ first): O(buffer) moves, no allocation.
  const auto head_end = buffer_.begin() + static_cast<std::ptrdiff_t>(buffer_sorted_);
  std::sort(head_end, buffer_.end(), comes_before);
  scratch_.assign(head_end, buffer_.end());
  std::size_t from_head = buffer_sorted_;
  std::size_t from_tail = scratch_.size();
  std::size_t write = buffer_.size();
  while (from_tail > 0) {
    if (from_head > 0 && comes_before(scratch_[from_tail - 1], buffer_[from_head - 1])) {
      buffer_[--write] = buffer_[--from_head];
    } else {
      buffer_[--write] = scratch_[--from_tail];
    }
  }
  buffer_sorted_ = buffer_.size();
}

std::span<const IndexEntry> PositionIndex::buffered(std::size_t pair) const {
  sort_buffer();
  const auto pair_of = [](const IndexEntry& entry, std::size_t value) { return entry.pair < value; };
  const auto first = std::lower_bound(buffer_.begin(), buffer_.end(), pair, pair_of);
  const auto last = std::lower_bound(first, buffer_.end(), pair + 1, pair_of);
  return {buffer_.data() + (first - buffer_.begin()), static_cast<std::size_t>(last - first)};
}

void PositionIndex::merge(std::span<const std::uint32_t> versions) {
  const auto stale = [versions](const IndexEntry& entry) { return versions[entry.position] != entry.version; };
  sort_buffer();
  // remove_if keeps the order of what it keeps: both parts stay sorted.
  buffer_.erase(std::remove_if(buffer_.begin(), buffer_.end(), stale), buffer_.end());
  // remove_if keeps the order of what it keeps: the sorted part stays sorted.
  sorted_.erase(std::remove_if(sorted_.begin(), sorted_.end(), stale), sorted_.end());
  // Merge from the back into the space after the sorted part (within the
  // reserved capacity: no allocation, no scratch buffer).
  const std::size_t kept = sorted_.size();
  std::size_t from_sorted = kept;
  std::size_t from_buffer = buffer_.size();
  sorted_.resize(kept + buffer_.size());
  std::size_t write = sorted_.size();
  while (from_buffer > 0) {
    if (from_sorted > 0 && comes_before(buffer_[from_buffer - 1], sorted_[from_sorted - 1])) {
      sorted_[--write] = sorted_[--from_sorted];
    } else {
      sorted_[--write] = buffer_[--from_buffer];
    }
  }
  buffer_.clear();
  buffer_sorted_ = 0;
  pair_begin_.fill(0);
  for (const IndexEntry& entry : sorted_) ++pair_begin_[entry.pair + 1];
  for (std::size_t pair = 0; pair < pair_count; ++pair) pair_begin_[pair + 1] += pair_begin_[pair];
}

}  // namespace defisim::markets::lending_detail
