#include "framework/core/rng.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstring>

#include "framework/core/deterministic_math.hpp"

namespace defisim::core {
namespace {

using u32 = std::uint32_t;
using u64 = std::uint64_t;

// Philox4x32 constants (Salmon et al., SC'11; Random123 philox.h:
// PHILOX_M4x32_0/1 and PHILOX_W32_0/1).
constexpr u32 philox_m0 = 0xD2511F53u;
constexpr u32 philox_m1 = 0xCD9E8D57u;
constexpr u32 philox_w0 = 0x9E3779B9u;  // golden ratio
constexpr u32 philox_w1 = 0xBB67AE85u;  // sqrt(3) - 1

// One Philox round on (c0, c1, c2, c3) with round key (k0, k1), as
// r123::Philox4x32's _philox4x32round:
//   (hi0, lo0) = M0 * c0, (hi1, lo1) = M1 * c2 (32x32 -> 64-bit products)
//   c' = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0).
// Plain 64-bit products of zero-extended words, so a loop over independent
// counters vectorises (vpmuludq).
[[gnu::always_inline]] inline void philox_round(u32& c0, u32& c1, u32& c2, u32& c3, u32 k0,
                                                u32 k1) {
  const u64 p0 = u64{philox_m0} * c0;
  const u64 p1 = u64{philox_m1} * c2;
  const u32 n0 = static_cast<u32>(p1 >> 32) ^ c1 ^ k0;
  const u32 n2 = static_cast<u32>(p0 >> 32) ^ c3 ^ k1;
  c1 = static_cast<u32>(p1);
  c3 = static_cast<u32>(p0);
  c0 = n0;
  c2 = n2;
}

// Philox4x32-10: ten rounds, the key bumped by the Weyl constants between
// rounds (round i uses key + i * (W0, W1)), written out so the compiler sees
// straight-line code inside vectorised loops.
[[gnu::always_inline]] inline void philox10(u32& c0, u32& c1, u32& c2, u32& c3, u32 k0,
                                            u32 k1) {
  philox_round(c0, c1, c2, c3, k0, k1);
  philox_round(c0, c1, c2, c3, k0 + 1 * philox_w0, k1 + 1 * philox_w1);
  philox_round(c0, c1, c2, c3, k0 + 2 * philox_w0, k1 + 2 * philox_w1);
  philox_round(c0, c1, c2, c3, k0 + 3 * philox_w0, k1 + 3 * philox_w1);
  philox_round(c0, c1, c2, c3, k0 + 4 * philox_w0, k1 + 4 * philox_w1);
  philox_round(c0, c1, c2, c3, k0 + 5 * philox_w0, k1 + 5 * philox_w1);
  philox_round(c0, c1, c2, c3, k0 + 6 * philox_w0, k1 + 6 * philox_w1);
  philox_round(c0, c1, c2, c3, k0 + 7 * philox_w0, k1 + 7 * philox_w1);
  philox_round(c0, c1, c2, c3, k0 + 8 * philox_w0, k1 + 8 * philox_w1);
  philox_round(c0, c1, c2, c3, k0 + 9 * philox_w0, k1 + 9 * philox_w1);
}

// (m + 1/2) * 2^-52 for m = the top 52 bits of (high << 32 | low): an odd
// multiple of 2^-53 in [2^-53, 1 - 2^-53]. Computed without an int -> double
// conversion: 1 + m 2^-52 is built from bits, and subtracting (1 - 2^-53) is
// exact because the result (2m + 1) 2^-53 < 1 fits in 53 bits.
//
// Why 52 and not 53 bits: (m + 1/2) 2^-53 with a 53-bit m needs 54 significant
// bits for m >= 2^52 and would round (up to exactly 1.0 for m = 2^53 - 1).
// No 2^53-point equally spaced grid fits strictly inside (0, 1) in doubles;
// this is the finest one that does, and it is symmetric (u and 1 - u are both
// on it) with mean exactly 1/2.
[[gnu::always_inline]] inline double open_unit(u32 high_word, u32 low_word) {
  const u64 m = ((u64{high_word} << 32) | low_word) >> 12;
  return std::bit_cast<double>(u64{0x3ff0000000000000} | m) - 0x1.fffffffffffffp-1;
}

// Box-Muller: z0 = r cos(2 pi u2), z1 = r sin(2 pi u2), r = sqrt(-2 log u1),
// with u1 = open_unit(w0, w1), u2 = open_unit(w2, w3) of one Philox block.
// std::sqrt is an IEEE-754 correctly rounded operation (sqrtsd / vsqrtpd),
// not a libm approximation, so it is as deterministic as + - * /. (With
// -fmath-errno GCC keeps a scalar errno path for sqrt and the Box-Muller loop
// does not vectorise: same bits, ~3x slower. The project compiles with
// -fno-math-errno, cmake/DefisimCompilerOptions.cmake.)
[[gnu::always_inline]] inline void box_muller(double u1, double u2, double& z0, double& z1) {
  const double radius = std::sqrt(-2.0 * log_det(u1));
  double sine = 0.0;
  double cosine = 0.0;
  sincos_2pi_det(u2, sine, cosine);
  z0 = radius * cosine;
  z1 = radius * sine;
}

// Values 2b, 2b+1 of a (stream, kind) sequence come from Philox block b:
// counter (b_lo, b_hi, stream, kind), key (seed, path).
//
// Batches are computed structure-of-arrays: `lanes` counters at a time in four
// u32 lane arrays, each of the ten rounds applied to all lanes in an inner
// loop (the round key bumped by the Weyl constants between rounds). GCC
// vectorises the lane loop (-fopt-info-vec: "loop vectorized using 32 byte
// vectors"); `#pragma GCC unroll 1` keeps it a loop (fully unrolled, the
// straight-line code was not always SLP-vectorised, e.g. not in
// generate_uniform_blocks). With 32 lanes measured ~30-40% faster per block
// than one Philox block per loop iteration. Same operations on the same
// words, so the same bits as philox4x32_10 (tests/core/test_rng.cpp checks
// both against r123).
constexpr std::size_t lanes = 32;

struct PhiloxLanes {
  alignas(64) u32 c0[lanes];
  alignas(64) u32 c1[lanes];
  alignas(64) u32 c2[lanes];
  alignas(64) u32 c3[lanes];
};

// Philox4x32-10 of the counters (block, stream, kind) for block = first_block
// + i, i < lanes (all lanes are computed; callers use the first `count`).
[[gnu::always_inline]] inline void philox10_lanes(PhiloxLanes& x, u32 k0, u32 k1, u32 stream,
                                                  u32 kind, u64 first_block) {
  for (std::size_t i = 0; i < lanes; ++i) {
    const u64 block = first_block + i;
    x.c0[i] = static_cast<u32>(block);
    x.c1[i] = static_cast<u32>(block >> 32);
    x.c2[i] = stream;
    x.c3[i] = kind;
  }
  u32 a = k0;
  u32 b = k1;
  for (int round = 0; round < 10; ++round) {
#pragma GCC unroll 1
    for (std::size_t i = 0; i < lanes; ++i) {
      const u64 p0 = u64{philox_m0} * x.c0[i];
      const u64 p1 = u64{philox_m1} * x.c2[i];
      const u32 n0 = static_cast<u32>(p1 >> 32) ^ x.c1[i] ^ a;
      const u32 n2 = static_cast<u32>(p0 >> 32) ^ x.c3[i] ^ b;
      x.c1[i] = static_cast<u32>(p1);
      x.c3[i] = static_cast<u32>(p0);
      x.c0[i] = n0;
      x.c2[i] = n2;
    }
    a += philox_w0;
    b += philox_w1;
  }
}

// Both generators write 2 * block_count values for blocks first_block ... into
// out. A trailing partial batch (block_count not a multiple of `lanes`) is
// computed in full and only its first blocks are written.
void generate_uniform_blocks(PhiloxKey key, u32 stream, u64 first_block, std::size_t block_count,
                             double* __restrict out) {
  const u32 k0 = key[0];
  const u32 k1 = key[1];
  const u32 kind = static_cast<u32>(DrawKind::uniform);
  PhiloxLanes x;
  for (std::size_t start = 0; start < block_count; start += lanes) {
    const std::size_t count = std::min(lanes, block_count - start);
    philox10_lanes(x, k0, k1, stream, kind, first_block + start);
    double* __restrict batch_out = out + 2 * start;
    for (std::size_t i = 0; i < count; ++i) {
      batch_out[2 * i] = open_unit(x.c0[i], x.c1[i]);
      batch_out[2 * i + 1] = open_unit(x.c2[i], x.c3[i]);
    }
  }
}

// In two passes per chunk of 128 blocks (Philox + uniforms in 32-bit lanes,
// then Box-Muller in pure double lanes): measured ~10% faster than one fused
// loop with GCC 12, and both passes vectorise.
void generate_normal_blocks(PhiloxKey key, u32 stream, u64 first_block, std::size_t block_count,
                            double* __restrict out) {
  const u32 k0 = key[0];
  const u32 k1 = key[1];
  const u32 kind = static_cast<u32>(DrawKind::normal);
  constexpr std::size_t chunk = 128;
  static_assert(chunk % lanes == 0);
  alignas(64) double u1[chunk];
  alignas(64) double u2[chunk];
  PhiloxLanes x;
  for (std::size_t start = 0; start < block_count; start += chunk) {
    const std::size_t count = std::min(chunk, block_count - start);
    // Uniforms for all blocks of the chunk rounded up to whole batches (the
    // extra ones, past `count`, are never read).
    for (std::size_t batch = 0; batch < count; batch += lanes) {
      philox10_lanes(x, k0, k1, stream, kind, first_block + start + batch);
      for (std::size_t i = 0; i < lanes; ++i) {
        u1[batch + i] = open_unit(x.c0[i], x.c1[i]);
        u2[batch + i] = open_unit(x.c2[i], x.c3[i]);
      }
    }
    double* __restrict chunk_out = out + 2 * start;
    for (std::size_t i = 0; i < count; ++i) {
      double z0 = 0.0;
      double z1 = 0.0;
      box_muller(u1[i], u2[i], z0, z1);
      chunk_out[2 * i] = z0;
      chunk_out[2 * i + 1] = z1;
    }
  }
}

using BlockGenerator = void (*)(PhiloxKey, u32, u64, std::size_t, double* __restrict);

// The shared logic of fill_uniform / fill_normal. `next_index` is the stream
// index of the first value the next refill produces (always even: a block
// boundary); the buffer holds the values [next_index - buffer_size,
// next_index) and `position` is the first unused one.
template <std::size_t BufferSize>
void fill_from_stream(double* out, std::size_t n, std::array<double, BufferSize>& buffer,
                      std::size_t& position, std::uint64_t& next_index, PhiloxKey key,
                      u32 stream, BlockGenerator generate) {
  if (n == 0) return;  // (out may then be null, which memcpy must not see)
  // 1. What is left in the buffer.
  const std::size_t buffered = std::min(n, BufferSize - position);
  std::memcpy(out, buffer.data() + position, buffered * sizeof(double));
  position += buffered;
  out += buffered;
  n -= buffered;
  if (n == 0) return;
  // 2. The buffer is now empty. Whole blocks go straight into `out`.
  if (n >= BufferSize) {
    const std::size_t direct = n & ~std::size_t{1};
    generate(key, stream, next_index / 2, direct / 2, out);
    next_index += direct;
    out += direct;
    n -= direct;
    if (n == 0) return;
  }
  // 3. The rest through the buffer, so the following calls continue from it.
  generate(key, stream, next_index / 2, BufferSize / 2, buffer.data());
  next_index += BufferSize;
  std::memcpy(out, buffer.data(), n * sizeof(double));
  position = n;
}

}  // namespace

PhiloxCounter philox4x32_10(PhiloxCounter counter, PhiloxKey key) {
  philox10(counter[0], counter[1], counter[2], counter[3], key[0], key[1]);
  return counter;
}

double open_unit_interval(std::uint32_t high_word, std::uint32_t low_word) {
  return open_unit(high_word, low_word);
}

RandomStream::RandomStream(std::uint64_t seed, std::uint64_t path, std::uint32_t stream)
    : key_{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(path)}, stream_(stream) {
  assert(seed <= 0xffffffffu && "seed must be < 2^32 (validated by the config)");
  assert(path <= 0xffffffffu && "path must be < 2^32 (validated by the config)");
  static_assert(buffer_size % 2 == 0, "the buffer must hold whole Philox blocks");
}

void RandomStream::refill_uniform() {
  generate_uniform_blocks(key_, stream_, next_uniform_index_ / 2, buffer_size / 2,
                          uniform_buffer_.data());
  next_uniform_index_ += buffer_size;
  uniform_position_ = 0;
}

void RandomStream::refill_normal() {
  generate_normal_blocks(key_, stream_, next_normal_index_ / 2, buffer_size / 2,
                         normal_buffer_.data());
  next_normal_index_ += buffer_size;
  normal_position_ = 0;
}

double RandomStream::uniform() {
  if (uniform_position_ == buffer_size) refill_uniform();
  return uniform_buffer_[uniform_position_++];
}

double RandomStream::normal() {
  if (normal_position_ == buffer_size) refill_normal();
  return normal_buffer_[normal_position_++];
}

void RandomStream::fill_uniform(double* out, std::size_t n) {
  fill_from_stream(out, n, uniform_buffer_, uniform_position_, next_uniform_index_, key_, stream_,
                   &generate_uniform_blocks);
}

void RandomStream::fill_normal(double* out, std::size_t n) {
  fill_from_stream(out, n, normal_buffer_, normal_position_, next_normal_index_, key_, stream_,
                   &generate_normal_blocks);
}

double RandomStream::uniform_at(std::uint64_t index) const {
  const std::uint64_t block = index / 2;
  const PhiloxCounter words = philox4x32_10(
      {static_cast<u32>(block), static_cast<u32>(block >> 32), stream_,
       static_cast<u32>(DrawKind::uniform)},
      key_);
  return (index % 2 == 0) ? open_unit(words[0], words[1]) : open_unit(words[2], words[3]);
}

double RandomStream::normal_at(std::uint64_t index) const {
  const std::uint64_t block = index / 2;
  const PhiloxCounter words = philox4x32_10(
      {static_cast<u32>(block), static_cast<u32>(block >> 32), stream_,
       static_cast<u32>(DrawKind::normal)},
      key_);
  double z0 = 0.0;
  double z1 = 0.0;
  box_muller(open_unit(words[0], words[1]), open_unit(words[2], words[3]), z0, z1);
  return (index % 2 == 0) ? z0 : z1;
}

// Inversion: the smallest k with u <= F(k), F the Poisson(mean) CDF summed as
// p_0 = e^-mean, p_k = p_{k-1} mean / k. The loop runs about mean + 1 times;
// intended for the small means of per-block arrivals (up to ~50). It stays
// correct while e^-mean is a normal double (mean < ~708); beyond that p_0
// underflows and the result is meaningless (but finite). The loop always
// terminates: once k > mean the terms decrease, and if the running sum stops
// growing (u within rounding of 1, or p underflowed) the current k is
// returned, a tail event of probability < 2^-50 for the intended means.
std::uint32_t poisson_from_uniform(double mean, double uniform) {
  assert(mean >= 0.0 && mean < 708.0 && "poisson_from_uniform is for small means");
  if (!(mean > 0.0)) return 0;
  double p = exp_det(-mean);
  double cdf = p;
  std::uint32_t k = 0;
  while (uniform > cdf) {
    ++k;
    p *= mean / static_cast<double>(k);
    const double next_cdf = cdf + p;
    if (next_cdf == cdf && static_cast<double>(k) > mean) break;
    cdf = next_cdf;
  }
  return k;
}

}  // namespace defisim::core
