// Gas price process (framework/core/gas_price.hpp): constant, and the spike
// coupled to one-block price drops, against its formula:
//   excess_b = excess_{b-1} * 2^(-dt/h) + base * spike * max(0, -100 (log S_b - log S_{b-1}))
//   gas_b    = min(cap, base + excess_b)
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "framework/core/gas_price.hpp"

namespace {

using defisim::core::base_gas_price_gwei;
using defisim::core::ConstantGasParams;
using defisim::core::GasPriceParams;
using defisim::core::GasPriceState;
using defisim::core::GasPriceStepper;
using defisim::core::initial_gas_price_state;
using defisim::core::next_gas_price;
using defisim::core::SpikeGasParams;

constexpr double block_seconds = 12.0;
constexpr double inf = std::numeric_limits<double>::infinity();

}  // namespace

TEST_CASE("gas constant: base_gwei every block whatever the price does", "[gas]") {
  const GasPriceParams params = ConstantGasParams{25.0};
  const GasPriceStepper stepper(params, block_seconds);
  GasPriceState state = initial_gas_price_state(std::log(2000.0));
  CHECK(base_gas_price_gwei(params) == 25.0);
  for (const double price : {1000.0, 100.0, 3000.0, 1.0}) {
    CHECK(stepper.next(state, std::log(price)) == 25.0);
  }
}

TEST_CASE("gas spike: a drop adds exactly base x spike x percent drop, then decays", "[gas]") {
  // base 20 gwei, 2 base multiples per 1% drop, half-life 10 minutes.
  const SpikeGasParams params{20.0, 2.0, 600.0, inf};
  const GasPriceStepper stepper(params, block_seconds);
  const double decay = std::exp2(-block_seconds / 600.0);
  CHECK(stepper.decay_per_block() == Approx(decay).epsilon(1e-15));

  const double log_start = std::log(2000.0);
  GasPriceState state = initial_gas_price_state(log_start);
  CHECK(stepper.next(state, log_start) == 20.0);  // no move: base

  // A 3% one-block log drop: excess 20 x 2 x 3 = 120 gwei.
  const double log_dropped = log_start - 0.03;
  const double drop_percent = -100.0 * (log_dropped - log_start);
  CHECK(drop_percent == Approx(3.0).epsilon(1e-12));
  const double excess = 20.0 * 2.0 * drop_percent;
  CHECK(stepper.next(state, log_dropped) == 20.0 + excess);
  CHECK(state.excess_gwei == excess);

  // A further 1% drop the next block: the decayed excess plus 40 gwei.
  const double log_dropped_again = log_dropped - 0.01;
  const double excess_again = excess * stepper.decay_per_block() + 20.0 * 2.0 * (-100.0 * (log_dropped_again - log_dropped));
  CHECK(stepper.next(state, log_dropped_again) == 20.0 + excess_again);
  CHECK(excess_again == Approx(120.0 * decay + 40.0).epsilon(1e-12));
}

TEST_CASE("gas spike: the excess halves after one half-life", "[gas]") {
  // half-life 600 s = 50 blocks of 12 s; decay^50 = 1/2 up to ~50 roundings.
  const SpikeGasParams params{10.0, 1.0, 600.0, inf};
  const GasPriceStepper stepper(params, block_seconds);
  GasPriceState state = initial_gas_price_state(0.0);
  stepper.next(state, -0.05);  // a 5% drop: excess 50 gwei
  const double excess = state.excess_gwei;
  CHECK(excess == Approx(50.0).epsilon(1e-12));
  double gas = 0.0;
  for (int b = 0; b < 50; ++b) gas = stepper.next(state, -0.05);  // flat price
  CHECK(state.excess_gwei == Approx(0.5 * excess).epsilon(1e-13));
  CHECK(gas == Approx(10.0 + 0.5 * excess).epsilon(1e-13));
  for (int b = 0; b < 50; ++b) gas = stepper.next(state, -0.05);
  CHECK(state.excess_gwei == Approx(0.25 * excess).epsilon(1e-13));
}

TEST_CASE("gas spike: capped at cap_gwei, the uncapped excess decaying underneath", "[gas]") {
  const SpikeGasParams params{20.0, 2.0, 600.0, 300.0};
  const GasPriceStepper stepper(params, block_seconds);
  GasPriceState state = initial_gas_price_state(0.0);
  CHECK(stepper.next(state, -0.10) == 300.0);  // uncapped: 20 + 20 x 2 x 10 = 420
  CHECK(state.excess_gwei == Approx(400.0).epsilon(1e-12));
  // Stays at the cap until 20 + excess falls below 300: excess 400 -> 280
  // takes log2(400/280) half-lives = 0.515 x 50 = 25.7 blocks.
  int blocks_at_cap = 1;
  while (stepper.next(state, -0.10) == 300.0) ++blocks_at_cap;
  CHECK(blocks_at_cap == 26);
}

TEST_CASE("gas spike: price rises never raise the gas price", "[gas]") {
  const SpikeGasParams params{20.0, 2.0, 600.0, inf};
  const GasPriceStepper stepper(params, block_seconds);
  GasPriceState state = initial_gas_price_state(0.0);
  double log_price = 0.0;
  for (int b = 0; b < 20; ++b) {
    log_price += 0.05;
    REQUIRE(stepper.next(state, log_price) == 20.0);
  }
  // After a spike, a rise only lets the excess decay.
  stepper.next(state, log_price - 0.02);
  const double excess = state.excess_gwei;
  stepper.next(state, log_price + 0.5);
  CHECK(state.excess_gwei == excess * stepper.decay_per_block());
}

TEST_CASE("gas spike: infinite half-life keeps the excess, next_gas_price matches the stepper bit for bit", "[gas]") {
  const SpikeGasParams forever{20.0, 1.0, inf, inf};
  const GasPriceStepper stepper(forever, block_seconds);
  CHECK(stepper.decay_per_block() == 1.0);

  const GasPriceParams params = SpikeGasParams{15.0, 3.0, 300.0, 500.0};
  const GasPriceStepper kept(params, block_seconds);
  GasPriceState a = initial_gas_price_state(std::log(1800.0));
  GasPriceState b = a;
  for (int block = 1; block <= 500; ++block) {
    const double log_price = std::log(1800.0) + 0.03 * std::sin(0.7 * block) - 0.0002 * block;
    REQUIRE(kept.next(a, log_price) == next_gas_price(params, b, log_price, block_seconds));
    REQUIRE(a.excess_gwei == b.excess_gwei);
  }
}

TEST_CASE("gas: invalid parameters are rejected", "[gas]") {
  CHECK_THROWS_AS(GasPriceStepper(ConstantGasParams{-1.0}, block_seconds), std::invalid_argument);
  CHECK_THROWS_AS(GasPriceStepper(ConstantGasParams{inf}, block_seconds), std::invalid_argument);
  CHECK_THROWS_AS(GasPriceStepper(SpikeGasParams{20.0, -1.0, 600.0, inf}, block_seconds), std::invalid_argument);
  CHECK_THROWS_AS(GasPriceStepper(SpikeGasParams{20.0, 1.0, 0.0, inf}, block_seconds), std::invalid_argument);
  CHECK_THROWS_AS(GasPriceStepper(SpikeGasParams{20.0, 1.0, 600.0, 10.0}, block_seconds), std::invalid_argument);
  CHECK_THROWS_AS(GasPriceStepper(SpikeGasParams{20.0, 1.0, 600.0, std::nan("")}, block_seconds),
                  std::invalid_argument);
  CHECK_THROWS_AS(GasPriceStepper(ConstantGasParams{20.0}, 0.0), std::invalid_argument);
}
