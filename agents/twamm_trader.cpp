#include "agents/twamm_trader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "agents/trading_program.hpp"

namespace defisim::agents {

namespace {

constexpr config::KeySpec twamm_trader_keys[] = {
    {"market", "market id", "", "the twamm it places its long-term order on"},
    {"sell", "asset", "", "the token it sells (one of the twamm's pair)"},
    {"amount", "number", "", "amount to sell, tokens of `sell` (> 0)"},
    {"duration_blocks", "integer", "", "blocks to sell over (>= 1; rounded up to whole order intervals)"},
    {"start_block", "integer", "1", "block in which it places the order (>= 1)"},
    {"orders", "integer", "1",
     "number of equal orders the amount is split into, all placed in start_block, order k (0-based) lasting "
     "ceil(duration_blocks * (k + 1) / orders) blocks, so expiries are staggered (1 to 100000; the twamm's "
     "max_orders and the block's capacity must allow them)"},
    {"cancel_at_block", "integer", "0", "block in which it cancels the order if still running (0: never)"},
    {"window_blocks", "integer", "duration_blocks",
     "blocks over which the reference TWAP is measured, from start_block (>= 1)"},
    {"gas_used", "integer", "200000", "gas units per transaction: place, cancel, withdraw (>= 0)"},
    {"private_channel", "boolean", "false",
     "send its transactions through a private relay (its order is still public on the twamm once placed)"},
};

class TwammTraderParams;

class TwammTrader final : public Agent {
 public:
  TwammTrader(const TwammTraderParams& params, const AgentContext& context);
  void act(const View& view, TransactionSink& sink) override;
  bool idle_until(const View& view, WakeConditions& wake) override;
  void on_receipt(const core::Receipt& receipt, const View& view) override;
  void finish(const View& view, std::span<double> outcomes) override;

 private:
  enum class Stage { waiting, running, settled };
  core::Transaction order_transaction(core::TransactionKind kind, std::uint32_t order_id) const;
  void place_orders(TransactionSink& sink);
  void settle_due(const markets::Twamm& twamm, core::BlockNumber block, TransactionSink& sink);

  const TwammTraderParams& params_;
  core::AgentIndex index_;
  ExecutionTracker tracker_;
  Stage stage_ = Stage::waiting;
  // Its orders, sorted by expiry once placed; those before next_to_settle_
  // have been sent their withdrawal or cancel.
  std::vector<std::uint32_t> orders_;
  bool sorted_ = false;
  std::size_t next_to_settle_ = 0;
  double placed_ = 0.0;    // tokens of `sell` accepted by the twamm
  double refunded_ = 0.0;  // tokens of `sell` paid back (cancels, and dust with a last withdrawal)
  double received_ = 0.0;  // tokens bought, withdrawn so far
};

class TwammTraderParams final : public AgentParams, public TradingProgram {
 public:
  std::uint64_t duration_blocks = 1;
  std::uint32_t orders = 1;
  std::uint64_t cancel_at_block = 0;
  double gas_native_per_transaction = 0.0;

