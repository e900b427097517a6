#include "framework/core/oracle.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <stdexcept>
#include <string>

#include "framework/core/deterministic_math.hpp"

namespace defisim::core {
namespace {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;  // Clang 14 lacks aggregate deduction

// Delay line of delay_blocks + 1 values, all the initial value: pushing a value
// and reading the slot after it gives the value of delay_blocks pushes ago.
void init_delay_line(OracleState& state, std::uint64_t delay_blocks, double initial_value) {
  state.history.assign(static_cast<std::size_t>(delay_blocks) + 1, initial_value);
  state.next_slot = 0;
}

double push_through_delay_line(OracleState& state, double value) {
  assert(!state.history.empty());
  state.history[state.next_slot] = value;
  if (++state.next_slot == state.history.size()) state.next_slot = 0;
  return state.history[state.next_slot];
}

// Median of the K sources reference * exp(noise z_k - noise^2/2). The map from
// z to the source's price is increasing, so the middle source is the one with
// the middle shock: order the K shocks, then one or two exps instead of K.
double median_of_sources(const MedianOracleParams& params, OracleState& state, double reference,
                         std::span<const double> normals) {
  const std::size_t k = params.sources;
  assert(normals.size() >= k && state.sorted_normals.size() == k);
  std::copy_n(normals.begin(), k, state.sorted_normals.begin());
  const auto upper_middle = state.sorted_normals.begin() + static_cast<std::ptrdiff_t>(k / 2);
  std::nth_element(state.sorted_normals.begin(), upper_middle, state.sorted_normals.end());
  const double half_variance = 0.5 * params.noise * params.noise;
  const double upper = reference * exp_det(params.noise * *upper_middle - half_variance);
  if (k % 2 == 1) return upper;
  // Even K: the lower middle shock is the largest of the ones nth_element put below.
  const double lower_shock = *std::max_element(state.sorted_normals.begin(), upper_middle);
  const double lower = reference * exp_det(params.noise * lower_shock - half_variance);
  return 0.5 * (lower + upper);
}

// Adds a pool_twap sample; the oldest leaves once the window is full. The sum
// is re-added from the ring each time the write position wraps (every W
// samples), so the running sum's rounding error never builds up beyond W
// additions and subtractions (about 2 W ulps of the window's largest price):
// O(1) amortised, and simpler than compensated summation.
double push_twap_sample(OracleState& state, double sample) {
  const std::size_t window = state.history.size();
  if (state.samples == window) {
    state.window_sum -= state.history[state.next_slot];
  } else {
    ++state.samples;
  }
  state.history[state.next_slot] = sample;
  state.window_sum += sample;
  if (++state.next_slot == window) {
    state.next_slot = 0;
    if (state.samples == window) {
      double sum = 0.0;
      for (const double value : state.history) sum += value;
      state.window_sum = sum;
    }
  }
  return state.window_sum / static_cast<double>(state.samples);
}

}  // namespace

void validate(const OracleParams& params) {
  std::visit(Overloaded{
                 [](const ReferenceOracleParams&) {},
                 [](const PushOracleParams& push) {
                   if (!(push.deviation >= 0.0) || !std::isfinite(push.deviation)) {
                     throw std::invalid_argument("push oracle: deviation must be finite and >= 0, got " +
                                                 std::to_string(push.deviation));
                   }
                   if (!(push.heartbeat_seconds > 0.0)) {
                     throw std::invalid_argument("push oracle: heartbeat_seconds must be > 0 (inf: none), got " +
                                                 std::to_string(push.heartbeat_seconds));
                   }
                 },
                 [](const DelayedOracleParams&) {},
                 [](const MedianOracleParams& median) {
                   if (median.sources == 0) throw std::invalid_argument("median oracle: sources must be >= 1");
                   if (!(median.noise >= 0.0) || !std::isfinite(median.noise)) {
                     throw std::invalid_argument("median oracle: noise must be finite and >= 0, got " +
                                                 std::to_string(median.noise));
                   }
                 },
                 [](const PoolTwapOracleParams& twap) {
                   if (twap.window_blocks == 0) {
                     throw std::invalid_argument("pool_twap oracle: window_blocks must be >= 1");
                   }
                 },
             },
             params);
}

OracleState initial_oracle_state(const OracleParams& params, double initial_price, double initial_time_seconds) {
  validate(params);
  if (!(initial_price > 0.0) || !std::isfinite(initial_price)) {
    throw std::invalid_argument("oracle: initial price must be finite and > 0, got " + std::to_string(initial_price));
  }
  OracleState state;
  state.published_price = initial_price;
  state.last_publication_seconds = initial_time_seconds;
  std::visit(Overloaded{
                 [](const ReferenceOracleParams&) {},
                 [](const PushOracleParams&) {},
                 [&](const DelayedOracleParams& delayed) {
                   init_delay_line(state, delayed.delay_blocks, initial_price);
                 },
                 [&](const MedianOracleParams& median) {
                   init_delay_line(state, median.delay_blocks, initial_price);
                   state.sorted_normals.assign(median.sources, 0.0);
                 },
                 [&](const PoolTwapOracleParams& twap) {
                   state.history.assign(static_cast<std::size_t>(twap.window_blocks), 0.0);
                   state.history[0] = initial_price;
                   state.next_slot = state.history.size() == 1 ? 0 : 1;
                   state.samples = 1;
                   state.window_sum = initial_price;
                 },
             },
             params);
  return state;
}

std::size_t normals_per_block(const OracleParams& params) {
  if (const auto* median = std::get_if<MedianOracleParams>(&params)) return median->sources;
  return 0;
}

double update(const OracleParams& params, OracleState& state, const OracleInputs& inputs) {
  const double reference = inputs.reference_price;
  std::visit(Overloaded{
                 [&](const ReferenceOracleParams&) {
                   state.published_price = reference;
                   state.last_publication_seconds = inputs.time_seconds;
                 },
                 [&](const PushOracleParams& push) {
                   const double last = state.published_price;
                   const bool deviates = std::fabs(reference - last) > push.deviation * last;
                   const bool heartbeat_due =
                       inputs.time_seconds - state.last_publication_seconds >= push.heartbeat_seconds;
                   if (!state.published_by_update || deviates || heartbeat_due) {
                     state.published_price = reference;
                     state.last_publication_seconds = inputs.time_seconds;
                     state.published_by_update = true;
                   }
                 },
                 [&](const DelayedOracleParams&) {
                   state.published_price = push_through_delay_line(state, reference);
                   state.last_publication_seconds = inputs.time_seconds;
                 },
                 [&](const MedianOracleParams& median) {
                   const double current = median_of_sources(median, state, reference, inputs.normals);
                   state.published_price = push_through_delay_line(state, current);
                   state.last_publication_seconds = inputs.time_seconds;
                 },
                 [&](const PoolTwapOracleParams&) {
                   assert(inputs.pool_price > 0.0);
                   state.published_price = push_twap_sample(state, inputs.pool_price);
                   state.last_publication_seconds = inputs.time_seconds;
                 },
             },
             params);
  return state.published_price;
}

}  // namespace defisim::core
