#pragma once
// exp, log and sin/cos(2*pi*u) from IEEE-754 +, -, *, / and bit operations
// only, so every compiler, vector width and optimisation level gives the same
// bits (with -ffp-contract=off), and loops over arrays of them vectorise.
// libm's results may differ by an ulp between implementations; these don't.
// Accuracy: within 1 ulp of the correctly rounded result over the documented
// domains (tests/core/test_deterministic_math.cpp).
//
// (Declarations only here; implementations are inline in the .inl below so
// they can be inlined into vectorised loops.)

namespace defisim::core {

// e^x for finite x; returns +inf above ~709.78 and 0 below ~-745.1.
inline double exp_det(double x);
// Natural log for x > 0 (normal or subnormal); -inf at 0; NaN below 0.
inline double log_det(double x);
// sin(2*pi*u) and cos(2*pi*u) for u in [0, 1].
inline void sincos_2pi_det(double u, double& sine, double& cosine);

}  // namespace defisim::core

#include "framework/core/deterministic_math.inl"
