#include "agents/sandwich_attacker.hpp"

#include <array>
#include <cmath>

#include "markets/sandwich.hpp"

namespace defisim::agents {

namespace {

constexpr config::KeySpec sandwich_attacker_keys[] = {
    {"markets", "list of market ids", "every market with a constant-product pool", "the pools whose public swaps it sandwiches (cpmm, or a twamm's embedded pool)"},
    {"gas_used", "integer", "150000", "gas units per transaction (>= 0); a sandwich sends two"},
    {"priority_fee_gwei", "number", "0",
     "tip per gas unit on both transactions under `mev` ordering, gwei (>= 0); under `priority_fee` the tips "
     "follow the victim's (tip_increment_gwei)"},
    {"tip_increment_gwei", "number", "1",
     "under `priority_fee` ordering: the front-run tips the victim's tip plus this, the back-run the victim's "
     "tip, gwei (> 0)"},
    {"bribe_fraction", "number", "0.5",
     "under `mev` ordering: fraction of the gross profit bid to the builder, in [0, 1); a lone searcher wins "
     "with any bid, competing ones bid most of the profit away"},
    {"min_profit", "number", "0",
     "attacks only if the expected profit after gas, bribe and flash-loan fee exceeds this, numeraire (>= 0)"},
    {"capital_numeraire", "number", "1000000",
     "largest front-run input, valued at reference prices, numeraire (> 0); unused with flash_loans"},
    {"flash_loans", "boolean", "false",
     "borrow the front-run's input: no capital limit, but flash_loan_fee of the input is a cost"},
    {"flash_loan_fee", "number", "0.0009",
     "with flash_loans: fee as a fraction of the front-run input (Aave v2: 0.0009), in [0, 1); paid by the "
     "front-run to the reference venue, which plays the lender"},
    {"max_front_run_multiple", "number", "10",
     "for a victim without a slippage limit (minimum output 0): the front-run is at most this multiple of the "
     "victim's input (> 0)"},
};

// Sandwiches per block beyond this are not attempted (receipts find their
// attempt through the transaction tag, an index into a fixed table).
constexpr std::uint32_t max_attacks_per_block = 128;

class SandwichAttackerParams;

class SandwichAttacker final : public Agent {
 public:
  SandwichAttacker(const SandwichAttackerParams& params, const AgentContext& context);
  void act(const View& view, TransactionSink& sink) override;
  bool idle_until(const View& view, WakeConditions& wake) override;
  void on_receipt(const core::Receipt& receipt, const View& view) override;
  void record(const View& view, std::span<double> series) override;
  void finish(const View& view, std::span<double> outcomes) override;

 private:
  // A sandwich worth sending: the plan, and what it costs, in numeraire.
  struct Opportunity {
    bool valid = false;
    std::uint32_t target = 0;  // index into the mempool (= the target's sequence)
    markets::SandwichPlan plan;
    double front_tip_gwei = 0.0;
    double back_tip_gwei = 0.0;
    double costs = 0.0;        // gas of both transactions + bribe + flash-loan fee
    double bribe_native = 0.0;
    double net = 0.0;          // gross profit - costs
  };
  Opportunity evaluate(const View& view, std::uint32_t target) const;
  // False if the mempool is full or the attempt table is.
  bool submit(const View& view, const Opportunity& opportunity, TransactionSink& sink);

  const SandwichAttackerParams& params_;
  core::AgentIndex index_;
  // Under priority_fee: the best victim of this block per pool (params_.markets order).
  std::vector<Opportunity> best_per_market_;
  // This block's attempts, by transaction tag: the victim's input value.
  std::array<double, max_attacks_per_block> attempt_victim_value_{};
  std::uint32_t attempt_count_ = 0;
  // Outcomes, numeraire unless counted.
  double profit_ = 0.0;  // net of gas, bribes and flash-loan fees
  double gross_profit_ = 0.0;
  double attacks_ = 0.0;
  double attempts_ = 0.0;
  double bribes_paid_ = 0.0;
  double gas_paid_ = 0.0;
  double flash_loan_fees_ = 0.0;
  double attacked_volume_ = 0.0;
};

class SandwichAttackerParams final : public AgentParams {
 public:
  std::vector<core::MarketIndex> markets;
  // Per market index: its position in `markets`, or -1 if not attacked.
  std::vector<int> market_slot;
  std::uint32_t gas_used = 150000;
  double priority_fee_gwei = 0.0;
  double tip_increment_gwei = 1.0;
  double bribe_fraction = 0.5;
  double min_profit = 0.0;
  double capital_numeraire = 1e6;
  bool flash_loans = false;
  double flash_loan_fee = 0.0009;
  double max_front_run_multiple = 10.0;

