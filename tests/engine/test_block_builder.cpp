// The block builder's ordering policies and searcher bundles: which
// transaction goes where, who wins a contested target, what is left out and
// why; then bundles executing inside a World (atomically, with the bid paid
// to the builder and the victim's loss recorded). Expected orders are worked
// by hand from the policy definitions in framework/engine/block_builder.hpp;
// expected amounts from the Uniswap v2 formula (Adams, Zinsmeister, Robinson
// 2020, eq. 2, fee on input): out = R_out (1 - f) in / (R_in + (1 - f) in).
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "framework/engine/block_builder.hpp"
#include "framework/engine/config_loader.hpp"
#include "framework/engine/scenario_plan.hpp"
#include "framework/engine/world.hpp"
#include "markets/cpmm.hpp"
#include "tests/support/scripted_agent.hpp"

namespace {

using defisim::core::BundleRole;
using defisim::core::Funding;
using defisim::core::Ordering;
using defisim::core::RevertReason;
using defisim::core::Transaction;
using defisim::engine::BlockBuilder;
using defisim::engine::BlockSlot;
using defisim::engine::Mempool;

Transaction ordinary(defisim::core::AgentIndex sender, double tip) {
  Transaction transaction;
  transaction.sender = sender;
  transaction.priority_fee_gwei = tip;
  return transaction;
}

Transaction bundle_part(defisim::core::AgentIndex sender, BundleRole role, std::uint32_t target, double bribe) {
  Transaction transaction;
  transaction.sender = sender;
  transaction.bundle_role = role;
  transaction.bundle_target = target;
  transaction.bribe_native = bribe;
  return transaction;
}

struct Planned {
  std::vector<BlockSlot> slots;
  std::vector<defisim::engine::Exclusion> excluded;
};

Planned plan(Ordering ordering, const std::vector<Transaction>& transactions) {
  Mempool mempool(64);
  for (const Transaction& transaction : transactions) mempool.submit(transaction);
  BlockBuilder builder(ordering, 64, 1, 0);
  builder.plan(mempool.pending());
  return {{builder.slots().begin(), builder.slots().end()}, {builder.excluded().begin(), builder.excluded().end()}};
}

RevertReason exclusion_of(const Planned& planned, std::uint32_t transaction) {
  for (const auto& exclusion : planned.excluded) {
    if (exclusion.transaction == transaction) return exclusion.reason;
  }
  return RevertReason::none;
}

constexpr std::uint32_t none = BlockSlot::none;

}  // namespace

TEST_CASE("mev ordering: ordinary transactions by tip, the best bid's bundle around its target, the rest outbid",
          "[engine][builder]") {
  // 0: victim, tip 0; 1: another user, tip 5; 2-3: searcher A's bundle on 0
  // (bid 1); 4-5: searcher B's bundle on 0 (bid 2, on its front-run).
  const Planned planned = plan(Ordering::mev, {ordinary(0, 0.0), ordinary(1, 5.0),
                                               bundle_part(2, BundleRole::front_run, 0, 1.0),
                                               bundle_part(2, BundleRole::back_run, 0, 0.0),
                                               bundle_part(3, BundleRole::front_run, 0, 2.0),
                                               bundle_part(3, BundleRole::back_run, 0, 0.0)});
  REQUIRE(planned.slots.size() == 2);
  // Tip 5 before tip 0 (priority_fee), no bundle on it.
  CHECK(planned.slots[0].transaction == 1);
  CHECK_FALSE(planned.slots[0].has_bundle());
  // B bid 2 > 1: B's front-run (4) and back-run (5) around the victim.
  CHECK(planned.slots[1].transaction == 0);
  CHECK(planned.slots[1].front_run == 4);
  CHECK(planned.slots[1].back_run == 5);
  CHECK(exclusion_of(planned, 2) == RevertReason::outbid);
  CHECK(exclusion_of(planned, 3) == RevertReason::outbid);
  CHECK(planned.excluded.size() == 2);
}

