#include "agents/twap_trader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "agents/trading_program.hpp"
#include "agents/sandwich_exposure.hpp"

namespace defisim::agents {

namespace {

constexpr config::KeySpec twap_trader_keys[] = {
    {"market", "market id", "", "the pool it trades on (cpmm, or a twamm's embedded pool)"},
    {"sell", "asset", "", "the token it sells (one of the pool's pair)"},
    {"amount", "number", "", "total amount to sell, tokens of `sell` (> 0)"},
    {"slices", "integer", "1", "number of equal swaps (>= 1; 1 is a single swap)"},
    {"interval_blocks", "integer", "1", "blocks between slices (>= 1)"},
    {"start_block", "integer", "1", "block of the first slice (>= 1)"},
    {"window_blocks", "integer", "slices x interval_blocks",
     "blocks over which the reference TWAP is measured, from start_block (>= 1)"},
    {"slippage_tolerance", "number", "0.01",
     "each slice's minimum output = quoted output * (1 - tolerance), in [0, 1)"},
    {"gas_used", "integer", "150000", "gas units per swap (>= 0)"},
    {"private_channel", "boolean", "false",
     "send slices through a private relay (not in the public mempool: no sandwich); false: public"},
    {"priority_fee_gwei", "number", "0", "tip per gas unit, gwei (>= 0)"},
};

class TwapTraderParams;

class TwapTrader final : public Agent {
 public:
  TwapTrader(const TwapTraderParams& params, const AgentContext& context);
  void act(const View& view, TransactionSink& sink) override;
  bool idle_until(const View& view, WakeConditions& wake) override;
  void on_receipt(const core::Receipt& receipt, const View& view) override;
  void finish(const View& view, std::span<double> outcomes) override;

 private:
  bool is_slice_block(core::BlockNumber block) const;

  const TwapTraderParams& params_;
  core::AgentIndex index_;
  ExecutionTracker tracker_;
  double failed_slices_ = 0.0;
  SandwichExposure sandwiches_;
};

class TwapTraderParams final : public AgentParams, public TradingProgram {
 public:
  std::uint64_t slices = 1;
  std::uint64_t interval_blocks = 1;
  double slippage_tolerance = 0.01;
  double priority_fee_gwei = 0.0;
  double gas_native_per_swap = 0.0;

