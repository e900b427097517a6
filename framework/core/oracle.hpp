#pragma once
// Oracles: the price a protocol reads instead of the reference price.
//
// One oracle per asset. An oracle is a per-block state machine with no RNG and
// no knowledge of markets: the engine passes it numbers (the reference price,
// the pool's spot price, the normal shocks it drew for it) and reads back the
// published price. Everything an oracle keeps (ring buffers, scratch) is sized
// once by initial_oracle_state(); update() never allocates and never throws.
//
// Timing (framework/engine/world.hpp): the state made by initial_oracle_state()
// is block 0, whose reference price is the initial price and which publishes
// it. update() is then called exactly once per block, for blocks 1, 2, ...,
// after the price step; "n blocks ago" counts update() calls.
//
// Kinds:
//   reference  publishes the reference price every block.
//   push       Chainlink style: publishes the reference price when it differs
//              from the last published price by strictly more than
//              `deviation` (relative to the last published price) or when at
//              least `heartbeat_seconds` have passed since the last
//              publication; otherwise keeps the last published price. The
//              first update publishes whatever the price.
//   delayed    publishes the reference price of `delay_blocks` blocks ago (the
//              initial price while there is not enough history).
//   median     Maker's medianizer: K = `sources` sources, source k observing
//                reference * exp(noise z_k - noise^2 / 2),  z_k ~ N(0, 1)
//              (each source unbiased: its mean is the reference), publishes
//              their median (odd K: the middle value; even K: the mean of the
//              two middle values). Note the median of lognormal sources is not
//              unbiased: for odd K its log is exactly -noise^2/2 below the
//              reference in mean, so its mean is about
//              reference * (1 - noise^2 (1 - v_K) / 2), v_K ~ pi / (2K) the
//              variance of the median of K standard normals (e.g. -3.6e-5
//              relative for noise 1%, K = 5). With `delay_blocks` > 0 the
//              median goes through the same delay line as `delayed` (Maker's
//              OSM publishes the medianizer's price of one hour ago).
//   pool_twap  Uniswap v2 TWAP oracle (manipulable): input pool_price is the
//              pool's spot price at the start of the block, before any of its
//              transactions (the previous block's closing price, which is what
//              price0CumulativeLast accumulates). The initial price is the
//              sample of block 0. Publishes the arithmetic mean of the last
//              `window_blocks` samples (blocks have equal duration, so this is
//              the time-weighted average), or of all samples so far while
//              there are fewer. A pool price moved during block b enters the
//              sample of block b+1 and is fully reflected from block b+W on.
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <variant>
#include <vector>

#include "framework/core/units.hpp"

namespace defisim::core {

struct ReferenceOracleParams {};

struct PushOracleParams {
  double deviation = 0.005;           // relative threshold, e.g. 0.005 = 0.5%
  double heartbeat_seconds = 3600.0;  // +inf: no heartbeat
};

struct DelayedOracleParams {
  std::uint64_t delay_blocks = 1;  // 0: the reference price
};

struct MedianOracleParams {
  std::size_t sources = 5;         // K >= 1
  double noise = 0.0;              // log-price noise of each source (a standard deviation)
  std::uint64_t delay_blocks = 0;  // publish the median of this many blocks ago
};

struct PoolTwapOracleParams {
  std::uint64_t window_blocks = 10;  // W >= 1
};

using OracleParams = std::variant<ReferenceOracleParams, PushOracleParams, DelayedOracleParams,
                                  MedianOracleParams, PoolTwapOracleParams>;

// What the engine passes each block.
struct OracleInputs {
  BlockNumber block = 0;
  double time_seconds = 0.0;
  double reference_price = 0.0;      // numeraire per token
  double pool_price = 0.0;           // pool_twap only: pool spot at the start of the block
  std::span<const double> normals;   // median only: normals_per_block() standard normals
};

struct OracleState {
  double published_price = 0.0;
  double last_publication_seconds = 0.0;  // every block for kinds that publish every block
  bool published_by_update = false;       // push: false until the first update() publishes

  // Ring buffer: delayed and median (delay line of delay_blocks + 1 values) and
  // pool_twap (the last W samples). next_slot is where the next value goes,
  // which is the oldest value once the ring is full.
  std::vector<double> history;
  std::size_t next_slot = 0;
  std::size_t samples = 0;   // pool_twap: values in the window (<= history.size())
  double window_sum = 0.0;   // pool_twap: running sum of the window

  std::vector<double> sorted_normals;  // median: scratch of K values
};

// Throws std::invalid_argument naming the bad parameter: push deviation < 0 or
// heartbeat <= 0 (NaN included), median sources == 0 or noise < 0 / not
// finite, pool_twap window_blocks == 0.
void validate(const OracleParams& params);

// Block 0: validates params, sizes every buffer, publishes initial_price
// (> 0 and finite, else std::invalid_argument) at initial_time_seconds.
OracleState initial_oracle_state(const OracleParams& params, double initial_price,
                                 double initial_time_seconds = 0.0);

// How many standard normals update() reads from inputs.normals (median: K).
std::size_t normals_per_block(const OracleParams& params);

// One block: returns the published price (also left in state.published_price).
// Preconditions (asserted, not checked in release builds): state comes from
// initial_oracle_state(params, ...); inputs.normals.size() >=
// normals_per_block(params); pool_price > 0 for pool_twap.
double update(const OracleParams& params, OracleState& state, const OracleInputs& inputs);

// Params and state together, for an engine that keeps one per asset.
class Oracle {
 public:
  Oracle(OracleParams params, double initial_price, double initial_time_seconds = 0.0)
      : params_(std::move(params)), state_(initial_oracle_state(params_, initial_price, initial_time_seconds)) {}

  double update(const OracleInputs& inputs) { return core::update(params_, state_, inputs); }
  double price() const { return state_.published_price; }
  std::size_t normals_per_block() const { return core::normals_per_block(params_); }
  const OracleParams& params() const { return params_; }
  const OracleState& state() const { return state_; }

 private:
  OracleParams params_;
  OracleState state_;
};

}  // namespace defisim::core