TEST_CASE("mev ordering: equal bids go to the bundle that arrived first, a back-run alone bids its own bribe",
          "[engine][builder]") {
  const Planned tie = plan(Ordering::mev, {ordinary(0, 0.0), bundle_part(1, BundleRole::front_run, 0, 1.0),
                                           bundle_part(2, BundleRole::front_run, 0, 1.0)});
  REQUIRE(tie.slots.size() == 1);
  CHECK(tie.slots[0].front_run == 1);
  CHECK(tie.slots[0].back_run == none);
  CHECK(exclusion_of(tie, 2) == RevertReason::outbid);

  // A back-run-only bundle (an arbitrage after the target) with bid 3 beats a
  // front-run-only one with bid 2.
  const Planned back_only = plan(Ordering::mev, {ordinary(0, 0.0), bundle_part(1, BundleRole::front_run, 0, 2.0),
                                                 bundle_part(2, BundleRole::back_run, 0, 3.0)});
  REQUIRE(back_only.slots.size() == 1);
  CHECK(back_only.slots[0].front_run == none);
  CHECK(back_only.slots[0].back_run == 2);
  CHECK(exclusion_of(back_only, 1) == RevertReason::outbid);
}

TEST_CASE("mev ordering: malformed bundles are left out as unsupported", "[engine][builder]") {
  // 1 targets position 7 (no such transaction); 2 targets 1, itself a bundle
  // transaction; 3 and 4 are the same sender's two front-runs of 0: the
  // second is left out.
  const Planned planned = plan(Ordering::mev, {ordinary(0, 0.0), bundle_part(1, BundleRole::front_run, 7, 1.0),
                                               bundle_part(2, BundleRole::back_run, 1, 1.0),
                                               bundle_part(3, BundleRole::front_run, 0, 1.0),
                                               bundle_part(3, BundleRole::front_run, 0, 9.0)});
  CHECK(exclusion_of(planned, 1) == RevertReason::unsupported);
  CHECK(exclusion_of(planned, 2) == RevertReason::unsupported);
  CHECK(exclusion_of(planned, 4) == RevertReason::unsupported);
  REQUIRE(planned.slots.size() == 1);
  CHECK(planned.slots[0].front_run == 3);
}

TEST_CASE("orderings other than mev ignore bundle roles, private keeps arrival order", "[engine][builder]") {
  const std::vector<Transaction> transactions = {ordinary(0, 1.0), bundle_part(1, BundleRole::front_run, 0, 5.0),
                                                 ordinary(2, 3.0)};
  // priority_fee: tips 3 > 1 > 0 (the bundle part has tip 0; its bribe is not a tip).
  const Planned by_fee = plan(Ordering::priority_fee, transactions);
  REQUIRE(by_fee.slots.size() == 3);
  CHECK(by_fee.slots[0].transaction == 2);
  CHECK(by_fee.slots[1].transaction == 0);
  CHECK(by_fee.slots[2].transaction == 1);
  for (const Ordering ordering : {Ordering::fifo, Ordering::private_}) {
    const Planned planned = plan(ordering, transactions);
    REQUIRE(planned.slots.size() == 3);
    CHECK(planned.excluded.empty());
    for (std::uint32_t i = 0; i < 3; ++i) {
      CHECK(planned.slots[i].transaction == i);
      CHECK_FALSE(planned.slots[i].has_bundle());
    }
  }
}

namespace {

using defisim::test_support::ScriptedTransaction;
using defisim::test_support::with_scripted_agent;

// A constant reference price (volatility 0), one pool, no gas price unless set.
std::string bundle_world(const std::string& ordering, double gas_gwei) {
  return R"(
experiment: {name: bundles, seed: 3, paths: 1, blocks: 3, block_time: 12, record: {every: 1}}
assets: [ETH, USDC]
numeraire: USDC
chain: {gas_price_gwei: )" + std::to_string(gas_gwei) + ", ordering: " + ordering + R"(}
price: {process: gbm, initial: {ETH: 2000}, volatility: {ETH: 0}}
markets:
  - {id: pool, type: cpmm, pair: [ETH, USDC], reserves: {ETH: 1000, USDC: 2000000}, fee: 0.003}
)";
}

constexpr defisim::core::AssetIndex eth = 0;
constexpr defisim::core::AssetIndex usdc = 1;
constexpr std::uint32_t victim_tag = 7;

Transaction usdc_for_eth(double usdc_in, double min_eth_out) {
  Transaction transaction;
  transaction.market = 0;
  transaction.funding = Funding::reference_venue;
  transaction.token_in = usdc;
  transaction.amount_in = usdc_in;
  transaction.min_amount_out = min_eth_out;
  transaction.gas_used = 100000;
  return transaction;
}

