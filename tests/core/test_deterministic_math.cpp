// exp_det, log_det, sincos_2pi_det (framework/core/deterministic_math.hpp):
// accuracy against long double libm references over large samples of their
// domains, the documented edge cases, and scalar == vectorised bits.
//
// Accuracy measure: |result - reference| in units of the last place (ulp) of
// the exact value, where the reference is computed in x87 long double (64-bit
// significand, 11 bits more than double; expl/logl/sinl/cosl are accurate to
// about 1 long double ulp, so the reference error is ~2^-10 double ulp). The
// documented bound is "< 1 ulp", i.e. the result is the correctly rounded
// value or one of its two neighbours; we also check that directly as an ulp
// distance of at most 1 from the rounded reference.
#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "framework/core/deterministic_math.hpp"
#include "framework/core/rng.hpp"

namespace {

using defisim::core::exp_det;
using defisim::core::log_det;
using defisim::core::sincos_2pi_det;

constexpr double inf = std::numeric_limits<double>::infinity();

// The spacing of doubles at |x| (for x in [2^e, 2^(e+1)) it is 2^(e-52)),
// never below the subnormal spacing 2^-1074.
long double ulp_at(long double x) {
  int exponent = 0;
  std::frexp(std::fabs(x), &exponent);  // |x| = m 2^exponent, m in [0.5, 1)
  return std::max(std::ldexp(1.0L, exponent - 53), std::ldexp(1.0L, -1074));
}

double ulp_error(double result, long double reference) {
  if (reference == 0.0L) return result == 0.0 ? 0.0 : inf;
  return static_cast<double>(std::fabs(static_cast<long double>(result) - reference) /
                             ulp_at(reference));
}

// Distance in representable doubles (0 = same value, 1 = neighbours).
std::uint64_t ulp_distance(double a, double b) {
  auto ordered = [](double x) {
    const auto bits = std::bit_cast<std::int64_t>(x);
    return bits < 0 ? std::numeric_limits<std::int64_t>::min() - bits : bits;
  };
  const std::int64_t ia = ordered(a);
  const std::int64_t ib = ordered(b);
  return ia > ib ? static_cast<std::uint64_t>(ia - ib) : static_cast<std::uint64_t>(ib - ia);
}

struct ErrorStats {
  double max_ulp = 0.0;
  double worst_input = 0.0;
  std::uint64_t max_distance = 0;
  std::size_t not_correctly_rounded = 0;
  std::size_t count = 0;

  void add(double input, double result, long double reference) {
    const double error = ulp_error(result, reference);
    if (error > max_ulp) {
      max_ulp = error;
      worst_input = input;
    }
    const double rounded = static_cast<double>(reference);
    max_distance = std::max(max_distance, ulp_distance(result, rounded));
    if (result != rounded) ++not_correctly_rounded;
    ++count;
  }
};

void check_within_one_ulp(const ErrorStats& stats) {
  INFO("samples " << stats.count << ", max error " << stats.max_ulp << " ulp at input "
                  << std::hexfloat << stats.worst_input << std::defaultfloat
                  << ", not correctly rounded: " << stats.not_correctly_rounded);
  // The documented bound (deterministic_math.inl header): < 1 ulp.
  CHECK(stats.max_ulp < 1.0);
  CHECK(stats.max_distance <= 1);
}

// The exact reference for sin/cos(2 pi u): reduce u exactly as the
// implementation's contract allows (r = u - q/4 is exact in double), then
// evaluate in long double and rotate by q quarter turns.
void reference_sincos_2pi(double u, long double& sine, long double& cosine) {
  constexpr long double two_pi = 6.283185307179586476925286766559005768L;  // 2 pi, 40 digits
  const double q = std::nearbyint(4.0 * u);
  const double r = u - q * 0.25;
  const long double x = two_pi * static_cast<long double>(r);
  const long double s = std::sin(x);
  const long double c = std::cos(x);
  switch (static_cast<int>(q) & 3) {
    case 0: sine = s; cosine = c; break;
    case 1: sine = c; cosine = -s; break;
    case 2: sine = -s; cosine = -c; break;
    default: sine = -c; cosine = s; break;
  }
}

}  // namespace

