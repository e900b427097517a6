// The sandwich attacker inside a running World.
//
// Expected values come from:
//   - markets::optimal_sandwich on the pool state before the block (itself
//     checked against the closed form in tests/markets/test_sandwich.cpp:
//     Zhou, Qin, Torres, Le, Gervais, IEEE S&P 2021);
//   - the settlement rules of framework/engine/settlement.cpp: a venue-funded
//     swap is settled out * p_out - in * p_in in numeraire, gas is gas_used *
//     (base + tip) gwei * 1e-9 native, a bundle's bribe is paid by its
//     front-run to the builder (account A);
//   - the engine's definitions: chain.victim_loss sums (amount_out_unattacked
//     - amount_out) * p_out over sandwiched targets; chain.bundles counts
//     bundles that executed.
//
// To see receipts, every agent of a world is wrapped in a spy that forwards
// everything to the real agent and logs its receipts; the wrapped world is
// the same world (the spy changes no decision).
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "framework/core/errors.hpp"
#include "framework/engine/world.hpp"
#include "markets/cpmm.hpp"
#include "markets/sandwich.hpp"
#include "tests/support/bits.hpp"
#include "tests/support/random_world.hpp"
#include "tests/support/simulation.hpp"

namespace {

using defisim::core::BundleRole;
using defisim::core::Receipt;
using defisim::engine::ScenarioPlan;
using defisim::engine::ScenarioSpec;
using defisim::engine::World;
using defisim::markets::Cpmm;
using defisim::test_support::Sim;

// ---------------------------------------------------------------------------
// A receipt spy around any agent.
// ---------------------------------------------------------------------------

class SpyAgent final : public defisim::agents::Agent {
 public:
  SpyAgent(std::unique_ptr<defisim::agents::Agent> inner, std::vector<Receipt>* log)
      : inner_(std::move(inner)), log_(log) {}
  void start(const defisim::agents::View& view, defisim::agents::TransactionSink& sink) override {
    inner_->start(view, sink);
  }
  void act(const defisim::agents::View& view, defisim::agents::TransactionSink& sink) override {
    inner_->act(view, sink);
  }
  bool idle_until(const defisim::agents::View& view, defisim::agents::WakeConditions& wake) override {
    return inner_->idle_until(view, wake);
  }
  void on_receipt(const Receipt& receipt, const defisim::agents::View& view) override {
    log_->push_back(receipt);
    inner_->on_receipt(receipt, view);
  }
  void record(const defisim::agents::View& view, std::span<double> series) override { inner_->record(view, series); }
  void finish(const defisim::agents::View& view, std::span<double> outcomes) override {
    inner_->finish(view, outcomes);
  }

 private:
  std::unique_ptr<defisim::agents::Agent> inner_;
  std::vector<Receipt>* log_;
};

class SpyParams final : public defisim::agents::AgentParams {
 public:
  SpyParams(std::shared_ptr<const defisim::agents::AgentParams> inner, std::vector<Receipt>* log)
      : inner_(std::move(inner)), log_(log) {}
  std::unique_ptr<defisim::agents::Agent> create(const defisim::agents::AgentContext& context) const override {
    return std::make_unique<SpyAgent>(inner_->create(context), log_);
  }
  std::vector<defisim::output::MetricInfo> series_metrics() const override { return inner_->series_metrics(); }
  std::vector<defisim::output::MetricInfo> outcome_metrics() const override { return inner_->outcome_metrics(); }
  bool watches_mempool() const override { return inner_->watches_mempool(); }
  std::vector<double> initial_wallet(std::size_t asset_count) const override {
    return inner_->initial_wallet(asset_count);
  }