long double amount_out(long double reserve_in, long double reserve_out, long double fee, long double in) {
  const long double gamma = 1.0L - fee;
  return reserve_out * gamma * in / (reserve_in + gamma * in);
}

struct BundleRun {
  std::shared_ptr<defisim::test_support::ScriptLog> victim_log, searcher_log;
  std::vector<double> outcomes;
  std::unique_ptr<defisim::engine::ScenarioPlan> plan;
  double pool_x = 0, pool_y = 0, builder_eth = 0, eth_price = 0;
  double outcome(const std::string& name) const {
    for (std::size_t i = 0; i < plan->outcome_metrics.size(); ++i) {
      if (plan->outcome_metrics[i].name == name) return outcomes[i];
    }
    FAIL("no outcome " << name);
    return 0;
  }
};

// A victim buys ETH for 100,000 USDC in block 1 with `min_eth_out`; a
// searcher who reads the mempool sandwiches it with `front_usdc`, selling
// back what it bought with a limit of `back_min_usdc`, bidding `bribe_eth`.
BundleRun run_sandwich(const std::string& ordering, double min_eth_out, double front_usdc, double back_min_usdc,
                       double bribe_eth, double gas_gwei = 0.0, double front_tip_gwei = 0.0) {
  const auto experiment = defisim::engine::load_experiment_text(bundle_world(ordering, gas_gwei), "bundles.yaml");
  ScriptedTransaction victim{1, usdc_for_eth(100000.0, min_eth_out)};
  victim.transaction.tag = victim_tag;
  auto [with_victim, victim_log] = with_scripted_agent(experiment.base(), {victim}, "victim");
  ScriptedTransaction front{1, usdc_for_eth(front_usdc, 0.0), true, victim_tag};
  front.transaction.bundle_role = BundleRole::front_run;
  front.transaction.bribe_native = bribe_eth;
  front.transaction.priority_fee_gwei = front_tip_gwei;
  ScriptedTransaction back{1, usdc_for_eth(0.0, back_min_usdc), true, victim_tag};
  back.transaction.bundle_role = BundleRole::back_run;
  back.transaction.token_in = eth;
  back.transaction.sell_front_run_output = true;
  auto [spec, searcher_log] = with_scripted_agent(*with_victim, {front, back}, "searcher", true);
  spec->check_conservation = true;
  BundleRun run;
  run.victim_log = victim_log;
  run.searcher_log = searcher_log;
  run.plan = std::make_unique<defisim::engine::ScenarioPlan>(spec);
  defisim::engine::World world(*run.plan, 0);
  std::vector<double> series(run.plan->series_values_per_path());
  run.outcomes.resize(run.plan->outcome_metrics.size());
  world.run(series, run.outcomes);
  const auto& pool = std::get<defisim::markets::Cpmm>(world.markets()[0]);
  run.pool_x = pool.reserve_x();
  run.pool_y = pool.reserve_y();
  run.builder_eth = world.ledger().balance(world.builder_account(), eth);
  run.eth_price = world.reference_prices()[eth];
  return run;
}

}  // namespace