TEST_CASE("detmath: exp_det within 1 ulp on -745 to 709.78", "[detmath]") {
  std::mt19937_64 engine(20240501);
  ErrorStats stats;
  auto check = [&](double x) { stats.add(x, exp_det(x), std::exp(static_cast<long double>(x))); };
  std::uniform_real_distribution<double> whole(-745.0, 709.78);
  std::uniform_real_distribution<double> near_zero(-1.0, 1.0);
  // e^x is subnormal below log(2^-1022) = -708.396...
  std::uniform_real_distribution<double> subnormal_results(-745.13, -708.3);
  for (int i = 0; i < 400000; ++i) check(whole(engine));
  for (int i = 0; i < 200000; ++i) check(near_zero(engine));
  for (int i = 0; i < 200000; ++i) check(subnormal_results(engine));
  for (int i = 0; i < 100000; ++i) check(std::ldexp(near_zero(engine), -30));  // |x| < 2^-30
  for (double x : {0.0, -0.0, 1.0, -1.0, 0.5, 709.78, 709.782712893383973096, -745.0, -708.4,
                   0x1p-1074, -0x1p-1074}) {
    check(x);
  }
  check_within_one_ulp(stats);
}

TEST_CASE("detmath: exp_det edge cases", "[detmath]") {
  // e^0 = 1 exactly.
  CHECK(exp_det(0.0) == 1.0);
  CHECK(exp_det(-0.0) == 1.0);
  // fdlibm e_exp.c: o_threshold = 709.782712893383973096 is the largest x with
  // a finite e^x; u_threshold = -745.133219101941108420 is where e^x rounds to 0.
  const double o_threshold = 709.782712893383973096;
  const double u_threshold = -745.133219101941108420;
  CHECK(std::isfinite(exp_det(o_threshold)));
  CHECK(exp_det(o_threshold) > 0x1.fffp1023);  // within 2^-12 of DBL_MAX
  CHECK(ulp_error(exp_det(o_threshold), std::exp(static_cast<long double>(o_threshold))) < 1.0);
  CHECK(exp_det(std::nextafter(o_threshold, inf)) == inf);
  CHECK(exp_det(710.0) == inf);
  CHECK(exp_det(1e300) == inf);
  CHECK(exp_det(inf) == inf);
  CHECK(exp_det(std::nextafter(u_threshold, -inf)) == 0.0);
  CHECK(exp_det(-746.0) == 0.0);
  CHECK(exp_det(-1e300) == 0.0);
  CHECK(exp_det(-inf) == 0.0);
  // e^-745 = 2^-1074.8 rounds to the smallest subnormal 2^-1074 (= 4.94e-324).
  CHECK(exp_det(-745.0) == std::numeric_limits<double>::denorm_min());
  CHECK(std::isnan(exp_det(std::numeric_limits<double>::quiet_NaN())));
}

