#pragma once
// Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11, as in
// Random123).
//
//   key     = (seed, path)                      two 32-bit words
//   counter = (draw_lo, draw_hi, stream, kind)  four 32-bit words
//
// A path's numbers depend only on (seed, path, stream), never on thread count,
// rank count, batch size or scheduling. `kind` separates the uniform sequence
// of a stream from its normal sequence, so interleaving uniform() and normal()
// calls never changes either sequence.
//
// Normals come from our own Box-Muller transform over deterministic_math.hpp
// (never std::normal_distribution, never libm), so the same bits come out on
// every compiler, optimisation level and vector width. Numbers are generated
// in vectorised chunks: drawing them one at a time would dominate a block.
#include <array>
#include <cstddef>
#include <cstdint>

namespace defisim::core {

// Stream ids (counter word 2). Each agent has its own stream, so adding an
// agent never changes the price path or another agent's draws.
namespace streams {
inline constexpr std::uint32_t price = 0;
inline constexpr std::uint32_t builder = 1;
inline constexpr std::uint32_t oracle = 2;  // medianizer sources' noise
inline constexpr std::uint32_t first_agent = 1024;
constexpr std::uint32_t agent(std::uint32_t agent_index) { return first_agent + agent_index; }
}  // namespace streams

// Counter word 3.
enum class DrawKind : std::uint32_t { uniform = 0, normal = 1 };

using PhiloxCounter = std::array<std::uint32_t, 4>;
using PhiloxKey = std::array<std::uint32_t, 2>;

// One Philox4x32-10 block, bit-identical to r123::Philox4x32 (tested).
PhiloxCounter philox4x32_10(PhiloxCounter counter, PhiloxKey key);

// A uniform in the open interval (0, 1) from the top 52 bits m of two words:
// (m + 0.5) * 2^-52, an odd multiple of 2^-53 in [2^-53, 1 - 2^-53] (53 bits
// would need a 54-bit significand near 1 and could round to exactly 1.0);
// never 0 or 1, so log(u) and 1/u are always finite.
double open_unit_interval(std::uint32_t high_word, std::uint32_t low_word);

// The random sequence of one (seed, path, stream). Cheap to construct; keeps a
// fixed-size buffer, never allocates.
class RandomStream {
 public:
  // seed and path must be < 2^32 (checked by the config; asserted here).
  RandomStream(std::uint64_t seed, std::uint64_t path, std::uint32_t stream);

  // The i-th uniform of the stream, i = 0, 1, 2, ...; (0, 1).
  double uniform();
  // The i-th standard normal of the stream.
  double normal();

  // Exactly the next n values that n calls of uniform()/normal() would give,
  // generated in vectorised chunks.
  void fill_uniform(double* out, std::size_t n);
  void fill_normal(double* out, std::size_t n);

  // Random-access versions (pure functions of the stream position):
  // uniform_at(i) == the i-th value of uniform(). Used by tests and by
  // generators that skip ahead.
  double uniform_at(std::uint64_t index) const;
  double normal_at(std::uint64_t index) const;

 private:
  static constexpr std::size_t buffer_size = 256;
  void refill_uniform();
  void refill_normal();

  PhiloxKey key_;
  std::uint32_t stream_;
  // Stream index of the first value the next refill (or direct fill) makes;
  // always even (a Philox block boundary). The buffer holds the values
  // [next_*_index_ - buffer_size, next_*_index_); *_position_ is the first
  // unused one, so the next value is next_*_index_ - buffer_size + *_position_.
  std::uint64_t next_uniform_index_ = 0;
  std::uint64_t next_normal_index_ = 0;
  std::size_t uniform_position_ = buffer_size;  // buffer empty
  std::size_t normal_position_ = buffer_size;
  alignas(64) std::array<double, buffer_size> uniform_buffer_{};
  alignas(64) std::array<double, buffer_size> normal_buffer_{};
};

// Poisson(mean) by inversion of one uniform; exact for the small means of
// per-block arrivals (the loop runs about mean + 1 times). mean >= 0.
std::uint32_t poisson_from_uniform(double mean, double uniform);

}  // namespace defisim::core