TEST_CASE("a bundle executes around its target: front-run, target, back-run, the bid goes to the builder",
          "[engine][builder][bundle]") {
  const BundleRun run = run_sandwich("mev", 0.0, 50000.0, 0.0, 0.01);
  // Hand-worked: the front-run buys ETH with 50,000 USDC, then the victim
  // with 100,000 USDC on the moved pool, then the back-run sells the
  // front-run's ETH.
  const long double fee = 0.003L;
  const long double front_out = amount_out(2000000.0L, 1000.0L, fee, 50000.0L);
  long double x = 1000.0L - front_out, y = 2050000.0L;
  const long double victim_out = amount_out(y, x, fee, 100000.0L);
  x -= victim_out;
  y += 100000.0L;
  const long double back_out = amount_out(x, y, fee, front_out);
  const long double unattacked = amount_out(2000000.0L, 1000.0L, fee, 100000.0L);

  REQUIRE(run.victim_log->receipts.size() == 1);
  const auto& target = run.victim_log->receipts[0];
  CHECK(target.succeeded());
  CHECK(target.position == 1);
  CHECK(target.sandwiched);
  // Relative 1e-12: three double swaps against a long double reference.
  CHECK(target.amount_out == Approx(static_cast<double>(victim_out)).epsilon(1e-12));
  CHECK(target.amount_out_unattacked == Approx(static_cast<double>(unattacked)).epsilon(1e-12));
  REQUIRE(run.searcher_log->receipts.size() == 2);
  const auto& front = run.searcher_log->receipts[0];
  const auto& back = run.searcher_log->receipts[1];
  CHECK(front.position == 0);
  CHECK(back.position == 2);
  CHECK(front.amount_out == Approx(static_cast<double>(front_out)).epsilon(1e-12));
  CHECK(back.amount_in == front.amount_out);  // sells exactly what the front-run bought
  CHECK(back.amount_out == Approx(static_cast<double>(back_out)).epsilon(1e-12));
  CHECK(front.bribe_paid_native == 0.01);
  // Gas price 0: the builder's only income is the bid.
  CHECK(run.builder_eth == 0.01);
  CHECK(run.outcome("chain.bundles") == 1.0);
  CHECK(run.outcome("chain.bribes") == Approx(0.01 * run.eth_price).epsilon(1e-15));
  CHECK(run.outcome("chain.builder_revenue") == Approx(0.01 * run.eth_price).epsilon(1e-15));
  CHECK(run.outcome("chain.victim_loss") ==
        Approx(static_cast<double>((unattacked - victim_out) * run.eth_price)).epsilon(1e-9));
  CHECK(run.pool_x == Approx(static_cast<double>(x + front_out)).epsilon(1e-12));
}

TEST_CASE("a bundle is all or nothing: if its back-run would revert, the target executes alone",
          "[engine][builder][bundle]") {
  // The back-run demands 1e9 USDC: it reverts, so the builder drops the
  // bundle (bundle_failed, not included, no gas, no bid) and the victim
  // trades on the untouched pool.
  const BundleRun run = run_sandwich("mev", 0.0, 50000.0, 1e9, 0.01, 10.0);
  const long double unattacked = amount_out(2000000.0L, 1000.0L, 0.003L, 100000.0L);
  REQUIRE(run.victim_log->receipts.size() == 1);
  CHECK(run.victim_log->receipts[0].succeeded());
  CHECK_FALSE(run.victim_log->receipts[0].sandwiched);
  CHECK(run.victim_log->receipts[0].amount_out == Approx(static_cast<double>(unattacked)).epsilon(1e-12));
  REQUIRE(run.searcher_log->receipts.size() == 2);
  for (const auto& receipt : run.searcher_log->receipts) {
    CHECK(receipt.revert_reason == RevertReason::bundle_failed);
    CHECK_FALSE(receipt.included);
    CHECK(receipt.gas_paid_native == 0.0);
  }
  CHECK(run.outcome("chain.bundles") == 0.0);
  CHECK(run.outcome("chain.bribes") == 0.0);
  CHECK(run.outcome("chain.victim_loss") == 0.0);
  // Only the victim's gas reached the builder: 100,000 gas x 10 gwei.
  CHECK(run.builder_eth == Approx(100000 * 10e-9).epsilon(1e-15));
  CHECK(run.pool_y == Approx(2100000.0).epsilon(1e-15));
}

TEST_CASE("a victim whose slippage limit the front-run breaks is not sandwiched", "[engine][builder][bundle]") {
  // The victim accepts no less than 1% under its unattacked quote; a
  // 500,000 USDC front-run moves the price far more, so the victim would
  // revert inside the bundle: the bundle is dropped, the victim executes alone.
  const double quote = static_cast<double>(amount_out(2000000.0L, 1000.0L, 0.003L, 100000.0L));
  const BundleRun run = run_sandwich("mev", quote * 0.99, 500000.0, 0.0, 0.01);
  REQUIRE(run.victim_log->receipts.size() == 1);
  CHECK(run.victim_log->receipts[0].succeeded());
  CHECK(run.victim_log->receipts[0].amount_out == Approx(quote).epsilon(1e-12));
  for (const auto& receipt : run.searcher_log->receipts) CHECK(receipt.revert_reason == RevertReason::bundle_failed);
}