 private:
  std::shared_ptr<const defisim::agents::AgentParams> inner_;
  std::vector<Receipt>* log_;
};

// One block as the test sees it: the pool before it, the block's reference
// prices, and every receipt in execution order (exclusions after).
struct BlockTrace {
  double reserve_x = 0, reserve_y = 0;
  std::vector<double> prices;
  std::vector<Receipt> receipts;
};

// Runs `path` of the first scenario of `yaml` block by block with every
// agent spied on; also returns the outcomes of the same path run whole.
struct Trace {
  std::vector<BlockTrace> blocks;
  std::vector<double> outcomes;
  double builder_native = 0;  // the builder's native balance at the end
};

Trace trace_world(const Sim& sim, std::uint64_t path) {
  std::vector<Receipt> log;
  auto spec = std::make_shared<ScenarioSpec>(sim.spec());
  for (auto& agent : spec->agents) agent.params = std::make_shared<SpyParams>(agent.params, &log);
  const ScenarioPlan plan(spec);
  Trace trace;
  World world(plan, path);
  world.start();
  for (std::uint64_t b = 1; b <= spec->blocks; ++b) {
    const auto& pool = std::get<Cpmm>(world.markets()[0]);
    BlockTrace block{pool.reserve_x(), pool.reserve_y(), {}, {}};
    log.clear();
    world.step();
    block.prices.assign(world.reference_prices().begin(), world.reference_prices().end());
    block.receipts = log;
    trace.blocks.push_back(std::move(block));
  }
  trace.builder_native = world.ledger().balance(world.builder_account(), spec->native_asset);
  trace.outcomes = sim.run_outcomes(path);
  return trace;
}

// Pool ETH/USDC (asset 0 ETH, 1 USDC = numeraire = native), a noise trader
// (agent 0) sending fixed-size swaps with a fixed tolerance, the attacker
// (agent 1).
std::string victim_world(const std::string& ordering, double tolerance, double gas_gwei, double size,
                         const std::string& attacker_extra = "") {
  return fmt::format(R"(
experiment: {{name: sandwich, seed: 11, paths: 2, blocks: 60, block_time: 12, record: {{every: 20}},
             check_conservation: true}}
assets: [ETH, USDC]
numeraire: USDC
chain: {{native_asset: ETH, gas_price_gwei: {}, ordering: {}}}
price: {{process: gbm, initial: {{ETH: 2000}}, volatility: {{ETH: 0.5}}}}
markets:
  - {{id: pool, type: cpmm, pair: [ETH, USDC], reserves: {{ETH: 1000, USDC: 2000000}}, fee: 0.003}}
agents:
  - {{id: victim, type: noise_trader, market: pool, arrivals_per_block: 0.5, buy_probability: 0.5,
     size_numeraire: {{dist: fixed, value: {}}}, slippage_tolerance: {}, gas_used: 100000, priority_fee_gwei: 2}}
  - {{id: sandwich, type: sandwich_attacker{}}}
)",
                     gas_gwei, ordering, size, tolerance, attacker_extra);
}

constexpr defisim::core::AgentIndex victim_index = 0;
constexpr defisim::core::AgentIndex attacker_index = 1;

// The attacker's plan for `victim` on the pool state before the block,
// called exactly as the agent calls it (default capital 1e6 numeraire).
defisim::markets::SandwichPlan plan_for(const BlockTrace& block, const defisim::core::Transaction& victim) {
  const bool x_in = victim.token_in == 0;
  const double price_in = block.prices[victim.token_in];
  return defisim::markets::optimal_sandwich(x_in ? block.reserve_x : block.reserve_y,
                                            x_in ? block.reserve_y : block.reserve_x, 0.003, victim.amount_in,
                                            victim.min_amount_out, 1e6 / price_in, 0.0);
}

// Receipts of `sender` in a block.
std::vector<const Receipt*> receipts_of(const BlockTrace& block, defisim::core::AgentIndex sender) {
  std::vector<const Receipt*> found;
  for (const Receipt& receipt : block.receipts) {
    if (receipt.transaction.sender == sender) found.push_back(&receipt);
  }
  return found;
}

