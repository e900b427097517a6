#include "agents/twamm_trader.hpp"

#include <fmt/format.h>

#include <cmath>

#include "agents/execution_tracker.hpp"

namespace defisim::agents {

namespace {

constexpr config::KeySpec twamm_trader_keys[] = {
    {"market", "market id", "", "the twamm it places its long-term order on"},
    {"sell", "asset", "", "the token it sells (one of the twamm's pair)"},
    {"amount", "number", "", "amount to sell, tokens of `sell` (> 0)"},
    {"duration_blocks", "integer", "", "blocks to sell over (>= 1; rounded up to whole order intervals)"},
    {"start_block", "integer", "1", "block in which it places the order (>= 1)"},
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
  core::Transaction order_transaction(core::TransactionKind kind) const;

  const TwammTraderParams& params_;
  core::AgentIndex index_;
  ExecutionTracker tracker_;
  Stage stage_ = Stage::waiting;
  std::uint32_t order_id_ = 0;
  double placed_ = 0.0;    // tokens of `sell` accepted by the twamm
  double refunded_ = 0.0;  // tokens of `sell` returned by a cancel
  double received_ = 0.0;  // tokens bought, withdrawn so far
};

class TwammTraderParams final : public AgentParams {
 public:
  core::MarketIndex market = 0;
  core::AssetIndex sell = 0;
  core::AssetIndex buy = 1;
  std::string sell_symbol, buy_symbol;  // for metric units
  double amount = 0.0;
  std::uint64_t duration_blocks = 1;
  std::uint64_t start_block = 1;
  std::uint64_t cancel_at_block = 0;
  std::uint64_t window_blocks = 1;
  std::uint32_t gas_used = 200000;
  bool private_channel = false;
  core::AssetIndex native_asset = 0;
  double gas_native_per_transaction = 0.0;

  std::unique_ptr<Agent> create(const AgentContext& context) const override {
    return std::make_unique<TwammTrader>(*this, context);
  }
  std::vector<output::MetricInfo> outcome_metrics() const override {
    auto metrics = ExecutionTracker::outcome_metrics(sell_symbol, buy_symbol);
    metrics.push_back({"refunded", sell_symbol, "unsold input returned by a cancel",
                       output::RiskTail::lower_is_worse});
    return metrics;
  }
  std::vector<double> initial_wallet(std::size_t asset_count) const override {
    std::vector<double> wallet(asset_count, 0.0);
    wallet[sell] += amount;
    // Place, then cancel or withdraw: at most two transactions' gas, and one more for a withdrawal after a cancel.
    wallet[native_asset] += 3.0 * gas_native_per_transaction;
    return wallet;
  }
};

TwammTrader::TwammTrader(const TwammTraderParams& params, const AgentContext& context)
    : params_(params),
      index_(context.index),
      tracker_(params.sell, params.buy, params.start_block, params.start_block + params.window_blocks, params.amount) {}

core::Transaction TwammTrader::order_transaction(core::TransactionKind kind) const {
  core::Transaction transaction;
  transaction.sender = index_;
  transaction.market = params_.market;
  transaction.kind = kind;
  transaction.funding = core::Funding::wallet;
  transaction.token_in = params_.sell;
  transaction.gas_used = params_.gas_used;
  transaction.private_channel = params_.private_channel;
  transaction.order_id = order_id_;
  return transaction;
}

void TwammTrader::act(const View& view, TransactionSink& sink) {
  tracker_.observe(view);
  if (stage_ == Stage::waiting && view.block == params_.start_block) {
    core::Transaction transaction = order_transaction(core::TransactionKind::place_long_term_order);
    transaction.amount_in = params_.amount;
    transaction.duration_blocks = params_.duration_blocks;
    sink.submit(transaction);
    return;
  }
  if (stage_ != Stage::running) return;
  const auto& twamm = std::get<markets::Twamm>(view.markets[params_.market]);
  const markets::LongTermOrder& order = twamm.order(order_id_);
  if (order.status != markets::OrderStatus::open) {
    stage_ = Stage::settled;
    return;
  }
  const bool expired = order.expiry_block <= view.block;
  if (expired || view.block == params_.cancel_at_block) {
    sink.submit(order_transaction(expired ? core::TransactionKind::withdraw_proceeds
                                                             : core::TransactionKind::cancel_long_term_order));
  }
}

// Asleep before its start and after its order is settled and the TWAP
// window is over; awake in between (it measures the TWAP every block).
bool TwammTrader::idle_until(const View& view, WakeConditions& wake) {
  const core::BlockNumber next = view.block + 1;
  if (stage_ == Stage::waiting && next <= params_.start_block) {
    wake.wake_block = params_.start_block;
    return true;
  }
  return stage_ == Stage::settled && next >= tracker_.end_block();
}

void TwammTrader::on_receipt(const core::Receipt& receipt, const View& view) {
  tracker_.add_gas(receipt.gas_paid_native * view.reference_prices[view.native_asset]);
  if (!receipt.succeeded()) {
    // A failed placement ends the program; a failed cancel or withdrawal is retried next block.
    if (receipt.transaction.kind == core::TransactionKind::place_long_term_order) stage_ = Stage::settled;
    return;
  }
  switch (receipt.transaction.kind) {
    case core::TransactionKind::place_long_term_order:
      order_id_ = receipt.order_id;
      placed_ = receipt.amount_in;
      stage_ = Stage::running;
      break;
    case core::TransactionKind::cancel_long_term_order:
      refunded_ += receipt.amount_other;
      received_ += receipt.amount_out;
      stage_ = Stage::settled;
      break;
    case core::TransactionKind::withdraw_proceeds:
      received_ += receipt.amount_out;
      stage_ = Stage::settled;
      break;
    default: break;
  }
}

void TwammTrader::finish(const View& view, std::span<double> outcomes) {
  // An order still running at the end of the path: what it has sold and
  // bought so far counts, unsold input and proceeds as the twamm holds them.
  double unsold = 0.0;
  double pending = 0.0;
  if (stage_ == Stage::running) {
    const auto& twamm = std::get<markets::Twamm>(view.markets[params_.market]);
    unsold = twamm.unsold_of(order_id_);
    pending = twamm.proceeds_of(order_id_);
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
  const WorldNames::TradeSides sides = names.trade_sides(node.child("sell"), twamm->pool, market);
  params->sell = sides.sell;
  params->buy = sides.buy;
  params->sell_symbol = names.assets[params->sell];
  params->buy_symbol = names.assets[params->buy];
  params->amount = node.number_in("amount", 0.0, 0.0, false, INFINITY, false);
  params->duration_blocks = static_cast<std::uint64_t>(node.integer_at_least("duration_blocks", 1, 1));
  params->start_block = static_cast<std::uint64_t>(node.integer_at_least("start_block", 1, 1));
  params->cancel_at_block = static_cast<std::uint64_t>(node.integer_at_least("cancel_at_block", 0, 0));
  if (params->cancel_at_block != 0 && params->cancel_at_block <= params->start_block) {
    node.child("cancel_at_block").fail(fmt::format("must be after start_block ({}) or 0", params->start_block));
  }
  params->window_blocks = node.has("window_blocks")
                              ? static_cast<std::uint64_t>(node.integer_at_least("window_blocks", 1, 1))
                              : params->duration_blocks;
  params->gas_used = static_cast<std::uint32_t>(node.integer_at_least("gas_used", 200000, 0));
  params->private_channel = node.boolean("private_channel", false);
  params->native_asset = names.native_asset;
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