TEST_CASE("private ordering: searchers see an empty mempool", "[engine][builder][private]") {
  for (const std::string ordering : {"private", "fifo"}) {
    const BundleRun run = run_sandwich(ordering, 0.0, 50000.0, 0.0, 0.0);
    REQUIRE_FALSE(run.searcher_log->mempool_sizes_seen.empty());
    // Block 1: the victim has submitted before the searcher acts (searchers act last).
    const std::size_t seen_in_block_1 = run.searcher_log->mempool_sizes_seen[0];
    CHECK(seen_in_block_1 == (ordering == "private" ? 0u : 1u));
    CHECK(run.outcome("chain.bundles") == 0.0);
    CHECK_FALSE(run.victim_log->receipts[0].sandwiched);
  }
}

TEST_CASE("transactions sent through a private channel execute but never show in the public mempool",
          "[engine][builder][private]") {
  // A pool 5% off the reference price: the arbitrageur trades in block 1.
  // Arbitrageurs send privately by default (they are searchers themselves);
  // with private_channel: false a mempool watcher sees the trade.
  for (const bool arbitrage_public : {false, true}) {
    const std::string yaml = R"(
experiment: {name: private, seed: 3, paths: 1, blocks: 1, block_time: 12, record: {every: 1}}
assets: [ETH, USDC]
numeraire: USDC
chain: {ordering: mev}
price: {process: gbm, initial: {ETH: 2000}, volatility: {ETH: 0}}
markets:
  - {id: pool, type: cpmm, pair: [ETH, USDC], reserves: {ETH: 1000, USDC: 2100000}, fee: 0.003}
agents:
  - {id: arb, type: arbitrageur, private_channel: )" + std::string(arbitrage_public ? "false" : "true") + "}\n";
    const auto experiment = defisim::engine::load_experiment_text(yaml, "private.yaml");
    auto [spec, log] = with_scripted_agent(experiment.base(), {}, "watcher", true);
    const defisim::engine::ScenarioPlan plan(spec);
    defisim::engine::World world(plan, 0);
    std::vector<double> series(plan.series_values_per_path());
    std::vector<double> outcomes(plan.outcome_metrics.size());
    world.run(series, outcomes);
    INFO("arbitrage public: " << arbitrage_public);
    REQUIRE(log->mempool_sizes_seen.size() == 1);
    CHECK(log->mempool_sizes_seen[0] == (arbitrage_public ? 1u : 0u));
    // Executed either way.
    double trades = 0;
    for (std::size_t i = 0; i < plan.outcome_metrics.size(); ++i) {
      if (plan.outcome_metrics[i].name == "arb.trades") trades = outcomes[i];
    }
    CHECK(trades == 1.0);
  }
}

TEST_CASE("under priority_fee a front-run that outbids its target is an attack too: the victim's loss is recorded",
          "[engine][builder][bundle]") {
  // No bundles in a gas auction: the front-run (tip 2 gwei) executes first,
  // the victim (tip 0) next, the back-run (tip 0, arrived later) last. The
  // victim's counterfactual is the pool before the front-run (nothing else
  // executes in between), so its loss is as under mev: hand-worked as in the
  // bundle test above.
  const BundleRun run = run_sandwich("priority_fee", 0.0, 50000.0, 0.0, 0.0, 0.0, 2.0);
  const long double fee = 0.003L;
  const long double front_out = amount_out(2000000.0L, 1000.0L, fee, 50000.0L);
  const long double victim_out = amount_out(2050000.0L, 1000.0L - front_out, fee, 100000.0L);
  const long double unattacked = amount_out(2000000.0L, 1000.0L, fee, 100000.0L);
  REQUIRE(run.victim_log->receipts.size() == 1);
  const auto& target = run.victim_log->receipts[0];
  CHECK(target.position == 1);
  CHECK(target.sandwiched);
  CHECK(target.amount_out == Approx(static_cast<double>(victim_out)).epsilon(1e-12));
  CHECK(target.amount_out_unattacked == Approx(static_cast<double>(unattacked)).epsilon(1e-12));
  CHECK(run.outcome("chain.bundles") == 0.0);
  CHECK(run.outcome("chain.victim_loss") ==
        Approx(static_cast<double>((unattacked - victim_out) * run.eth_price)).epsilon(1e-9));
  // A front-run that lands after its target (tip 0: arrival order) takes nothing.
  const BundleRun late = run_sandwich("priority_fee", 0.0, 50000.0, 0.0, 0.0, 0.0, 0.0);
  CHECK_FALSE(late.victim_log->receipts[0].sandwiched);
  CHECK(late.outcome("chain.victim_loss") == 0.0);
}