  std::unique_ptr<Agent> create(const AgentContext& context) const override {
    return std::make_unique<TwammTrader>(*this, context);
  }
  std::vector<output::MetricInfo> outcome_metrics() const override {
    auto metrics = execution_metrics();
    metrics.push_back({"refunded", sell_symbol, "unsold input returned by a cancel",
                       output::RiskTail::lower_is_worse});
    return metrics;
  }
  std::vector<double> initial_wallet(std::size_t asset_count) const override {
    std::vector<double> wallet(asset_count, 0.0);
    wallet[sell] += amount;
    // Per order: its placement and its cancel or withdrawal; and one to spare.
    wallet[native_asset] += (2.0 * orders + 1.0) * gas_native_per_transaction;
    return wallet;
  }
};

TwammTrader::TwammTrader(const TwammTraderParams& params, const AgentContext& context)
    : params_(params),
      index_(context.index),
      tracker_(params.make_tracker()) {
  orders_.reserve(params.orders);
}

core::Transaction TwammTrader::order_transaction(core::TransactionKind kind, std::uint32_t order_id) const {
  core::Transaction transaction;
  transaction.sender = index_;
  transaction.market = params_.market;
  transaction.kind = kind;
  transaction.funding = core::Funding::wallet;
  transaction.token_in = params_.sell;
  transaction.gas_used = params_.gas_used;
  transaction.private_channel = params_.private_channel;
  transaction.order_id = order_id;
  return transaction;
}

// Equal orders with staggered durations. The last takes what the others
// leave, subtracted in the order the ledger will subtract them, so the
// wallet (which holds exactly `amount` of the sold token, plus gas) pays
// every one of them.
void TwammTrader::place_orders(TransactionSink& sink) {
  const std::uint32_t count = params_.orders;
  const double each = params_.amount / static_cast<double>(count);
  double remaining = params_.amount;
  for (std::uint32_t k = 0; k < count; ++k) {
    core::Transaction transaction = order_transaction(core::TransactionKind::place_long_term_order, 0);
    transaction.amount_in = k + 1 < count ? each : remaining;
    remaining -= each;
    transaction.duration_blocks = (params_.duration_blocks * (k + 1) + count - 1) / count;
    if (!sink.submit(transaction)) break;
  }
}

// Withdraw each order once it has expired, or, in cancel_at_block, cancel
// every order still running. Orders are sorted by expiry, so a block looks
// at its due orders only, however many are live.
void TwammTrader::settle_due(const markets::Twamm& twamm, core::BlockNumber block, TransactionSink& sink) {
  if (!sorted_) {
    std::sort(orders_.begin(), orders_.end(), [&twamm](std::uint32_t a, std::uint32_t b) {
      return twamm.order(a).expiry_block < twamm.order(b).expiry_block;
    });
    sorted_ = true;
  }
  const bool cancelling = block == params_.cancel_at_block;
  while (next_to_settle_ < orders_.size()) {
    const std::uint32_t id = orders_[next_to_settle_];
    const markets::LongTermOrder& order = twamm.order(id);
    const bool expired = order.expiry_block <= block;
    if (!expired && !cancelling) break;
    if (order.status == markets::OrderStatus::open) {
      const auto kind = expired ? core::TransactionKind::withdraw_proceeds : core::TransactionKind::cancel_long_term_order;
      if (!sink.submit(order_transaction(kind, id))) break;  // a full block: the rest next block
    }
    ++next_to_settle_;
  }
  if (next_to_settle_ == orders_.size()) stage_ = Stage::settled;
}

void TwammTrader::act(const View& view, TransactionSink& sink) {
  tracker_.observe(view);
  if (stage_ == Stage::waiting && view.block == params_.start_block) {
    place_orders(sink);
    stage_ = Stage::running;
    return;
  }
  if (stage_ == Stage::running) settle_due(std::get<markets::Twamm>(view.markets[params_.market]), view.block, sink);
}

// Awake while it measures the TWAP (every block of its window). Otherwise
// asleep: until its start, then until its next order expires or its cancel
// block, and for good once every order is settled. Its act() reads nothing
// else that could change in between (the expiries are fixed at placement).
bool TwammTrader::idle_until(const View& view, WakeConditions& wake) {
  const core::BlockNumber next = view.block + 1;
  if (stage_ == Stage::waiting) {
    if (next > params_.start_block) return false;
    wake.wake_block = params_.start_block;
    return true;
  }
  if (next < tracker_.end_block()) return false;
  if (stage_ == Stage::settled) return true;
  if (!sorted_) return false;  // its orders' expiries are read in the next act()
  const auto& twamm = std::get<markets::Twamm>(view.markets[params_.market]);
  core::BlockNumber wake_at = next_to_settle_ < orders_.size()
                                  ? twamm.order(orders_[next_to_settle_]).expiry_block
                                  : WakeConditions::never;
  if (params_.cancel_at_block >= next && params_.cancel_at_block < wake_at) wake_at = params_.cancel_at_block;
  wake.wake_block = wake_at;
  return true;
}

void TwammTrader::on_receipt(const core::Receipt& receipt, const View& view) {
  tracker_.add_gas(receipt.gas_paid_native * view.reference_prices[view.native_asset]);
  // A failed placement is not retried; a failed withdrawal or cancel leaves
  // its order open, and finish() counts what the twamm still holds for it.
  if (!receipt.succeeded()) return;
  switch (receipt.transaction.kind) {
    case core::TransactionKind::place_long_term_order:
      if (orders_.size() < orders_.capacity()) orders_.push_back(receipt.order_id);
      placed_ += receipt.amount_in;
      break;
    case core::TransactionKind::cancel_long_term_order:
    case core::TransactionKind::withdraw_proceeds:
      refunded_ += receipt.amount_other;
      received_ += receipt.amount_out;
      break;
    default: break;
  }
}

void TwammTrader::finish(const View& view, std::span<double> outcomes) {
  // Orders still open at the end of the path: what they have sold and
  // bought so far counts, their unsold input and proceeds as the twamm holds them.
  double unsold = 0.0;
  double pending = 0.0;
  const auto& twamm = std::get<markets::Twamm>(view.markets[params_.market]);
  for (const std::uint32_t id : orders_) {
    if (twamm.order(id).status != markets::OrderStatus::open) continue;
    unsold += twamm.unsold_of(id);
    pending += twamm.proceeds_of(id);
  }
  tracker_.add_fill(placed_ - refunded_ - unsold, received_ + pending);
  tracker_.finish(view, outcomes);
  outcomes[outcomes.size() - 1] = refunded_;
}

std::shared_ptr<const AgentParams> parse_twamm_trader(const config::ConfigNode& node, const WorldNames& names) {
  auto params = std::make_shared<TwammTraderParams>();
  const config::ConfigNode market = node.child("market");
  params->market = names.market(market);
  const auto* twamm = std::get_if<markets::TwammParams>(&names.markets[params->market]);
  if (twamm == nullptr) market.fail("the twamm_trader places long-term orders on twamm markets only");
  params->duration_blocks = static_cast<std::uint64_t>(node.integer_at_least("duration_blocks", 1, 1));
  parse_trading_program(node, names, params->market, market, twamm->pool, params->duration_blocks, 200000, *params);
  params->orders = static_cast<std::uint32_t>(node.integer_at_least("orders", 1, 1));
  if (params->orders > 100000) node.child("orders").fail(fmt::format("{} orders is too many; at most 100000", params->orders));
  params->cancel_at_block = static_cast<std::uint64_t>(node.integer_at_least("cancel_at_block", 0, 0));
  if (params->cancel_at_block != 0 && params->cancel_at_block <= params->start_block) {
    node.child("cancel_at_block").fail(fmt::format("must be after start_block ({}) or 0", params->start_block));
  }
  params->gas_native_per_transaction =
      static_cast<double>(params->gas_used) * names.base_gas_price_gwei * core::native_per_gwei;
  return params;
}

}  // namespace

AgentType twamm_trader_type() {
  return {"twamm_trader",
          "Places one long-term order on a twamm (size, duration), may cancel it, withdraws the proceeds; "
          "measured against the reference TWAP.",
          twamm_trader_keys, parse_twamm_trader};
}

}  // namespace defisim::agents
