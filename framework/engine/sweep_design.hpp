#pragma once
// Space-filling sweep designs over named ranges (config: sweep.latin_hypercube,
// sweep.sobol). Pure functions of their arguments: a design is reproducible
// from (points, dimensions, seed) on every machine (Philox for the Latin
// hypercube's randomness, integer arithmetic for Sobol, deterministic_math for
// log scales; no std:: distributions, no libm).
//
// A design is points x dimensions numbers u in [0, 1); map_to_range turns one
// into a value of its range.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace defisim::engine::sweep_design {

// Row-major: u[point * dimensions + dimension].
struct UnitDesign {
  std::size_t points = 0;
  std::size_t dimensions = 0;
  std::vector<double> u;
  double at(std::size_t point, std::size_t dimension) const { return u[point * dimensions + dimension]; }
};

// Dimensions the Sobol table holds (Joe & Kuo new-joe-kuo-6.21201, d = 1..32).
inline constexpr std::size_t sobol_max_dimensions = 32;

// The first `points` points of the unscrambled Sobol sequence in Gray-code
// order (Joe & Kuo's sobol.cc / Antonov-Saleev), point 0 being the origin:
// dimension 1 is the van der Corput sequence 0, 0.5, 0.75, 0.25, 0.375, ...
// Values are multiples of 2^-32 in [0, 1). The first 2^k points put exactly
// one point in each of the 2^k equal intervals of every dimension.
// dimensions in [1, sobol_max_dimensions], points <= 2^32.
UnitDesign sobol(std::size_t points, std::size_t dimensions);

// A Latin hypercube: in each dimension j, scenario i falls in stratum
// pi_j(i) of the `points` equal strata [k/n, (k+1)/n), pi_j a random
// permutation, at a uniform position inside it (or its midpoint when
// `centered`). The permutation of dimension j comes from the Philox stream
// (seed, path = j, stream = lhs_permutation_stream) by Fisher-Yates; the
// positions from (seed, j, lhs_position_stream), so `centered` keeps the
// permutations. seed < 2^32.
UnitDesign latin_hypercube(std::size_t points, std::size_t dimensions, std::uint64_t seed, bool centered);

// Philox stream ids of the Latin hypercube's numbers (counter word 2): apart
// from the simulation's (framework/core/rng.hpp: 0-2 and 1024 + agent).
inline constexpr std::uint32_t lhs_permutation_stream = 0xD0000000u;
inline constexpr std::uint32_t lhs_position_stream = 0xD0000001u;

struct Range {
  double low = 0.0;
  double high = 1.0;
  bool log_scale = false;  // u is uniform in log(value); low > 0
  bool integer = false;    // low and high integers
};

// The value of u in [0, 1) on `range`:
//   linear: low + u (high - low); log: exp(log low + u (log high - log low)),
//   u = 0 gives low exactly, and the value is kept in [low, high];
//   integer: the integer part of the same map onto [low, high + 1), so every
//   integer low, ..., high gets an equal share of [0, 1) (of log [low, high + 1)
//   on a log scale); at most high.
double map_to_range(double u, const Range& range);

// A value as YAML text that reads back as exactly the same double: the
// shortest round-trip representation ("0.0012", "1e-05"), or an integer.
std::string value_text(double value, bool integer);

}  // namespace defisim::engine::sweep_design
