#pragma once
// Implementations of exp_det, log_det and sincos_2pi_det (declared in
// deterministic_math.hpp; include that header, not this file).
//
// Only IEEE-754 double +, -, *, / (each correctly rounded) and bit operations
// are used: no libm, no sqrt, no FMA (the project compiles with
// -ffp-contract=off), no reassociation, no lookup tables. Every operation is
// therefore fully specified by IEEE-754 and the result is the same on every
// compiler, optimisation level and vector width; the scalar and vectorised
// versions of a loop agree bit for bit.
//
// The functions are branch-free: every special case is a select (?:) on
// values that are always computed, so GCC/Clang if-convert them and a plain
// `for` loop over an array calling them vectorises (checked with GCC 12 -O3
// -fopt-info-vec for -march=native (AVX-512), -mavx2 and -msse4.2; plain
// x86-64 SSE2 lacks 64-bit integer compares, so only exp vectorises there).
// Integers are
// kept in 64-bit lanes next to the doubles, and integer <-> double conversions
// use the 0x1.8p52 / 0x1p52 "magic number" trick instead of cvt instructions,
// so AVX2 (which has no int64 <-> double conversion) vectorises them too.
//
// Algorithms and coefficients: the classic Sun fdlibm 5.3 kernels (e_exp.c,
// e_log.c, k_sin.c, k_cos.c as in FreeBSD msun), whose error analyses bound
// the error below 1 ulp. The coefficients are the fdlibm minimax constants,
// written as hex floats; each is static_assert-ed against fdlibm's published
// decimal value below.
//
// Measured accuracy (tests/core/test_deterministic_math.cpp, ~1e6 samples
// each against long double references; ulp = unit in the last place of the
// exact result):
//   exp_det         max 0.86 ulp on [-745, 709.78] (also for subnormal results)
//   log_det         max 0.85 ulp on (0, DBL_MAX] including subnormals
//   sincos_2pi_det  max 0.77 ulp on [0, 1] for both sin and cos
// so each result is the correctly rounded value or one of its neighbours
// (about 2-6% of results are the neighbour). Bit-identical results were
// checked across GCC 12 -O0/-O2/-O3 with -march=native, -mavx2 and plain
// x86-64, and Clang 14 -O0/-O3.
#include <bit>
#include <cstdint>
#include <limits>

