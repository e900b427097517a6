#include "framework/core/price_process.hpp"

#include <cmath>
#include <stdexcept>

#include "framework/core/deterministic_math.hpp"
#include "framework/core/rng.hpp"
#include "framework/core/units.hpp"

namespace defisim::core {

Eigen::MatrixXd correlation_cholesky(const Eigen::MatrixXd& correlation) {
  const Eigen::Index n = correlation.rows();
  if (correlation.cols() != n) throw std::invalid_argument("correlation matrix is not square");
  for (Eigen::Index i = 0; i < n; ++i) {
    if (correlation(i, i) != 1.0) throw std::invalid_argument("correlation matrix diagonal must be 1");
    for (Eigen::Index j = 0; j < n; ++j) {
      if (correlation(i, j) != correlation(j, i)) throw std::invalid_argument("correlation matrix is not symmetric");
      if (std::fabs(correlation(i, j)) > 1.0) throw std::invalid_argument("correlation entries must lie in [-1, 1]");
    }
  }
  Eigen::LLT<Eigen::MatrixXd> llt(correlation);
  if (llt.info() != Eigen::Success) throw std::invalid_argument("correlation matrix is not positive definite");
  Eigen::MatrixXd lower = llt.matrixL();
  // A singular matrix can pass LLT with a zero pivot: insist on strictly positive.
  for (Eigen::Index i = 0; i < n; ++i) {
    if (!(lower(i, i) > 1e-12)) throw std::invalid_argument("correlation matrix is not positive definite");
  }
  return lower;
}

GbmStepper::GbmStepper(const GbmParams& params, double dt_seconds) {
  const double dt = dt_seconds / seconds_per_year;
  const Eigen::Index n = params.volatility.size();
  drift_step_.resize(n);
  volatility_step_.resize(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double sigma = params.volatility(i);
    drift_step_(i) = (params.drift(i) - 0.5 * sigma * sigma) * dt;
    volatility_step_(i) = sigma * std::sqrt(dt);
  }
  cholesky_ = n > 0 ? correlation_cholesky(params.correlation) : Eigen::MatrixXd();
  independent_ = cholesky_.isIdentity(0.0);
}

void GbmStepper::evolve(PriceState& state, std::span<const double> normals) const {
  const Eigen::Index n = drift_step_.size();
  for (Eigen::Index i = 0; i < n; ++i) {
    double correlated = normals[i];
    if (!independent_) {
      correlated = 0.0;
      for (Eigen::Index j = 0; j <= i; ++j) correlated += cholesky_(i, j) * normals[j];
    }
    state.log_price(i) += drift_step_(i) + volatility_step_(i) * correlated;
  }
  ++state.step;
}

JumpDiffusionStepper::JumpDiffusionStepper(const JumpDiffusionParams& params, double dt_seconds)
    : diffusion_([&] {
        // Compensate the drift for the jumps' mean relative size.
        GbmParams compensated = params.diffusion;
        for (Eigen::Index i = 0; i < compensated.drift.size(); ++i) {
          const double mean_relative_jump =
              std::exp(params.jump_mean(i) + 0.5 * params.jump_stdev(i) * params.jump_stdev(i)) - 1.0;
          compensated.drift(i) -= params.jump_intensity_per_year(i) * mean_relative_jump;
        }
        return compensated;
      }(), dt_seconds),
      jumps_per_step_(params.jump_intensity_per_year * (dt_seconds / seconds_per_year)),
      jump_mean_(params.jump_mean),
      jump_stdev_(params.jump_stdev) {}

ShockCounts JumpDiffusionStepper::shocks() const {
  const auto n = static_cast<std::size_t>(jump_mean_.size());
  return {2 * n, n};
}

void JumpDiffusionStepper::evolve(PriceState& state, std::span<const double> normals,
                                  std::span<const double> uniforms) const {
  diffusion_.evolve(state, normals);
  const Eigen::Index n = jump_mean_.size();
  for (Eigen::Index i = 0; i < n; ++i) {
    const std::uint32_t jumps = poisson_from_uniform(jumps_per_step_(i), uniforms[i]);
    if (jumps == 0) continue;
    const double count = static_cast<double>(jumps);
    state.log_price(i) += count * jump_mean_(i) + std::sqrt(count) * jump_stdev_(i) * normals[n + i];
  }
}

ReplayStepper::ReplayStepper(const ReplayParams& params) : params_(params) {}

void ReplayStepper::evolve(PriceState& state, std::span<const double> uniforms) const {
  const auto& returns = *params_.log_returns;
  const std::uint64_t length = params_.bootstrap_block_length;
  if (length > 0 && state.step % length == 0) {
    // A new block: a uniformly random start among the returns that leave a whole block.
    const std::uint64_t starts = returns.size() - length + 1;
    state.cursor = std::min<std::uint64_t>(static_cast<std::uint64_t>(uniforms[0] * static_cast<double>(starts)),
                                           starts - 1);
  }
  // Without bootstrap the config guarantees enough rows for every block.
  state.log_price += returns[state.cursor];
  ++state.cursor;
  ++state.step;
}

ShockCounts shock_counts(const PriceStepper& stepper) {
  return std::visit([](const auto& s) { return s.shocks(); }, stepper);
}

void evolve(const PriceStepper& stepper, PriceState& state, std::span<const double> normals,
            std::span<const double> uniforms) {
  if (const auto* gbm = std::get_if<GbmStepper>(&stepper)) {
    gbm->evolve(state, normals);
  } else if (const auto* jump = std::get_if<JumpDiffusionStepper>(&stepper)) {
    jump->evolve(state, normals, uniforms);
  } else {
    std::get<ReplayStepper>(stepper).evolve(state, uniforms);
  }
}

void evolve(const GbmParams& params, PriceState& state, double dt_seconds,
            std::span<const double> normals) {
  GbmStepper(params, dt_seconds).evolve(state, normals);
}

}  // namespace defisim::core
