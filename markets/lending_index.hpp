#pragma once
// The storage behind Lending::positions_below (markets/README.md, "lending",
// "The liquidation index"): for positions with one collateral and one debt
// asset, entries keyed by the time-invariant ratio
//   key = scaled debt / (scaled collateral x liquidation threshold)
// sorted per (collateral slot, debt slot) pair by key descending (ascending
// health factor), plus a buffer of recently written entries, kept in the
// same order (sorted lazily, when a query needs it), so a query stops early
// in both and costs O(pairs x log buffer + entries found), whatever the
// number of healthy positions or of changes waiting to be merged.
//
// Entries are never updated in place: a position that changes gets a new
// version and a new entry in the buffer; its older entries are stale (their
// version is not the position's) and are dropped lazily when the buffer is
// merged into the sorted part. Everything is reserved up front: inserting
// and merging never allocate (std::sort and std::remove_if work in place).
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "markets/reserved_vector.hpp"

namespace defisim::markets::lending_detail {

using markets::ReservedVector;

struct IndexEntry {
  double key = 0.0;             // scaled debt / (scaled collateral x liquidation threshold)
  std::uint32_t position = 0;
  std::uint32_t version = 0;    // the position's version when written; stale once it differs
  std::uint16_t pair = 0;       // collateral slot x pair_stride + debt slot
};

class PositionIndex {
 public:
  static constexpr std::size_t pair_stride = 8;  // >= max_lending_assets
  static constexpr std::size_t pair_count = pair_stride * pair_stride;

  // Buffer capacity for a market of max_positions: about 4 sqrt(N), so a
  // merge (O(N)) happens every ~4 sqrt(N) changes, O(sqrt N) amortised per
  // change, while a query scans at most that many buffered entries.
  static std::size_t buffer_capacity_for(std::size_t max_positions);

  PositionIndex() = default;
  explicit PositionIndex(std::size_t max_positions);

  // Adds an entry; when the buffer is full, merges it into the sorted part
  // first, dropping entries whose version is no longer versions[position].
  void insert(const IndexEntry& entry, std::span<const std::uint32_t> versions);

  // The sorted entries of one pair (key descending), stale ones included.
  std::span<const IndexEntry> sorted(std::size_t pair) const;
  // Entries of one pair written since the last merge (key descending),
  // stale ones included. Sorts what was inserted since the last call: a
  // cache, so const (a market is used by one thread at a time).
  std::span<const IndexEntry> buffered(std::size_t pair) const;

 private:
  void merge(std::span<const std::uint32_t> versions);
  // Sorts the buffer's unsorted tail into its sorted head (no allocation).
  void sort_buffer() const;

  ReservedVector<IndexEntry> sorted_;  // by pair ascending, then key descending; capacity max_positions
  // buffer_[0, buffer_sorted_) is sorted like sorted_; the rest is in insertion order.
  mutable ReservedVector<IndexEntry> buffer_;  // capacity buffer_capacity_
  mutable ReservedVector<IndexEntry> scratch_;  // capacity buffer_capacity_: the tail while merging
  mutable std::size_t buffer_sorted_ = 0;
  std::array<std::uint32_t, pair_count + 1> pair_begin_{};  // sorted_[pair_begin_[p], pair_begin_[p+1]) is pair p
  std::size_t buffer_capacity_ = 0;
};

}  // namespace defisim::markets::lending_detail
