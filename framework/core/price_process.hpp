#pragma once
// Exogenous reference-price processes: the deep off-chain market ("the CEX").
//
// A process owns no random number generator: shocks go in, state comes out.
// `evolve(state, dt, shocks)` advances the state by dt seconds using exactly
// the shocks given, so antithetic and common random numbers cost nothing and
// a test can drive a process with hand-picked shocks.
//
// The state holds log prices of the risky assets (the numeraire's price is 1
// and is not modelled). All rates are annualised (seconds_per_year).
#include <Eigen/Dense>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace defisim::core {

struct PriceState {
  Eigen::VectorXd log_price;  // one per risky asset, natural log of numeraire per token
  std::uint64_t step = 0;     // steps taken so far
  std::uint64_t cursor = 0;   // replay: index of the next data return to apply
};

// The shocks one step consumes: standard normals and (0,1) uniforms.
struct ShockCounts {
  std::size_t normals = 0;
  std::size_t uniforms = 0;
};

// Exact log-space geometric Brownian motion, multi-asset:
//   log S_i(t+dt) = log S_i(t) + (mu_i - sigma_i^2/2) dt + sigma_i sqrt(dt) (L z)_i
// with L the Cholesky factor of the correlation matrix (lower triangular).
struct GbmParams {
  Eigen::VectorXd drift;        // mu, annualised
  Eigen::VectorXd volatility;   // sigma, annualised
  Eigen::MatrixXd correlation;  // symmetric positive definite, unit diagonal
};

// Merton (1976) jump diffusion: GBM plus, per asset, a compound Poisson sum of
// N ~ Poisson(lambda dt) jumps in log price, each N(jump_mean, jump_stdev^2).
// The drift is compensated so that E[S(t)] = S(0) e^{mu t}:
//   mu_i - sigma_i^2/2 - lambda_i (e^{m_i + s_i^2/2} - 1).
// Given N, the sum of N normal jumps is exactly N m + sqrt(N) s z, so one
// step needs per asset one diffusion normal, one jump normal and one uniform.
struct JumpDiffusionParams {
  GbmParams diffusion;
  Eigen::VectorXd jump_intensity_per_year;  // lambda
  Eigen::VectorXd jump_mean;                // m, of log jump size
  Eigen::VectorXd jump_stdev;               // s, of log jump size
};

// Replay of a historical price series (one row per step, one column per risky
// asset, prices in numeraire). Without bootstrap, every path replays the data
// from its first row (all paths equal: a backtest). With a block bootstrap of
// length L, the path starts at the initial prices and, every L steps, draws a
// uniformly random start in the data and applies the next L log returns in
// order (Kunsch 1989's moving-block bootstrap), preserving short-range
// dependence such as volatility clustering.
struct ReplayParams {
  std::shared_ptr<const std::vector<Eigen::VectorXd>> log_returns;  // returns[t] = log P[t+1] - log P[t]
  std::uint64_t bootstrap_block_length = 0;                         // 0: replay as is
};

// A process with its step size fixed: per-step constants precomputed once, so
// the per-block work is a few flops.
class GbmStepper {
 public:
  GbmStepper(const GbmParams& params, double dt_seconds);
  ShockCounts shocks() const { return {static_cast<std::size_t>(drift_step_.size()), 0}; }
  void evolve(PriceState& state, std::span<const double> normals) const;
  // Per-step constants, for callers that run the one-asset case in a tight loop
  // (the same operations in the same order as evolve, so the same bits).
  double drift_step(std::size_t asset) const { return drift_step_(static_cast<Eigen::Index>(asset)); }
  double volatility_step(std::size_t asset) const { return volatility_step_(static_cast<Eigen::Index>(asset)); }

 private:
  friend class JumpDiffusionStepper;
  Eigen::VectorXd drift_step_;       // (mu - sigma^2/2) dt
  Eigen::VectorXd volatility_step_;  // sigma sqrt(dt)
  Eigen::MatrixXd cholesky_;         // L
  bool independent_ = true;          // L is the identity: skip the product
};

class JumpDiffusionStepper {
 public:
  JumpDiffusionStepper(const JumpDiffusionParams& params, double dt_seconds);
  ShockCounts shocks() const;
  // normals: [n diffusion, n jump size]; uniforms: [n jump count]
  void evolve(PriceState& state, std::span<const double> normals,
              std::span<const double> uniforms) const;

 private:
  GbmStepper diffusion_;
  Eigen::VectorXd jumps_per_step_;  // lambda dt
  Eigen::VectorXd jump_mean_;
  Eigen::VectorXd jump_stdev_;
};

class ReplayStepper {
 public:
  explicit ReplayStepper(const ReplayParams& params);
  ShockCounts shocks() const { return {0, 1}; }
  void evolve(PriceState& state, std::span<const double> uniforms) const;

 private:
  ReplayParams params_;
};

using PriceStepper = std::variant<GbmStepper, JumpDiffusionStepper, ReplayStepper>;

ShockCounts shock_counts(const PriceStepper& stepper);
// One step: normals and uniforms must hold at least shock_counts() values.
void evolve(const PriceStepper& stepper, PriceState& state, std::span<const double> normals,
            std::span<const double> uniforms);

// The generic form of the design: advance by dt seconds with these shocks
// (builds the step constants on each call; the engine keeps a stepper).
void evolve(const GbmParams& params, PriceState& state, double dt_seconds,
            std::span<const double> normals);

// Cholesky factor of a correlation matrix; throws std::invalid_argument if it
// is not symmetric, has a diagonal other than 1, entries outside [-1,1], or is
// not positive definite.
Eigen::MatrixXd correlation_cholesky(const Eigen::MatrixXd& correlation);

}  // namespace defisim::core