  std::unique_ptr<Agent> create(const AgentContext& context) const override {
    return std::make_unique<TwapTrader>(*this, context);
  }
  std::vector<output::MetricInfo> outcome_metrics() const override {
    auto metrics = execution_metrics();
    metrics.push_back({"failed_slices", "count",
                       "slices that did not execute: reverted at their slippage limit, or not included",
                       output::RiskTail::higher_is_worse});
    // SandwichExposure's metrics; the count named for what it counts here.
    auto exposure = SandwichExposure::outcome_metrics();
    exposure[0].name = "sandwiched_slices";
    metrics.insert(metrics.end(), exposure.begin(), exposure.end());
    return metrics;
  }
  std::vector<double> initial_wallet(std::size_t asset_count) const override {
    std::vector<double> wallet(asset_count, 0.0);
    wallet[sell] += amount;
    wallet[native_asset] += gas_native_per_swap * static_cast<double>(slices);
    return wallet;
  }
};

TwapTrader::TwapTrader(const TwapTraderParams& params, const AgentContext& context)
    : params_(params),
      index_(context.index),
      tracker_(params.make_tracker()) {}

bool TwapTrader::is_slice_block(core::BlockNumber block) const {
  if (block < params_.start_block) return false;
  const core::BlockNumber since = block - params_.start_block;
  return since % params_.interval_blocks == 0 && since / params_.interval_blocks < params_.slices;
}

void TwapTrader::act(const View& view, TransactionSink& sink) {
  tracker_.observe(view);
  if (!is_slice_block(view.block)) return;
  const markets::Cpmm& pool = markets::constant_product_pool(view.markets[params_.market]);
  core::Transaction transaction;
  transaction.sender = index_;
  transaction.market = params_.market;
  transaction.kind = core::TransactionKind::swap;
  transaction.funding = core::Funding::wallet;
  transaction.token_in = params_.sell;
  // amount / slices can round up: the last slice, or any, sells no more than the wallet holds.
  const double gas_reserve = params_.sell == view.native_asset ? params_.gas_native_per_swap : 0.0;
  transaction.amount_in = std::min(params_.amount / static_cast<double>(params_.slices),
                                   view.wallets.balance(index_, params_.sell) - gas_reserve);
  transaction.min_amount_out =
      pool.amount_out(params_.sell == pool.asset_x(), transaction.amount_in) * (1.0 - params_.slippage_tolerance);
  transaction.gas_used = params_.gas_used;
  transaction.private_channel = params_.private_channel;
  transaction.priority_fee_gwei = params_.priority_fee_gwei;
  sink.submit(transaction);
}

// Awake while it measures the TWAP or has slices to send; asleep before and after.
bool TwapTrader::idle_until(const View& view, WakeConditions& wake) {
  const core::BlockNumber next = view.block + 1;
  const core::BlockNumber last_slice = params_.start_block + (params_.slices - 1) * params_.interval_blocks;
  if (next < params_.start_block) {
    wake.wake_block = params_.start_block;
    return true;
  }
  return next > last_slice && next >= tracker_.end_block();  // nothing left to do, for good
}

void TwapTrader::on_receipt(const core::Receipt& receipt, const View& view) {
  tracker_.add_gas(receipt.gas_paid_native * view.reference_prices[view.native_asset]);
  sandwiches_.observe(receipt, view);
  if (receipt.succeeded()) {
    tracker_.add_fill(receipt.amount_in, receipt.amount_out);
  } else {
    failed_slices_ += 1.0;
  }
}

void TwapTrader::finish(const View& view, std::span<double> outcomes) {
  tracker_.finish(view, outcomes);
  const std::size_t own = outcomes.size() - 3;
  outcomes[own] = failed_slices_;
  outcomes[own + 1] = sandwiches_.sandwiched();
  outcomes[own + 2] = sandwiches_.loss();
}

std::shared_ptr<const AgentParams> parse_twap_trader(const config::ConfigNode& node, const WorldNames& names) {
  auto params = std::make_shared<TwapTraderParams>();
  const config::ConfigNode market = node.child("market");
  params->market = names.market(market);
  const markets::CpmmParams* pool = markets::constant_product_params(names.markets[params->market]);
  if (pool == nullptr) market.fail("the twap_trader swaps on cpmm or twamm markets only");
  params->slices = static_cast<std::uint64_t>(node.integer_at_least("slices", 1, 1));
  params->interval_blocks = static_cast<std::uint64_t>(node.integer_at_least("interval_blocks", 1, 1));
  parse_trading_program(node, names, params->market, market, *pool, params->slices * params->interval_blocks, 150000,
                        *params);
  params->slippage_tolerance = node.number_in("slippage_tolerance", 0.01, 0.0, true, 1.0, false);
  params->priority_fee_gwei = node.number_in("priority_fee_gwei", 0.0, 0.0, true, 1e6, true);
  // Gas at the base price plus the tip; the base price is constant over a path.
  params->gas_native_per_swap = static_cast<double>(params->gas_used) *
                                (names.base_gas_price_gwei + params->priority_fee_gwei) * core::native_per_gwei;
  return params;
}

}  // namespace

AgentType twap_trader_type() {
  return {"twap_trader",
          "Sells a large amount in equal public swaps at a fixed interval (a manual TWAP; one slice is a "
          "single swap), each with a slippage limit; measured against the reference TWAP.",
          twap_trader_keys, parse_twap_trader};
}

}  // namespace defisim::agents