namespace defisim::core {
namespace detmath_detail {

using u64 = std::uint64_t;
using i64 = std::int64_t;

// 1.5 * 2^52: adding it to |t| < 2^51 rounds t to the nearest integer (ties to
// even) and leaves that integer in the low bits of the sum's representation.
inline constexpr double round_shifter = 0x1.8p52;

// Exactly-representable int64 -> double for |k| < 2^51 without cvtsi2sd.
inline double small_int_to_double(i64 k) {
  // 0x4330000000000000 is 2^52; adding a non-negative integer < 2^52 to the
  // bits adds it to the value.
  constexpr i64 offset = 1 << 20;
  const double biased =
      std::bit_cast<double>(static_cast<u64>(0x4330000000000000LL + (k + offset)));
  return biased - (0x1p52 + static_cast<double>(offset));
}

// 2^k for -1022 <= k <= 1023, by building the exponent field.
inline double pow2_normal(i64 k) {
  return std::bit_cast<double>(static_cast<u64>(k + 1023) << 52);
}

// All-ones if c, else zero; and a bitwise select with such a mask. Used where
// a plain ?: between computed doubles would let GCC turn the select back
// into a branch (and sink the arms' arithmetic into it), which blocks
// if-conversion and so vectorisation on targets without masked vector
// instructions (e.g. AVX2).
inline u64 mask_if(bool c) { return u64{0} - static_cast<u64>(c); }
inline double select_bits(u64 mask, double if_set, double if_clear) {
  return std::bit_cast<double>((std::bit_cast<u64>(if_set) & mask) |
                               (std::bit_cast<u64>(if_clear) & ~mask));
}

// ---------------------------------------------------------------- exp ------
// fdlibm e_exp.c.
inline constexpr double exp_ln2_hi = 0x1.62e42feep-1;  // 32 leading bits of ln 2
inline constexpr double exp_ln2_lo = 0x1.a39ef35793c76p-33;  // ln 2 - ln2_hi
inline constexpr double exp_inv_ln2 = 0x1.71547652b82fep+0;
inline constexpr double exp_P1 = 0x1.555555555553ep-3;
inline constexpr double exp_P2 = -0x1.6c16c16bebd93p-9;
inline constexpr double exp_P3 = 0x1.1566aaf25de2cp-14;
inline constexpr double exp_P4 = -0x1.bbd41c5d26bf1p-20;
inline constexpr double exp_P5 = 0x1.6376972bea4d0p-25;
// Largest x with finite e^x, and the x below which e^x rounds to 0.
inline constexpr double exp_overflow_threshold = 0x1.62e42fefa39efp+9;    // 709.78...
inline constexpr double exp_underflow_threshold = -0x1.74910d52d3051p+9;  // -745.13...

static_assert(exp_ln2_hi == 6.93147180369123816490e-01);
static_assert(exp_ln2_lo == 1.90821492927058770002e-10);
static_assert(exp_inv_ln2 == 1.44269504088896338700e+00);
static_assert(exp_P1 == 1.66666666666666019037e-01);
static_assert(exp_P2 == -2.77777777770155933842e-03);
static_assert(exp_P3 == 6.61375632143793436117e-05);
static_assert(exp_P4 == -1.65339022054652515390e-06);
static_assert(exp_P5 == 4.13813679705723846039e-08);
static_assert(exp_overflow_threshold == 7.09782712893383973096e+02);
static_assert(exp_underflow_threshold == -7.45133219101941108420e+02);

// ---------------------------------------------------------------- log ------
// fdlibm e_log.c.
inline constexpr double log_ln2_hi = 0x1.62e42feep-1;
inline constexpr double log_ln2_lo = 0x1.a39ef35793c76p-33;
inline constexpr double Lg1 = 0x1.5555555555593p-1;
inline constexpr double Lg2 = 0x1.999999997fa04p-2;
inline constexpr double Lg3 = 0x1.2492494229359p-2;
inline constexpr double Lg4 = 0x1.c71c51d8e78afp-3;
inline constexpr double Lg5 = 0x1.7466496cb03dep-3;
inline constexpr double Lg6 = 0x1.39a09d078c69fp-3;
inline constexpr double Lg7 = 0x1.2f112df3e5244p-3;

static_assert(Lg1 == 6.666666666666735130e-01);
static_assert(Lg2 == 3.999999999940941908e-01);
static_assert(Lg3 == 2.857142874366239149e-01);
static_assert(Lg4 == 2.222219843214978396e-01);
static_assert(Lg5 == 1.818357216161805012e-01);
static_assert(Lg6 == 1.531383769920937332e-01);
static_assert(Lg7 == 1.479819860511658591e-01);

// ------------------------------------------------------------ sin/cos ------
// fdlibm k_sin.c / k_cos.c: minimax on [-pi/4, pi/4].
inline constexpr double S1 = -0x1.5555555555549p-3;
inline constexpr double S2 = 0x1.111111110f8a6p-7;
inline constexpr double S3 = -0x1.a01a019c161d5p-13;
inline constexpr double S4 = 0x1.71de357b1fe7dp-19;
inline constexpr double S5 = -0x1.ae5e68a2b9cebp-26;
inline constexpr double S6 = 0x1.5d93a5acfd57cp-33;
inline constexpr double C1 = 0x1.555555555554cp-5;
inline constexpr double C2 = -0x1.6c16c16c15177p-10;
inline constexpr double C3 = 0x1.a01a019cb1590p-16;
inline constexpr double C4 = -0x1.27e4f809c52adp-22;
inline constexpr double C5 = 0x1.1ee9ebdb4b1c4p-29;
inline constexpr double C6 = -0x1.8fae9be8838d4p-37;

static_assert(S1 == -1.66666666666666324348e-01);
static_assert(S2 == 8.33333333332248946124e-03);
static_assert(S3 == -1.98412698298579493134e-04);
static_assert(S4 == 2.75573137070700676789e-06);
static_assert(S5 == -2.50507602534068634195e-08);
static_assert(S6 == 1.58969099521155010221e-10);
static_assert(C1 == 4.16666666666666019037e-02);
static_assert(C2 == -1.38888888888741095749e-03);
static_assert(C3 == 2.48015872894767294178e-05);
static_assert(C4 == -2.75573143513906633035e-07);
static_assert(C5 == 2.08757232129817482790e-09);
static_assert(C6 == -1.13596475577881948265e-11);

// 2*pi = two_pi + two_pi_tail to ~2^-106 relative (2*pi = 6.28318530717958647692528...).
inline constexpr double two_pi = 0x1.921fb54442d18p+2;
inline constexpr double two_pi_tail = 0x1.1a62633145c07p-52;
// Veltkamp split of two_pi into two 26-bit halves (exact: two_pi_hi + two_pi_lo == two_pi).
inline constexpr double veltkamp_factor = 0x1p27 + 1.0;
inline constexpr double two_pi_split = veltkamp_factor * two_pi;
inline constexpr double two_pi_hi = two_pi_split - (two_pi_split - two_pi);
inline constexpr double two_pi_lo = two_pi - two_pi_hi;
static_assert(two_pi_hi + two_pi_lo == two_pi);

// sin(x + y) for |x| <= ~pi/4, |y| <= ~ulp(x)/2 (FreeBSD msun k_sin.c).
inline double kernel_sin(double x, double y) {
  const double z = x * x;
  const double w = z * z;
  const double r = S2 + z * (S3 + z * S4) + z * w * (S5 + z * S6);
  const double v = z * x;
  return x - ((z * (0.5 * y - v * r) - y) - v * S1);
}

// cos(x + y) for |x| <= ~pi/4 (FreeBSD msun k_cos.c).
inline double kernel_cos(double x, double y) {
  const double z = x * x;
  double w = z * z;
  const double r = z * (C1 + z * (C2 + z * C3)) + w * w * (C4 + z * (C5 + z * C6));
  const double hz = 0.5 * z;
  w = 1.0 - hz;
  return w + (((1.0 - w) - hz) + (z * r - x * y));
}

}  // namespace detmath_detail

// e^x. fdlibm: x = k ln2 + r, |r| <= ~0.5 ln2, e^r = 1 + r + r c/(2 - c)
// with c = r - r^2 (P1 + ... + P5 r^8), then e^x = 2^k e^r.
inline double exp_det(double x) {
  using namespace detmath_detail;
  // Clamp x to [-746, 710] (the third line puts NaN back). At the clamp
  // bounds the result overflows to +inf / underflows to 0 by itself in the
  // final scaling below, so no select on x is needed at the end (a final
  // select would let GCC sink the whole computation into a branch and stop
  // it from vectorising without AVX-512 masks).
  double xc = x < 710.0 ? x : 710.0;
  xc = xc > -746.0 ? xc : -746.0;
  xc = x == x ? xc : x;
  // k = round(x / ln2), as a double and as an integer.
  const double shifted = xc * exp_inv_ln2 + round_shifter;
  const double kd = shifted - round_shifter;
  const i64 k = static_cast<i64>(std::bit_cast<u64>(shifted) - std::bit_cast<u64>(round_shifter));
  // r = x - k ln2 = hi - lo; k * ln2_hi is exact (|k| < 2^11, ln2_hi has 32 bits).
  const double hi = xc - kd * exp_ln2_hi;
  const double lo = kd * exp_ln2_lo;
  const double r = hi - lo;
  const double t = r * r;
  const double c = r - t * (exp_P1 + t * (exp_P2 + t * (exp_P3 + t * (exp_P4 + t * exp_P5))));
  const double y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
  // y * 2^k in two exact-range steps, so k = 1024 (result near DBL_MAX) and
  // k < -1022 (subnormal result) work: 2^k1 and 2^k2 are normal, y * 2^k1 is
  // exact, and the second product rounds once. (k1 = floor(k / 2) without an
  // arithmetic shift, which AVX2 lacks for 64-bit lanes.)
  const i64 k1 = static_cast<i64>(static_cast<u64>(k + 2048) >> 1) - 1024;
  const i64 k2 = k - k1;
  return (y * pow2_normal(k1)) * pow2_normal(k2);
}

// log(x). fdlibm: x = 2^k (1 + f) with 1 + f in [sqrt(2)/2, sqrt(2)),
// s = f / (2 + f), log(1 + f) = f - s (f - R(s^2)) (or the hfsq form, which
// is more accurate where f is large), log(x) = k ln2_hi + (log(1+f) + k ln2_lo).
inline double log_det(double x) {
  using namespace detmath_detail;
  // Subnormals (and 0): scale up by 2^54 and subtract 54 from the exponent.
  const u64 subnormal = mask_if((std::bit_cast<u64>(x) & 0x7ff0000000000000ULL) == 0);
  const double xs = x * select_bits(subnormal, 0x1p54, 1.0);
  const i64 k_adjust = static_cast<i64>(subnormal & 54) * -1;
  const u64 bits = std::bit_cast<u64>(xs);
  i64 hx = static_cast<i64>(bits >> 32) & 0x7fffffff;  // high word of |x|
  i64 k = (hx >> 20) - 1023 + k_adjust;
  hx &= 0x000fffff;
  // i = 0x100000 if the mantissa is >= sqrt(2)-ish: then use x/2 and k+1.
  const i64 i = (hx + 0x95f64) & 0x100000;
  const u64 normalized_bits = (static_cast<u64>(hx | (i ^ 0x3ff00000)) << 32) |
                              (bits & 0xffffffffULL);
  k += i >> 20;
  const double f = std::bit_cast<double>(normalized_bits) - 1.0;
  const double dk = small_int_to_double(k);
  const double hfsq = 0.5 * f * f;
  const double s = f / (2.0 + f);
  const double z = s * s;
  const double w = z * z;
  const double t1 = w * (Lg2 + w * (Lg4 + w * Lg6));
  const double t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
  const double R = t2 + t1;
  // fdlibm uses the hfsq form when the mantissa of x lies in about
  // (1.38, 1.42), where it is the more accurate one; both forms are computed
  // and one is selected.
  const u64 use_hfsq = mask_if(((hx - 0x6147a) | (0x6b851 - hx)) > 0);
  const double with_hfsq =
      dk * log_ln2_hi - ((hfsq - (s * (hfsq + R) + dk * log_ln2_lo)) - f);
  const double without_hfsq = dk * log_ln2_hi - ((s * (f - R) - dk * log_ln2_lo) - f);
  double result = select_bits(use_hfsq, with_hfsq, without_hfsq);
  // Special cases: log(+inf) = +inf, log(NaN) = NaN, log(0) = -inf, log(<0) = NaN.
  result = select_bits(mask_if(x < std::numeric_limits<double>::infinity()), result, x);
  result = select_bits(mask_if(x > 0.0), result, std::numeric_limits<double>::quiet_NaN());
  result = select_bits(mask_if(x == 0.0), -std::numeric_limits<double>::infinity(), result);
  return result;
}

// sin(2 pi u), cos(2 pi u). u = q/4 + r with q = round(4u) and
// r = u - q/4 in [-1/8, 1/8] (exact: 4u is exact and u - q/4 is exact by
// Sterbenz's lemma, since q/4 is within a factor 2 of u when q >= 1); then
// x = 2 pi r is formed as a double-double (Dekker product, plus the tail of
// 2 pi), the fdlibm kernels give sin(x), cos(x) on [-pi/4, pi/4], and the
// result is rotated by q quarter turns. Exact zeros: sin at u = 0, 1/2, 1 and
// cos at u = 1/4, 3/4 are exactly (+/-)0.
inline void sincos_2pi_det(double u, double& sine, double& cosine) {
  using namespace detmath_detail;
  const double shifted = 4.0 * u + round_shifter;
  const double qd = shifted - round_shifter;
  const u64 quadrant = std::bit_cast<u64>(shifted) & 3;  // q mod 4
  const double r = u - qd * 0.25;
  // x_hi + x_lo = 2 pi r to ~2^-104 relative.
  const double p = r * two_pi;
  const double r_split = veltkamp_factor * r;
  const double r_hi = r_split - (r_split - r);
  const double r_lo = r - r_hi;
  const double product_error =
      ((r_hi * two_pi_hi - p) + r_hi * two_pi_lo + r_lo * two_pi_hi) + r_lo * two_pi_lo;
  const double tail = product_error + r * two_pi_tail;
  const double x_hi = p + tail;
  const double x_lo = tail - (x_hi - p);
  const double s = kernel_sin(x_hi, x_lo);
  const double c = kernel_cos(x_hi, x_lo);
  // Rotate by q quarter turns: (sin, cos) -> q=1: (c, -s), q=2: (-s, -c), q=3: (-c, s).
  const bool swap = (quadrant & 1) != 0;
  const double sv = swap ? c : s;
  const double cv = swap ? s : c;
  const u64 sin_sign = (quadrant & 2) << 62;
  const u64 cos_sign = ((quadrant + 1) & 2) << 62;
  sine = std::bit_cast<double>(std::bit_cast<u64>(sv) ^ sin_sign);
  cosine = std::bit_cast<double>(std::bit_cast<u64>(cv) ^ cos_sign);
}

}  // namespace defisim::core
