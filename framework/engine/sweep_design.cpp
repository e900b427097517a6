#include "framework/engine/sweep_design.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <numeric>

#include "framework/core/deterministic_math.hpp"
#include "framework/core/rng.hpp"

namespace defisim::engine::sweep_design {

namespace {

// Primitive polynomials and initial direction numbers of Sobol dimensions
// 2..32, from S. Joe and F. Y. Kuo, "Constructing Sobol sequences with better
// two-dimensional projections", SIAM J. Sci. Comput. 30, 2635-2654 (2008):
// the file new-joe-kuo-6.21201 at https://web.maths.unsw.edu.au/~fkuo/sobol/
// (columns d, s, a, m_i; published data, copied line for line). Dimension 1
// has all m_i = 1 and is not in the file.
struct SobolDimension {
  unsigned d;  // dimension, 2..32
  unsigned s;  // degree of the primitive polynomial
  unsigned a;  // its interior coefficients, as bits
  std::array<std::uint32_t, 7> m;  // m_1..m_s
};

constexpr SobolDimension joe_kuo[] = {
    {2, 1, 0, {1}},
    {3, 2, 1, {1, 3}},
    {4, 3, 1, {1, 3, 1}},
    {5, 3, 2, {1, 1, 1}},
    {6, 4, 1, {1, 1, 3, 3}},
    {7, 4, 4, {1, 3, 5, 13}},
    {8, 5, 2, {1, 1, 5, 5, 17}},
    {9, 5, 4, {1, 1, 5, 5, 5}},
    {10, 5, 7, {1, 1, 7, 11, 19}},
    {11, 5, 11, {1, 1, 5, 1, 1}},
    {12, 5, 13, {1, 1, 1, 3, 11}},
    {13, 5, 14, {1, 3, 5, 5, 31}},
    {14, 6, 1, {1, 3, 3, 9, 7, 49}},
    {15, 6, 13, {1, 1, 1, 15, 21, 21}},
    {16, 6, 16, {1, 3, 1, 13, 27, 49}},
    {17, 6, 19, {1, 1, 1, 15, 7, 5}},
    {18, 6, 22, {1, 3, 1, 15, 13, 25}},
    {19, 6, 25, {1, 1, 5, 5, 19, 61}},
    {20, 7, 1, {1, 3, 7, 11, 23, 15, 103}},
    {21, 7, 4, {1, 3, 7, 13, 13, 15, 69}},
    {22, 7, 7, {1, 1, 3, 13, 7, 35, 63}},
    {23, 7, 8, {1, 3, 5, 9, 1, 25, 53}},
    {24, 7, 14, {1, 3, 1, 13, 9, 35, 107}},
    {25, 7, 19, {1, 3, 1, 5, 27, 61, 31}},
    {26, 7, 21, {1, 1, 5, 11, 19, 41, 61}},
    {27, 7, 28, {1, 3, 5, 3, 3, 13, 69}},
    {28, 7, 31, {1, 1, 7, 13, 1, 19, 1}},
    {29, 7, 32, {1, 3, 7, 5, 13, 19, 59}},
    {30, 7, 37, {1, 1, 3, 9, 25, 29, 41}},
    {31, 7, 41, {1, 3, 5, 13, 23, 1, 55}},
    {32, 7, 42, {1, 3, 7, 3, 13, 59, 17}},
};
static_assert(std::size(joe_kuo) + 1 == sobol_max_dimensions);

constexpr unsigned sobol_bits = 32;

// Direction numbers V_1..V_32 of one dimension (index 0 unused), scaled by
// 2^32: V_i = m_i 2^(32-i) for i <= s, then Bratley and Fox's recurrence
//   V_i = V_{i-s} ^ (V_{i-s} >> s) ^ sum_{k=1}^{s-1} a_k V_{i-k}
// (as in Joe and Kuo's sobol.cc).
std::array<std::uint32_t, sobol_bits + 1> direction_numbers(std::size_t dimension) {
  std::array<std::uint32_t, sobol_bits + 1> v{};
  if (dimension == 0) {
    for (unsigned i = 1; i <= sobol_bits; ++i) v[i] = std::uint32_t{1} << (sobol_bits - i);
    return v;
  }
  const SobolDimension& p = joe_kuo[dimension - 1];
  for (unsigned i = 1; i <= sobol_bits; ++i) {
    if (i <= p.s) {
      v[i] = p.m[i - 1] << (sobol_bits - i);
      continue;
    }
    v[i] = v[i - p.s] ^ (v[i - p.s] >> p.s);
    for (unsigned k = 1; k < p.s; ++k) {
      if ((p.a >> (p.s - 1 - k)) & 1u) v[i] ^= v[i - k];
    }
  }
  return v;
}

}  // namespace

UnitDesign sobol(std::size_t points, std::size_t dimensions) {
  assert(dimensions >= 1 && dimensions <= sobol_max_dimensions);
  assert(points <= (std::size_t{1} << 32));
  UnitDesign design{points, dimensions, std::vector<double>(points * dimensions, 0.0)};
  constexpr double scale = 1.0 / 4294967296.0;  // 2^-32
  for (std::size_t j = 0; j < dimensions; ++j) {
    const auto v = direction_numbers(j);
    std::uint32_t x = 0;  // point 0: the origin
    for (std::size_t i = 1; i < points; ++i) {
      // Gray-code order: X_i = X_{i-1} ^ V_c, c = 1 + the number of trailing
      // one bits of i - 1 (the position of its lowest zero bit).
      std::size_t c = 1;
      for (std::size_t rest = i - 1; rest & 1u; rest >>= 1) ++c;
      x ^= v[c];
      design.u[i * dimensions + j] = static_cast<double>(x) * scale;
    }
  }
  return design;
}

UnitDesign latin_hypercube(std::size_t points, std::size_t dimensions, std::uint64_t seed, bool centered) {
  assert(seed <= 0xFFFFFFFFull);
  UnitDesign design{points, dimensions, std::vector<double>(points * dimensions, 0.0)};
  const double n = static_cast<double>(points);
  std::vector<std::size_t> stratum(points);
  for (std::size_t j = 0; j < dimensions; ++j) {
    // Fisher-Yates: swap element i with a uniform k in [0, i], from the top.
    std::iota(stratum.begin(), stratum.end(), std::size_t{0});
    core::RandomStream shuffle(seed, j, lhs_permutation_stream);
    for (std::size_t i = points; i-- > 1;) {
      const double draw = shuffle.uniform();  // (0, 1)
      const std::size_t k = std::min(static_cast<std::size_t>(draw * static_cast<double>(i + 1)), i);
      std::swap(stratum[i], stratum[k]);
    }
    core::RandomStream position(seed, j, lhs_position_stream);
    for (std::size_t i = 0; i < points; ++i) {
      const double s = static_cast<double>(stratum[i]);
      double u = (s + (centered ? 0.5 : position.uniform())) / n;
      // Rounding must not carry u out of its stratum [s/n, (s+1)/n).
      while (u * n >= s + 1.0) u = std::nextafter(u, 0.0);
      while (u * n < s) u = std::nextafter(u, 1.0);
      design.u[i * dimensions + j] = u;
    }
  }
  return design;
}

double map_to_range(double u, const Range& range) {
  const double top = range.integer ? range.high + 1.0 : range.high;
  double value = range.low;
  if (u > 0.0) {
    if (range.log_scale) {
      const double log_low = core::log_det(range.low);
      value = core::exp_det(log_low + u * (core::log_det(top) - log_low));
    } else {
      value = range.low + u * (top - range.low);
    }
  }
  value = std::clamp(value, range.low, top);
  if (range.integer) value = std::min(std::floor(value), range.high);
  return value;
}

std::string value_text(double value, bool integer) {
  if (integer) return fmt::format("{}", static_cast<std::int64_t>(value));
  return fmt::format("{}", value);
}

}  // namespace defisim::engine::sweep_design