TEST_CASE("detmath: log_det within 1 ulp on all positive doubles including subnormals",
          "[detmath]") {
  std::mt19937_64 engine(20240502);
  ErrorStats stats;
  auto check = [&](double x) { stats.add(x, log_det(x), std::log(static_cast<long double>(x))); };
  // Bit patterns of all positive finite doubles (uniform in the exponent,
  // 1 in 2046 subnormal).
  std::uniform_int_distribution<std::uint64_t> positive_bits(1, 0x7fefffffffffffffULL);
  for (int i = 0; i < 300000; ++i) check(std::bit_cast<double>(positive_bits(engine)));
  // Subnormals only.
  std::uniform_int_distribution<std::uint64_t> subnormal_bits(1, 0x000fffffffffffffULL);
  for (int i = 0; i < 100000; ++i) check(std::bit_cast<double>(subnormal_bits(engine)));
  // (0, 1) as used by Box-Muller, and around 1 where log is smallest.
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int i = 0; i < 200000; ++i) check(unit(engine));
  std::uniform_real_distribution<double> near_one(0.5, 2.0);
  for (int i = 0; i < 200000; ++i) check(near_one(engine));
  std::uniform_real_distribution<double> very_near_one(-1e-6, 1e-6);
  for (int i = 0; i < 100000; ++i) check(1.0 + very_near_one(engine));
  // Exactly the values the normal generator feeds in: open_unit_interval of
  // random words, including its extremes 2^-53 and 1 - 2^-53.
  std::uniform_int_distribution<std::uint32_t> word;
  for (int i = 0; i < 200000; ++i) {
    check(defisim::core::open_unit_interval(word(engine), word(engine)));
  }
  for (double x : {0x1p-53, 1.0 - 0x1p-53, std::numeric_limits<double>::denorm_min(), DBL_MIN,
                   DBL_MAX, 2.0, 0.5, 10.0, std::sqrt(2.0), std::sqrt(0.5)}) {
    check(x);
  }
  check_within_one_ulp(stats);
}

TEST_CASE("detmath: log_det edge cases", "[detmath]") {
  // IEEE 754-2019 section 9.2.1 special values of log.
  CHECK(log_det(1.0) == 0.0);
  CHECK(log_det(0.0) == -inf);
  CHECK(log_det(-0.0) == -inf);
  CHECK(log_det(inf) == inf);
  CHECK(std::isnan(log_det(-1.0)));
  CHECK(std::isnan(log_det(-inf)));
  CHECK(std::isnan(log_det(-std::numeric_limits<double>::denorm_min())));
  CHECK(std::isnan(log_det(std::numeric_limits<double>::quiet_NaN())));
  // log(2^k) = k ln 2; ln 2 = 0.693147180559945309417232121458176568 (40 digits).
  const long double ln2 = 0.693147180559945309417232121458176568L;
  for (int k : {-1074, -1022, -53, -1, 1, 52, 1023}) {
    const double x = std::ldexp(1.0, k);
    INFO("k = " << k);
    CHECK(ulp_error(log_det(x), k * ln2) < 1.0);
  }
}

TEST_CASE("detmath: sincos_2pi_det within 1 ulp on 0 to 1", "[detmath]") {
  std::mt19937_64 engine(20240503);
  ErrorStats sine_stats;
  ErrorStats cosine_stats;
  auto check = [&](double u) {
    double s = 0.0;
    double c = 0.0;
    sincos_2pi_det(u, s, c);
    long double rs = 0.0L;
    long double rc = 0.0L;
    reference_sincos_2pi(u, rs, rc);
    sine_stats.add(u, s, rs);
    cosine_stats.add(u, c, rc);
  };
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int i = 0; i < 600000; ++i) check(unit(engine));
  // Small u (sin(2 pi u) ~ 2 pi u) down to 2^-60, and u just below 1.
  for (int i = 0; i < 100000; ++i) check(std::ldexp(unit(engine), -static_cast<int>(i % 60)));
  for (int i = 0; i < 100000; ++i) check(1.0 - std::ldexp(unit(engine), -static_cast<int>(i % 50)));
  // Exactly the values the normal generator feeds in.
  std::uniform_int_distribution<std::uint32_t> word;
  for (int i = 0; i < 200000; ++i) {
    check(defisim::core::open_unit_interval(word(engine), word(engine)));
  }
  // Octant boundaries and their neighbours.
  for (int j = 0; j <= 8; ++j) {
    const double u = j / 8.0;
    check(u);
    check(std::nextafter(u, 0.0));
    check(std::nextafter(u, 2.0));
  }
  {
    INFO("sin(2 pi u)");
    check_within_one_ulp(sine_stats);
  }
  {
    INFO("cos(2 pi u)");
    check_within_one_ulp(cosine_stats);
  }
}

