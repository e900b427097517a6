#pragma once
// The ids of a mechanism's open positions, so keepers and metrics visit only
// those (not every position ever opened): insert and erase in O(1) by
// swap-remove; no allocation after reserve(). Iteration order is not the
// opening order once a position has closed, but it is deterministic.
#include <cstddef>
#include <cstdint>
#include <limits>

#include "markets/reserved_vector.hpp"

namespace defisim::markets {

class OpenIds {
 public:
  void reserve(std::size_t max_ids) {
    ids_.reserve(max_ids);
    slot_of_.reserve(max_ids);
  }
  std::size_t size() const { return ids_.size(); }
  bool empty() const { return ids_.empty(); }
  std::uint32_t operator[](std::size_t slot) const { return ids_[slot]; }
  const std::uint32_t* begin() const { return ids_.data(); }
  const std::uint32_t* end() const { return ids_.data() + ids_.size(); }

  // `id` must be below the reserved capacity and not present.
  void insert(std::uint32_t id) {
    if (id >= slot_of_.size()) slot_of_.resize(id + 1, absent);  // within the reserved capacity
    slot_of_[id] = static_cast<std::uint32_t>(ids_.size());
    ids_.push_back(id);
  }
  // `id` must be present.
  void erase(std::uint32_t id) {
    const std::uint32_t slot = slot_of_[id];
    const std::uint32_t last = ids_.back();
    ids_[slot] = last;
    slot_of_[last] = slot;
    ids_.pop_back();
    slot_of_[id] = absent;
  }

 private:
  static constexpr std::uint32_t absent = std::numeric_limits<std::uint32_t>::max();
  ReservedVector<std::uint32_t> ids_;
  ReservedVector<std::uint32_t> slot_of_;  // by id
};

}  // namespace defisim::markets
