// Idle agents (agents/wake.hpp, World::step and World::skip_quiet_blocks): an
// agent that declares itself idle is not called until its wake condition
// holds, and when every agent is idle whole stretches of blocks are skipped.
// The contract is that this is invisible: every series and outcome is
// bit-identical to a run in which every agent acts every block
// (experiment.skip_idle_agents: false). Checked on random worlds (several
// assets, pools on non-numeraire pairs, a native asset outside the pair,
// jumps, minimum profits, tips), plus checks that the skipping really happens.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "framework/engine/world.hpp"
#include "tests/support/bits.hpp"
#include "tests/support/random_lending_world.hpp"
#include "tests/support/random_world.hpp"
#include "tests/support/simulation.hpp"

namespace {

using defisim::engine::World;
using defisim::test_support::RandomWorldOptions;
using defisim::test_support::same_bits;
using defisim::test_support::Sim;

struct PathResult {
  std::vector<double> series, outcomes;
  World::IdleStatistics idle;
};

PathResult run_path(const Sim& sim, std::uint64_t path) {
  World world(*sim.plan, path);
  PathResult result;
  result.series.resize(sim.plan->series_values_per_path());
  result.outcomes.resize(sim.plan->outcome_metrics.size());
  world.run(result.series, result.outcomes);
  result.idle = world.idle_statistics();
  return result;
}

std::string without_skipping(std::string yaml) {
  const std::string on = "skip_idle_agents: true", off = "skip_idle_agents: false";
  const std::size_t at = yaml.find(on);
  REQUIRE(at != std::string::npos);
  return yaml.replace(at, on.size(), off);
}

// Runs every path of `yaml` with and without skipping; returns the skipping
// run's statistics summed over paths.
World::IdleStatistics check_identical(const std::string& yaml) {
  const Sim skipping(yaml), acting(without_skipping(yaml));
  World::IdleStatistics total;
  for (std::uint64_t path = 0; path < skipping.spec().paths; ++path) {
    INFO("path " << path);
    const PathResult a = run_path(skipping, path), b = run_path(acting, path);
    CHECK(same_bits(a.series, b.series));
    CHECK(same_bits(a.outcomes, b.outcomes));
    CHECK(b.idle.quiet_blocks == 0);
    CHECK(b.idle.skipped_act_calls == 0);
    total.quiet_blocks += a.idle.quiet_blocks;
    total.skipped_act_calls += a.idle.skipped_act_calls;
  }
  return total;
}

}  // namespace

TEST_CASE("idle agents: skipping them changes no bit of any series or outcome on 40 random worlds", "[engine][idle]") {
  std::mt19937_64 rng(20261125);
  std::uint64_t quiet_blocks = 0, skipped_calls = 0, blocks_without_noise = 0;
  for (int index = 0; index < 40; ++index) {
    RandomWorldOptions options;
    options.noise_traders = index % 2 == 0;  // noise traders never sleep, so half the worlds have none
    options.paths = 3;
    options.blocks = 400;
    const auto world = defisim::test_support::random_world(rng, index, options);
    INFO(world.description << "\n" << world.yaml);
    const World::IdleStatistics idle = check_identical(world.yaml);
    quiet_blocks += idle.quiet_blocks;
    skipped_calls += idle.skipped_act_calls;
    if (!options.noise_traders) blocks_without_noise += 3 * 400;
  }
  // Not vacuous: most blocks of the worlds of only arbitrageurs and LPs were
  // skipped whole, and idle agents were passed over in stepped blocks.
  INFO("quiet blocks " << quiet_blocks << " of " << blocks_without_noise << ", skipped act calls " << skipped_calls);
  CHECK(quiet_blocks > blocks_without_noise / 2);
  CHECK(skipped_calls > 1000);
}

// W1's world (experiments/bench/w1.yaml) in small: the arbitrageur sleeps
// inside its no-trade band. With a 30 bp fee, 10 gwei x 120k gas and sigma 0.8
// the price leaves the band every ~90 blocks, so well over 90% of blocks are
// skipped, and the results are those of an arbitrageur called every block.
TEST_CASE("idle agents: an arbitrageur in its no-trade band skips most blocks, with identical results", "[engine][idle]") {
  const std::string yaml = R"(
experiment: {name: idle, seed: 7, paths: 4, blocks: 3000, record: {every: 60}, skip_idle_agents: true}
assets: [ETH, USDC]
numeraire: USDC
chain: {gas_price_gwei: 10}
price: {process: gbm, initial: {ETH: 2000}, volatility: {ETH: 0.8}}
markets:
  - {id: pool, type: cpmm, pair: [ETH, USDC], reserves: {ETH: 1000, USDC: 2000000}, fee: 0.003}
agents:
  - {id: arb, type: arbitrageur, markets: [pool], gas_used: 120000}
)";
  const World::IdleStatistics idle = check_identical(yaml);
  CHECK(idle.quiet_blocks > 4 * 3000 * 9 / 10);
  const Sim sim(yaml);
  CHECK(sim.run_outcomes(0)[sim.outcome("arb.trades")] > 5.0);  // and it does trade
}

// A passive LP acts only at block 0: afterwards every block is quiet, and the
// recorded LP value still follows the price (the record phase is not skipped).
TEST_CASE("idle agents: a passive LP alone leaves every block after its deposit quiet", "[engine][idle]") {
  const std::string yaml = R"(
experiment: {name: idle, seed: 3, paths: 2, blocks: 500, record: {every: 50}, skip_idle_agents: true}
assets: [ETH, USDC]
numeraire: USDC
price: {process: gbm, initial: {ETH: 2000}, volatility: {ETH: 0.8}}
markets:
  - {id: pool, type: cpmm, pair: [ETH, USDC], reserves: {ETH: 1000, USDC: 2000000}, fee: 0.003}
agents:
  - {id: lp, type: lp, market: pool, deposit_numeraire: 10000}
)";
  const World::IdleStatistics idle = check_identical(yaml);
  // Block 1 is stepped (the LP declares itself idle there); 499 are skipped per path.
  CHECK(idle.quiet_blocks == 2 * 499);
}

TEST_CASE("idle agents: skipping them changes no bit on 12 random lending worlds (oracles, gas spikes, auctions)",
          "[engine][idle][lending]") {
  std::mt19937_64 rng(4242);
  std::uint64_t skipped = 0;
  for (int index = 0; index < 12; ++index) {
    std::string yaml = defisim::test_support::random_lending_world(rng, index, 2, 200).yaml;
    const std::string marker = "check_conservation: true}";
    const std::size_t at = yaml.find(marker);
    REQUIRE(at != std::string::npos);
    yaml.replace(at, marker.size(), "check_conservation: true, skip_idle_agents: true}");
    INFO(yaml);
    skipped += check_identical(yaml).skipped_act_calls;
  }
  // The arbitrageur sleeps in its no-trade band whenever the gas price is
  // constant: the comparison covered skipped calls.
  CHECK(skipped > 0);
}