  std::unique_ptr<Agent> create(const AgentContext& context) const override {
    return std::make_unique<SandwichAttacker>(*this, context);
  }
  bool watches_mempool() const override { return true; }
  std::vector<output::MetricInfo> series_metrics() const override {
    return {{"profit", "numeraire", "cumulative sandwich profit after gas, bribes and flash-loan fees",
             output::RiskTail::lower_is_worse}};
  }
  std::vector<output::MetricInfo> outcome_metrics() const override {
    using output::RiskTail;
    return {
        {"profit", "numeraire", "sandwich profit after gas, bribes and flash-loan fees over the path",
         RiskTail::lower_is_worse},
        {"gross_profit", "numeraire", "trading profit of its transactions at reference prices, before costs",
         RiskTail::lower_is_worse},
        {"attacks", "count", "sandwiches whose back-run executed", RiskTail::lower_is_worse},
        {"attempts", "count", "sandwiches sent (front-run and back-run)", RiskTail::lower_is_worse},
        {"bribes_paid", "numeraire", "bids paid to the builder (mev ordering)", RiskTail::higher_is_worse},
        {"gas_paid", "numeraire", "gas paid, tips included", RiskTail::higher_is_worse},
        {"flash_loan_fees", "numeraire", "flash-loan fees paid on executed front-runs",
         RiskTail::higher_is_worse},
        {"attacked_volume", "numeraire", "input value of the victims of executed sandwiches at reference prices",
         RiskTail::lower_is_worse},
    };
  }
};

// Only `mev` (atomic bundles around the target) and `priority_fee` (tips
// place the front-run before the target and the back-run after it) let the
// attacker order its transactions around a victim. Under `fifo` the attacker,
// acting after the victim, always lands after it: it could back-run, not
// sandwich. Under `random` the three land in the right order one time in six
// and a front-run after its victim is a plain loss. Under `private` it sees
// no mempool at all.
bool can_sandwich(core::Ordering ordering) {
  return ordering == core::Ordering::mev || ordering == core::Ordering::priority_fee;
}

SandwichAttacker::SandwichAttacker(const SandwichAttackerParams& params, const AgentContext& context)
    : params_(params), index_(context.index), best_per_market_(params.markets.size()) {}

// The pool's state is the one before this block: transactions ordered before
// the victim (higher tips, earlier arrivals, other sandwiches) may move it
// first. Then under `mev` the victim's limit or the back-run's break-even
// limit fails the bundle, which costs nothing; under `priority_fee` the
// front-run has executed anyway. Simulating the block's order instead would
// need the builder's policy and every earlier transaction's outcome: the
// approximation is exact for a victim alone on its pool in its block.
SandwichAttacker::Opportunity SandwichAttacker::evaluate(const View& view, std::uint32_t target) const {
  Opportunity opportunity;
  const core::Transaction& victim = view.mempool[target];
  const auto& pool = markets::constant_product_pool(view.markets[victim.market]);
  if (!pool.trades(victim.token_in)) return opportunity;
  const bool x_in = victim.token_in == pool.asset_x();
  const double price_in = view.reference_prices[victim.token_in];
  double cap = params_.flash_loans ? INFINITY : params_.capital_numeraire / price_in;
  if (victim.min_amount_out == 0.0) cap = std::fmin(cap, params_.max_front_run_multiple * victim.amount_in);
  const double input_cost = params_.flash_loans ? params_.flash_loan_fee : 0.0;
  opportunity.plan = markets::optimal_sandwich(x_in ? pool.reserve_x() : pool.reserve_y(),
                                               x_in ? pool.reserve_y() : pool.reserve_x(), pool.fee(),
                                               victim.amount_in, victim.min_amount_out, cap, input_cost);
  if (!opportunity.plan.feasible) return opportunity;

  const bool mev = view.ordering == core::Ordering::mev;
  opportunity.front_tip_gwei = mev ? params_.priority_fee_gwei : victim.priority_fee_gwei + params_.tip_increment_gwei;
  opportunity.back_tip_gwei = mev ? params_.priority_fee_gwei : victim.priority_fee_gwei;
  const double gross = opportunity.plan.profit * price_in;
  const double bribe = mev ? params_.bribe_fraction * gross : 0.0;
  opportunity.bribe_native = bribe / view.reference_prices[view.native_asset];
  opportunity.costs = view.gas_cost_numeraire(params_.gas_used, opportunity.front_tip_gwei) +
                      view.gas_cost_numeraire(params_.gas_used, opportunity.back_tip_gwei) + bribe +
                      input_cost * opportunity.plan.front_run_in * price_in;
  opportunity.net = gross - opportunity.costs;
  opportunity.valid = opportunity.net > params_.min_profit;
  opportunity.target = target;
  return opportunity;
}

bool SandwichAttacker::submit(const View& view, const Opportunity& opportunity, TransactionSink& sink) {
  if (attempt_count_ == max_attacks_per_block) return false;
  const core::Transaction& victim = view.mempool[opportunity.target];
  const auto& pool = markets::constant_product_pool(view.markets[victim.market]);
  const core::AssetIndex token_out = victim.token_in == pool.asset_x() ? pool.asset_y() : pool.asset_x();
  const double price_in = view.reference_prices[victim.token_in];

  // Both legs carry bundle roles: `mev` places them around the target; the
  // other orderings ignore roles but still let the back-run sell exactly
  // what the front-run bought (and revert if it did not execute).
  core::Transaction back;
  back.sender = index_;
  back.market = victim.market;
  back.kind = core::TransactionKind::swap;
  back.funding = core::Funding::reference_venue;
  back.token_in = token_out;
  back.amount_in = opportunity.plan.back_run_in;  // informative: replaced by the front-run's output
  // Break-even: the two legs settle (back_out - a) * price_in at the venue,
  // so a back-run paying less than a + costs / price_in would lose; under
  // `mev` it fails the whole bundle, which then costs nothing.
  back.min_amount_out = opportunity.plan.front_run_in + opportunity.costs / price_in;
  back.priority_fee_gwei = opportunity.back_tip_gwei;
  back.gas_used = params_.gas_used;
  back.tag = attempt_count_;
  back.bundle_role = core::BundleRole::back_run;
  // Under mev a bundle is a sealed bid to the builder, not a public transaction.
  back.private_channel = view.ordering == core::Ordering::mev;
  back.bundle_target = victim.sequence;
  back.sell_front_run_output = true;

  core::Transaction front = back;
  front.token_in = victim.token_in;
  front.amount_in = opportunity.plan.front_run_in;
  front.min_amount_out = 0.0;  // the victim's limit and the back-run's guard the bundle
  front.priority_fee_gwei = opportunity.front_tip_gwei;
  front.bundle_role = core::BundleRole::front_run;
  front.sell_front_run_output = false;
  front.bribe_native = view.ordering == core::Ordering::mev ? opportunity.bribe_native : 0.0;
  front.lender_fee_numeraire =
      params_.flash_loans ? params_.flash_loan_fee * opportunity.plan.front_run_in * price_in : 0.0;

  // The back-run first: if the mempool fills up in between, a lone back-run
  // reverts (nothing to sell), where a lone front-run would lose its impact.
  if (!sink.submit(back)) return false;
  if (!sink.submit(front)) return false;
  attempt_victim_value_[attempt_count_++] = victim.amount_in * price_in;
  attempts_ += 1.0;
  return true;
}

void SandwichAttacker::act(const View& view, TransactionSink& sink) {
  if (!can_sandwich(view.ordering) || view.mempool.empty()) return;
  attempt_count_ = 0;
  const bool mev = view.ordering == core::Ordering::mev;
  if (!mev) {
    for (Opportunity& best : best_per_market_) best.valid = false;
  }
  const auto pending = static_cast<std::uint32_t>(view.mempool.size());
  for (std::uint32_t i = 0; i < pending; ++i) {
    const core::Transaction& transaction = view.mempool[i];
    if (transaction.sender == index_ || transaction.bundle_role != core::BundleRole::none ||
        transaction.kind != core::TransactionKind::swap || transaction.market >= params_.market_slot.size()) {
      continue;
    }
    const int slot = params_.market_slot[transaction.market];
    if (slot < 0) continue;
    const Opportunity opportunity = evaluate(view, i);
    if (!opportunity.valid) continue;
    if (mev) {
      if (!submit(view, opportunity, sink)) return;
    } else {
      // One victim per pool per block: two front-runs ahead of two victims
      // would spend each victim's slippage room twice.
      Opportunity& best = best_per_market_[static_cast<std::size_t>(slot)];
      if (!best.valid || opportunity.net > best.net) best = opportunity;
    }
  }
  if (!mev) {
    for (const Opportunity& best : best_per_market_) {
      if (best.valid && !submit(view, best, sink)) return;
    }
  }
}

// act() reads the mempool and does nothing while it is empty (and nothing at
// all under an ordering it cannot sandwich in).
bool SandwichAttacker::idle_until(const View& view, WakeConditions& wake) {
  wake.wake_on_mempool = can_sandwich(view.ordering);
  return true;
}

void SandwichAttacker::on_receipt(const core::Receipt& receipt, const View& view) {
  const double native_price = view.reference_prices[view.native_asset];
  const double gas = receipt.gas_paid_native * native_price;
  const double bribe = receipt.bribe_paid_native * native_price;
  // The venue settles trading PnL minus gas, bribe and flash-loan fee.
  profit_ += receipt.venue_settlement;
  gross_profit_ += receipt.venue_settlement + gas + bribe + receipt.lender_fee_paid_numeraire;
  gas_paid_ += gas;
  bribes_paid_ += bribe;
  flash_loan_fees_ += receipt.lender_fee_paid_numeraire;
  if (!receipt.succeeded()) return;
  if (receipt.transaction.bundle_role == core::BundleRole::back_run &&
             receipt.transaction.tag < max_attacks_per_block) {
    attacks_ += 1.0;
    attacked_volume_ += attempt_victim_value_[receipt.transaction.tag];
  }
}

void SandwichAttacker::record(const View&, std::span<double> series) { series[0] = profit_; }

void SandwichAttacker::finish(const View&, std::span<double> outcomes) {
  outcomes[0] = profit_;
  outcomes[1] = gross_profit_;
  outcomes[2] = attacks_;
  outcomes[3] = attempts_;
  outcomes[4] = bribes_paid_;
  outcomes[5] = gas_paid_;
  outcomes[6] = flash_loan_fees_;
  outcomes[7] = attacked_volume_;
}

std::shared_ptr<const AgentParams> parse_sandwich_attacker(const config::ConfigNode& node,
                                                           const WorldNames& names) {
  auto params = std::make_shared<SandwichAttackerParams>();
  params->markets = names.pool_markets(node, "sandwich_attacker");
  params->market_slot.assign(names.markets.size(), -1);
  for (std::size_t k = 0; k < params->markets.size(); ++k) {
    if (params->market_slot[params->markets[k]] >= 0) node.child("markets").fail("a market is listed twice");
    params->market_slot[params->markets[k]] = static_cast<int>(k);
  }
  params->gas_used = static_cast<std::uint32_t>(node.integer_at_least("gas_used", 150000, 0));
  params->priority_fee_gwei = node.number_in("priority_fee_gwei", 0.0, 0.0, true, 1e6, true);
  params->tip_increment_gwei = node.number_in("tip_increment_gwei", 1.0, 0.0, false, 1e6, true);
  params->bribe_fraction = node.number_in("bribe_fraction", 0.5, 0.0, true, 1.0, false);
  params->min_profit = node.number_in("min_profit", 0.0, 0.0, true, INFINITY, false);
  params->capital_numeraire = node.number_in("capital_numeraire", 1e6, 0.0, false, INFINITY, false);
  params->flash_loans = node.boolean("flash_loans", false);
  params->flash_loan_fee = node.number_in("flash_loan_fee", 0.0009, 0.0, true, 1.0, false);
  params->max_front_run_multiple = node.number_in("max_front_run_multiple", 10.0, 0.0, false, INFINITY, false);
  return params;
}

}  // namespace

AgentType sandwich_attacker_type() {
  return {"sandwich_attacker",
          "Reads the public mempool and sandwiches swaps with the closed-form optimal front-run (the largest "
          "the victim's slippage limit allows), as a bundle under `mev` ordering or by tips under "
          "`priority_fee`, when the profit exceeds gas, bribe and flash-loan fee.",
          sandwich_attacker_keys, parse_sandwich_attacker};
}

}  // namespace defisim::agents