const Receipt* leg(const std::vector<const Receipt*>& receipts, BundleRole role) {
  for (const Receipt* receipt : receipts) {
    if (receipt->transaction.bundle_role == role) return receipt;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("sandwich attacker, mev: the victim gets its minimum, the attacker the closed-form profit, the builder the bribe",
          "[agents][sandwich]") {
  // Victim: 20000 USDC (or its worth in ETH) on a pool of 2e6 USDC a side,
  // u = 0.01, tolerance 1%: t* ~ tolerance / 2, a ~ 1e4 USDC, gross profit
  // ~ a * beta ~ 1e4 * 0.014 = 140 USDC, far above gas (2 * 150000 * 2 gwei
  // * 2000 = 1.2 USDC) and the 50% bribe.
  const double tolerance = 0.01, bribe_fraction = 0.5;
  Sim sim(victim_world("mev", tolerance, 2.0, 20000.0));
  for (std::uint64_t path = 0; path < sim.spec().paths; ++path) {
    const Trace trace = trace_world(sim, path);
    std::size_t single_victim_blocks = 0;
    long double victim_loss = 0, gross = 0, gross_scale = 0, bribes = 0, gas_and_bribes_native = 0;
    double bundles = 0;
    for (std::size_t b = 0; b < trace.blocks.size(); ++b) {
      const BlockTrace& block = trace.blocks[b];
      INFO("path " << path << " block " << b + 1);
      for (const Receipt& receipt : block.receipts) {
        gas_and_bribes_native += receipt.gas_paid_native + receipt.bribe_paid_native;
        bribes += receipt.bribe_paid_native * block.prices[0];
        if (receipt.sandwiched) {
          victim_loss += (receipt.amount_out_unattacked - receipt.amount_out) * block.prices[receipt.token_out];
          bundles += 1;
        }
      }
      const auto victims = receipts_of(block, victim_index);
      const auto attacker = receipts_of(block, attacker_index);
      for (const Receipt* receipt : attacker) {
        gross += receipt->venue_settlement + (receipt->gas_paid_native + receipt->bribe_paid_native) * block.prices[0];
      }
      if (victims.size() != 1) continue;
      ++single_victim_blocks;
      const Receipt& victim = *victims[0];
      const defisim::markets::SandwichPlan plan = plan_for(block, victim.transaction);
      REQUIRE(plan.feasible);
      REQUIRE(plan.bound == defisim::markets::SandwichBound::victim_limit);
      const Receipt* front = leg(attacker, BundleRole::front_run);
      const Receipt* back = leg(attacker, BundleRole::back_run);
      REQUIRE(front != nullptr);
      REQUIRE(back != nullptr);
      // Alone in its block, the victim is sandwiched at its limit.
      CHECK(victim.succeeded());
      CHECK(victim.sandwiched);
      CHECK(front->position + 1 == victim.position);
      CHECK(victim.position + 1 == back->position);
      // 1e-12: the front-run is the plan's, which leaves the victim within
      // a few ulps of m on this pool (tests/markets/test_sandwich.cpp).
      const double m = victim.transaction.min_amount_out;
      CHECK(victim.amount_out >= m);
      CHECK(victim.amount_out <= m * (1 + 1e-12));
      // The victim quoted m = unattacked output * (1 - tolerance) on the same
      // state: its loss is the tolerance (1e-12 relative as above).
      CHECK(std::fabs((victim.amount_out_unattacked - victim.amount_out) - tolerance * victim.amount_out_unattacked) <=
            1e-12 * victim.amount_out_unattacked);
      // The plan, executed: the same swaps on the same state, bit for bit.
      CHECK(front->amount_in == plan.front_run_in);
      CHECK(back->amount_in == plan.back_run_in);
      CHECK(back->amount_out == plan.back_run_out);
      // Gross profit at the venue: two settlements of size ~a p_in, each
      // exact to a few ulps: 1e-12 of a p_in.
      const double price_in = block.prices[victim.transaction.token_in];
      const double block_gross = front->venue_settlement + back->venue_settlement +
                                 (front->gas_paid_native + back->gas_paid_native + front->bribe_paid_native) *
                                     block.prices[0];
      CHECK(std::fabs(block_gross - plan.profit * price_in) <= 1e-12 * plan.front_run_in * price_in);
      // The bribe: bribe_fraction of the gross profit, in native (ETH) on the front-run.
      CHECK(front->bribe_paid_native ==
            Approx(bribe_fraction * plan.profit * price_in / block.prices[0]).epsilon(1e-14));
      CHECK(back->bribe_paid_native == 0.0);
      gross_scale += plan.front_run_in * price_in;
    }
    // Over the path: blocks with 0 or 2+ victims add to these too.
    CHECK(single_victim_blocks >= 10);
    const auto& outcomes = trace.outcomes;
    // Sums of the same terms in the same order: 1e-12 relative.
    CHECK(outcomes[sim.outcome("chain.victim_loss")] == Approx(static_cast<double>(victim_loss)).epsilon(1e-12));
    CHECK(outcomes[sim.outcome("chain.bribes")] == Approx(static_cast<double>(bribes)).epsilon(1e-12));
    CHECK(outcomes[sim.outcome("chain.bundles")] == bundles);
    CHECK(outcomes[sim.outcome("sandwich.attacks")] == bundles);
    CHECK(outcomes[sim.outcome("sandwich.bribes_paid")] == Approx(static_cast<double>(bribes)).epsilon(1e-12));
    CHECK(std::fabs(outcomes[sim.outcome("sandwich.gross_profit")] - static_cast<double>(gross)) <=
          1e-12 * static_cast<double>(gross_scale + gross));
    CHECK(victim_loss > 0);
    // The builder holds exactly the gas and bribes paid (1e-12: a sum of ~100 terms).
    CHECK(trace.builder_native == Approx(static_cast<double>(gas_and_bribes_native)).epsilon(1e-12));
    // Net = gross - gas - bribes (no flash loans): 1e-9 of the gross, the sum's rounding.
    CHECK(outcomes[sim.outcome("sandwich.profit")] ==
          Approx(outcomes[sim.outcome("sandwich.gross_profit")] - outcomes[sim.outcome("sandwich.gas_paid")] -
                 outcomes[sim.outcome("sandwich.bribes_paid")])
              .epsilon(1e-9));
    CHECK(outcomes[sim.outcome("sandwich.profit")] > 0);
  }
}

TEST_CASE("sandwich attacker: a slippage tolerance too small to pay for gas gives no attack", "[agents][sandwich]") {
  // Tolerance 1e-4: t* ~ 5e-5, a ~ 100 USDC, gross ~ a * beta ~ 1.4 USDC,
  // while two transactions at 20 gwei cost 2 * 150000 * 20e-9 ETH ~ 12 USDC.
  // With tolerance 1e-2 (a ~ 1e4 USDC, gross ~ 140 USDC, 70 after the bribe)
  // the same world is attacked: the test is not vacuous.
  const double gas_gwei = 20.0;
  {
    Sim sim(victim_world("mev", 1e-4, gas_gwei, 20000.0));
    for (std::uint64_t path = 0; path < sim.spec().paths; ++path) {
      const Trace trace = trace_world(sim, path);
      std::size_t sandwichable = 0;
      for (const BlockTrace& block : trace.blocks) {
        CHECK(receipts_of(block, attacker_index).empty());
        const auto victims = receipts_of(block, victim_index);
        if (victims.size() != 1) continue;
        // A sandwich exists, but costs more than it earns after the bribe.
        const auto plan = plan_for(block, victims[0]->transaction);
        const double gross = plan.profit * block.prices[victims[0]->transaction.token_in];
        const double gas = 2 * 150000 * gas_gwei * 1e-9 * block.prices[0];
        CHECK(plan.feasible);
        CHECK(gross * 0.5 < gas);
        ++sandwichable;
      }
      CHECK(sandwichable >= 10);
      const auto& outcomes = trace.outcomes;
      CHECK(outcomes[sim.outcome("sandwich.attempts")] == 0.0);
      CHECK(outcomes[sim.outcome("sandwich.attacks")] == 0.0);
      CHECK(outcomes[sim.outcome("sandwich.profit")] == 0.0);
      CHECK(outcomes[sim.outcome("sandwich.gas_paid")] == 0.0);
      CHECK(outcomes[sim.outcome("chain.bundles")] == 0.0);
      CHECK(outcomes[sim.outcome("chain.victim_loss")] == 0.0);
      CHECK(outcomes[sim.outcome("victim.swaps")] > 0.0);
    }
  }
  {
    Sim sim(victim_world("mev", 1e-2, gas_gwei, 20000.0));
    const auto outcomes = sim.run_outcomes(0);
    CHECK(outcomes[sim.outcome("sandwich.attacks")] > 0.0);
  }
}

TEST_CASE("sandwich attacker: private, fifo and random orderings leave nothing to extract", "[agents][sandwich]") {
  // Under `private` the View's mempool is empty (framework/engine/world.cpp,
  // public_mempool), so the attacker never sees a victim; under `fifo` and
  // `random` it cannot place a front-run before its victim and does not try
  // (agents/sandwich_attacker.cpp). The same world under `mev` is attacked.
  for (const std::string ordering : {"private", "fifo", "random"}) {
    INFO(ordering);
    Sim sim(victim_world(ordering, 0.01, 2.0, 20000.0));
    for (std::uint64_t path = 0; path < sim.spec().paths; ++path) {
      const auto outcomes = sim.run_outcomes(path);
      CHECK(outcomes[sim.outcome("sandwich.attempts")] == 0.0);
      CHECK(outcomes[sim.outcome("sandwich.profit")] == 0.0);
      CHECK(outcomes[sim.outcome("sandwich.gross_profit")] == 0.0);
      CHECK(outcomes[sim.outcome("chain.bundles")] == 0.0);
      CHECK(outcomes[sim.outcome("chain.bribes")] == 0.0);
      CHECK(outcomes[sim.outcome("chain.victim_loss")] == 0.0);
      CHECK(outcomes[sim.outcome("victim.swaps")] > 0.0);
    }
  }
  Sim mev(victim_world("mev", 0.01, 2.0, 20000.0));
  CHECK(mev.run_outcomes(0)[mev.outcome("chain.victim_loss")] > 0.0);
}

TEST_CASE("sandwich attacker, priority_fee: the sandwich executes through tips", "[agents][sandwich]") {
  // The victim tips 2 gwei; the front-run tips 2 + tip_increment_gwei (1),
  // the back-run 2 and arrives after the victim (the attacker acts last), so
  // the builder orders front-run, victim, back-run. No bundle, no bribe.
  Sim sim(victim_world("priority_fee", 0.01, 2.0, 20000.0));
  for (std::uint64_t path = 0; path < sim.spec().paths; ++path) {
    const Trace trace = trace_world(sim, path);
    std::size_t sandwiched = 0;
    for (std::size_t b = 0; b < trace.blocks.size(); ++b) {
      const BlockTrace& block = trace.blocks[b];
      INFO("path " << path << " block " << b + 1);
      const auto victims = receipts_of(block, victim_index);
      const auto attacker = receipts_of(block, attacker_index);
      if (victims.size() != 1) {
        // One victim per pool per block under priority_fee.
        CHECK(attacker.size() <= 2);
        continue;
      }
      const Receipt& victim = *victims[0];
      const auto plan = plan_for(block, victim.transaction);
      REQUIRE(plan.feasible);
      const Receipt* front = leg(attacker, BundleRole::front_run);
      const Receipt* back = leg(attacker, BundleRole::back_run);
      REQUIRE(front != nullptr);
      REQUIRE(back != nullptr);
      CHECK(front->transaction.priority_fee_gwei == 3.0);
      CHECK(back->transaction.priority_fee_gwei == 2.0);
      CHECK(front->position == 0);
      CHECK(victim.position == 1);
      CHECK(back->position == 2);
      CHECK(victim.succeeded());
      // The engine marks a target its front-run outbid in the gas auction,
      // with the pool before the front-run as the counterfactual.
      CHECK(victim.sandwiched);
      CHECK(victim.amount_out_unattacked > victim.amount_out);
      // As under mev (same tolerances and reasons).
      const double m = victim.transaction.min_amount_out;
      CHECK(victim.amount_out >= m);
      CHECK(victim.amount_out <= m * (1 + 1e-12));
      CHECK(front->amount_in == plan.front_run_in);
      CHECK(back->amount_out == plan.back_run_out);
      CHECK(front->bribe_paid_native == 0.0);
      // Gas with tips: 150000 gas * (2 + 3) gwei and * (2 + 2) gwei, in ETH.
      CHECK(front->gas_paid_native == Approx(150000 * 5e-9).epsilon(1e-15));
      CHECK(back->gas_paid_native == Approx(150000 * 4e-9).epsilon(1e-15));
      ++sandwiched;
    }
    CHECK(sandwiched >= 10);
    CHECK(trace.outcomes[sim.outcome("chain.bundles")] == 0.0);
    CHECK(trace.outcomes[sim.outcome("chain.bribes")] == 0.0);
    CHECK(trace.outcomes[sim.outcome("sandwich.bribes_paid")] == 0.0);
    CHECK(trace.outcomes[sim.outcome("sandwich.attacks")] >= static_cast<double>(sandwiched));
    CHECK(trace.outcomes[sim.outcome("sandwich.profit")] > 0.0);
  }
}

TEST_CASE("sandwich attacker: flash loans cost their fee, and capital caps the front-run", "[agents][sandwich]") {
  SECTION("flash loans") {
    // Fee 0.0009 of every executed front-run's input at reference prices,
    // paid by the front-run to the reference venue (the lender): profit =
    // gross - gas - bribes - flash_loan_fees, as the venue settled it.
    Sim sim(victim_world("mev", 0.01, 2.0, 20000.0, ", flash_loans: true"));
    const Trace trace = trace_world(sim, 0);
    long double fees = 0;
    for (const BlockTrace& block : trace.blocks) {
      for (const Receipt* receipt : receipts_of(block, attacker_index)) {
        if (receipt->transaction.bundle_role == BundleRole::front_run && receipt->succeeded()) {
          fees += 0.0009L * receipt->amount_in * block.prices[receipt->transaction.token_in];
        }
      }
    }
    const auto& outcomes = trace.outcomes;
    CHECK(fees > 0);
    CHECK(outcomes[sim.outcome("sandwich.flash_loan_fees")] == Approx(static_cast<double>(fees)).epsilon(1e-12));
    // 1e-9 of the gross: the four sums' rounding.
    CHECK(outcomes[sim.outcome("sandwich.profit")] ==
          Approx(outcomes[sim.outcome("sandwich.gross_profit")] - outcomes[sim.outcome("sandwich.gas_paid")] -
                 outcomes[sim.outcome("sandwich.bribes_paid")] - outcomes[sim.outcome("sandwich.flash_loan_fees")])
              .epsilon(1e-9));
  }
  SECTION("capital") {
    // 2000 numeraire of capital: a ~ 1e4 USDC is capped at 2000 / p_in.
    Sim sim(victim_world("mev", 0.01, 2.0, 20000.0, ", capital_numeraire: 2000"));
    const Trace trace = trace_world(sim, 0);
    std::size_t fronts = 0;
    for (const BlockTrace& block : trace.blocks) {
      for (const Receipt* receipt : receipts_of(block, attacker_index)) {
        if (receipt->transaction.bundle_role != BundleRole::front_run || !receipt->succeeded()) continue;
        CHECK(receipt->amount_in == 2000 / block.prices[receipt->transaction.token_in]);
        ++fronts;
      }
    }
    CHECK(fronts >= 10);
  }
}

TEST_CASE("sandwich attacker: idle skipping changes no result", "[agents][sandwich]") {
  // The attacker sleeps on an empty mempool (wake_on_mempool); results must be
  // bit-identical with experiment.skip_idle_agents false (agents/wake.hpp).
  for (const std::string ordering : {"mev", "priority_fee", "fifo"}) {
    INFO(ordering);
    std::string yaml = victim_world(ordering, 0.01, 2.0, 20000.0);
    Sim skipping(yaml);
    const std::string flag = "check_conservation: true";
    yaml.replace(yaml.find(flag), flag.size(), flag + ", skip_idle_agents: false");
    Sim calling(yaml);
    for (std::uint64_t path = 0; path < skipping.spec().paths; ++path) {
      CHECK(defisim::test_support::same_bits(skipping.run_outcomes(path), calling.run_outcomes(path)));
    }
  }
}

TEST_CASE("sandwich attacker: money is conserved on random worlds with the attacker",
          "[agents][sandwich][conservation]") {
  // The random worlds of tests/support/random_world.hpp (pools, noise traders
  // with tolerances up to 50%, arbitrageurs, LPs, mempool capacity 4 to
  // 256), under mev or priority_fee ordering, with an attacker. Tolerance
  // 1e-9 relative to gross holdings, as in tests/engine/test_conservation.cpp
  // (accumulated rounding ~1e-12 there).
  std::mt19937_64 rng(77);
  double attacks[2] = {0, 0}, bundles = 0, flash_loan_fees = 0;  // attacks: mev, priority_fee
  const defisim::test_support::RandomWorldOptions options{true, true, 1, 200, false};
  for (int index = 0; index < 16; ++index) {
    defisim::test_support::RandomWorld random = defisim::test_support::random_world(rng, index, options);
    const std::string ordering = index % 2 == 0 ? "mev" : "priority_fee";
    const std::size_t at = random.yaml.find("ordering: ");
    REQUIRE(at != std::string::npos);
    const std::size_t end = random.yaml.find(',', at);
    random.yaml.replace(at, end - at, "ordering: " + ordering);
    random.yaml += fmt::format("  - {{id: sandwich, type: sandwich_attacker, bribe_fraction: {}, flash_loans: {}}}\n",
                               index % 3 == 0 ? 0.0 : 0.9, index % 4 == 0 ? "true" : "false");
    INFO(random.description << " -> " << ordering << "\n" << random.yaml);
    Sim sim(random.yaml);
    World world(*sim.plan, 0);
    world.start();
    for (std::uint64_t b = 1; b <= sim.spec().blocks; ++b) {
      world.step();
      const auto report = world.conservation();
      if (!(report.worst_relative_imbalance <= 1e-9)) {
        FAIL_CHECK("block " << b << ": asset " << report.worst_asset << " imbalance " << report.imbalance
                            << " of gross " << report.gross);
        break;
      }
    }
    // The engine's own per-block check (check_conservation: true) must not throw.
    std::vector<double> outcomes;
    CHECK_NOTHROW(outcomes = sim.run_outcomes(0));
    attacks[index % 2] += outcomes[sim.outcome("sandwich.attacks")];
    bundles += outcomes[sim.outcome("chain.bundles")];
    flash_loan_fees += outcomes[sim.outcome("sandwich.flash_loan_fees")];
  }
  // Not vacuous: sandwiches executed under both orderings, with flash loans too.
  CHECK(attacks[0] > 0);
  CHECK(attacks[1] > 0);
  CHECK(bundles > 0);
  CHECK(flash_loan_fees > 0);
}

TEST_CASE("sandwich attacker: bad keys are config errors naming the key", "[agents][sandwich][config]") {
  struct Bad {
    const char* entry;
    const char* key;  // the key path the error must name
  };
  for (const Bad bad : {Bad{", bribe_fraction: 1", "agents.sandwich.bribe_fraction"},
                        Bad{", tip_increment_gwei: 0", "agents.sandwich.tip_increment_gwei"},
                        Bad{", capital_numeraire: 0", "agents.sandwich.capital_numeraire"},
                        Bad{", flash_loan_fee: -0.1", "agents.sandwich.flash_loan_fee"},
                        Bad{", max_front_run_multiple: 0", "agents.sandwich.max_front_run_multiple"},
                        Bad{", markets: [nope]", "agents.sandwich.markets[0]"},
                        Bad{", markets: [pool, pool]", "agents.sandwich.markets"},
                        Bad{", gas_used: -1", "agents.sandwich.gas_used"},
                        Bad{", flash_loans: maybe", "agents.sandwich.flash_loans"},
                        Bad{", bribe_fractoin: 0.5", "agents.sandwich.bribe_fractoin"}}) {
    INFO(bad.entry);
    try {
      Sim sim(victim_world("mev", 0.01, 2.0, 20000.0, bad.entry));
      FAIL("no error");
    } catch (const defisim::core::ConfigError& error) {
      CHECK(error.key() == bad.key);
    }
  }
  CHECK_NOTHROW(Sim(victim_world("mev", 0.01, 2.0, 20000.0)));
}