TEST_CASE("detmath: sincos_2pi_det exact values at quarter turns", "[detmath]") {
  // sin/cos of 0, pi/2, pi, 3pi/2, 2pi are exactly 0 or +-1 (the reduction is
  // on u itself, so there is no rounded pi to leave a residue).
  struct Case { double u, sine, cosine; };
  for (const Case& expected : {Case{0.0, 0.0, 1.0}, Case{0.25, 1.0, 0.0}, Case{0.5, 0.0, -1.0},
                               Case{0.75, -1.0, 0.0}, Case{1.0, 0.0, 1.0}}) {
    double s = 2.0;
    double c = 2.0;
    sincos_2pi_det(expected.u, s, c);
    INFO("u = " << expected.u);
    CHECK(s == expected.sine);
    CHECK(c == expected.cosine);
  }
  // sin(pi/4) = cos(pi/4) = sqrt(2)/2 = 0.70710678118654752440084436210484903928 (40 digits).
  double s = 0.0;
  double c = 0.0;
  sincos_2pi_det(0.125, s, c);
  CHECK(ulp_error(s, 0.70710678118654752440084436210484903928L) < 1.0);
  CHECK(ulp_error(c, 0.70710678118654752440084436210484903928L) < 1.0);
}

namespace {
// Out-of-line scalar calls, to compare with the (vectorised) loops below.
[[gnu::noinline]] double scalar_exp(double x) { return exp_det(x); }
[[gnu::noinline]] double scalar_log(double x) { return log_det(x); }
[[gnu::noinline]] void scalar_sincos(double u, double& s, double& c) { sincos_2pi_det(u, s, c); }
}  // namespace

TEST_CASE("detmath: vectorised loops give the same bits as scalar calls", "[detmath]") {
  // The loops below are vectorised by GCC at -O3 (-fopt-info-vec); the
  // functions use only correctly rounded IEEE operations with no contraction,
  // so every lane must match the scalar result bit for bit.
  constexpr std::size_t n = 100003;  // not a multiple of any vector width
  std::mt19937_64 engine(20240504);
  std::uniform_real_distribution<double> exp_domain(-750.0, 712.0);
  std::uniform_int_distribution<std::uint64_t> positive_bits(0, 0x7ff0000000000000ULL);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> a(n), b(n), c(n), out(n), out2(n);
  for (std::size_t i = 0; i < n; ++i) {
    a[i] = exp_domain(engine);
    b[i] = std::bit_cast<double>(positive_bits(engine));
    c[i] = unit(engine);
  }
  for (std::size_t i = 0; i < n; ++i) out[i] = exp_det(a[i]);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < n; ++i) {
    mismatches += std::bit_cast<std::uint64_t>(out[i]) != std::bit_cast<std::uint64_t>(scalar_exp(a[i]));
  }
  CHECK(mismatches == 0);
  for (std::size_t i = 0; i < n; ++i) out[i] = log_det(b[i]);
  mismatches = 0;
  for (std::size_t i = 0; i < n; ++i) {
    mismatches += std::bit_cast<std::uint64_t>(out[i]) != std::bit_cast<std::uint64_t>(scalar_log(b[i]));
  }
  CHECK(mismatches == 0);
  for (std::size_t i = 0; i < n; ++i) sincos_2pi_det(c[i], out[i], out2[i]);
  mismatches = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double s = 0.0;
    double co = 0.0;
    scalar_sincos(c[i], s, co);
    mismatches += std::bit_cast<std::uint64_t>(out[i]) != std::bit_cast<std::uint64_t>(s);
    mismatches += std::bit_cast<std::uint64_t>(out2[i]) != std::bit_cast<std::uint64_t>(co);
  }
  CHECK(mismatches == 0);
}
