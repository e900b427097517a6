// Bitwise equality of double vectors (NaN-safe, distinguishes -0 from +0).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace defisim::test_support {

inline bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::bit_cast<std::uint64_t>(a[i]) != std::bit_cast<std::uint64_t>(b[i])) return false;
  }
  return true;
}

}  // namespace defisim::test_support
