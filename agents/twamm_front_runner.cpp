#include "agents/twamm_front_runner.hpp"

#include <algorithm>
#include <cmath>

namespace defisim::agents {

namespace {

constexpr config::KeySpec front_runner_keys[] = {
    {"market", "market id", "", "the twamm whose long-term orders it watches"},
    {"min_order_numeraire", "number", "100000",
     "smallest long-term order it reacts to, value of the order's input at reference prices (> 0)"},
    {"pool_buy_numeraire", "number", "20000",
     "value it buys ahead on the twamm's pool, at reference prices (>= 0)"},
    {"inventory_numeraire", "number", "0",
     "value of the same token it also sells into the order from its starting inventory (bought elsewhere; >= 0)"},
    {"capital_numeraire", "number", "1000000",
     "its wallet starts with this value of each of the twamm's two tokens at initial prices (> 0)"},
    {"bribe_native", "number", "0", "bid on its front-run bundle under mev ordering, native tokens (>= 0)"},
    {"gas_used", "integer", "200000", "gas units per transaction (>= 0)"},
};

class TwammFrontRunnerParams;

class TwammFrontRunner final : public Agent {
 public:
  TwammFrontRunner(const TwammFrontRunnerParams& params, const AgentContext& context);
  void act(const View& view, TransactionSink& sink) override;
  bool idle_until(const View& view, WakeConditions& wake) override;
  void on_receipt(const core::Receipt& receipt, const View& view) override;
  void finish(const View& view, std::span<double> outcomes) override;

 private:
  enum class Stage { watching, bought, selling, closing };
  void watch(const View& view, const markets::Twamm& twamm, TransactionSink& sink);
  void sell_into_victim(const View& view, const markets::Twamm& twamm, TransactionSink& sink);
  void follow_victim(const View& view, const markets::Twamm& twamm, TransactionSink& sink);
  core::Transaction transaction_of(core::TransactionKind kind) const;
  double wallet_value_vs_start(const View& view) const;

  const TwammFrontRunnerParams& params_;
  core::AgentIndex index_;
  Stage stage_ = Stage::watching;
  // The victim: who placed the order, what it sells, and where to find it.
  core::AgentIndex victim_ = core::no_agent;
  core::AssetIndex victim_sells_ = 0;
  core::AssetIndex victim_buys_ = 0;
  std::uint32_t orders_before_victim_ = 0;
  std::uint32_t victim_order_ = 0;
  std::uint32_t own_order_ = 0;
  bool own_order_open_ = false;
  double attacks_ = 0.0;
  double gas_paid_ = 0.0;
};

class TwammFrontRunnerParams final : public AgentParams {
 public:
  core::MarketIndex market = 0;
  double min_order_numeraire = 100000.0;
  double pool_buy_numeraire = 20000.0;
  double inventory_numeraire = 0.0;
  double capital_numeraire = 1e6;
  double bribe_native = 0.0;
  std::uint32_t gas_used = 200000;
  core::AssetIndex native_asset = 0;
  std::vector<double> starting_wallet;  // per asset

  std::unique_ptr<Agent> create(const AgentContext& context) const override {
    return std::make_unique<TwammFrontRunner>(*this, context);
  }
  bool watches_mempool() const override { return true; }
  std::vector<output::MetricInfo> outcome_metrics() const override {
    using output::RiskTail;
    return {
        {"pnl_vs_hodl", "numeraire",
         "wallet (and open order) value minus the starting wallet's, at final reference prices, gas included",
         RiskTail::lower_is_worse},
        {"attacks", "count", "victim orders it bought ahead of and sold into", RiskTail::higher_is_worse},
        {"gas_paid", "numeraire", "gas paid", RiskTail::higher_is_worse},
    };
  }
  std::vector<double> initial_wallet(std::size_t) const override { return starting_wallet; }
};

TwammFrontRunner::TwammFrontRunner(const TwammFrontRunnerParams& params, const AgentContext& context)
    : params_(params), index_(context.index) {}

core::Transaction TwammFrontRunner::transaction_of(core::TransactionKind kind) const {
  core::Transaction transaction;
  transaction.sender = index_;
  transaction.market = params_.market;
  transaction.kind = kind;
  transaction.funding = core::Funding::wallet;
  transaction.gas_used = params_.gas_used;
  return transaction;
}

void TwammFrontRunner::act(const View& view, TransactionSink& sink) {
  const auto& twamm = std::get<markets::Twamm>(view.markets[params_.market]);
  switch (stage_) {
    case Stage::watching: watch(view, twamm, sink); break;
    case Stage::bought: sell_into_victim(view, twamm, sink); break;
    case Stage::selling: follow_victim(view, twamm, sink); break;
    case Stage::closing: break;  // waiting for its cancel's receipt
  }
}

// 1-2: a large long-term order in the mempool; buy ahead on the pool.
void TwammFrontRunner::watch(const View& view, const markets::Twamm& twamm, TransactionSink& sink) {
  for (const core::Transaction& pending : view.mempool) {
    if (pending.kind != core::TransactionKind::place_long_term_order || pending.market != params_.market ||
        pending.sender == index_ || !twamm.pool().trades(pending.token_in)) {
      continue;
    }
    if (pending.amount_in * view.reference_prices[pending.token_in] < params_.min_order_numeraire) continue;
    victim_ = pending.sender;
    victim_sells_ = pending.token_in;
    victim_buys_ = pending.token_in == twamm.pool().asset_x() ? twamm.pool().asset_y() : twamm.pool().asset_x();
    orders_before_victim_ = twamm.order_count();
    stage_ = Stage::bought;
    if (params_.pool_buy_numeraire > 0.0) {
      core::Transaction buy = transaction_of(core::TransactionKind::swap);
      buy.token_in = victim_sells_;
      buy.amount_in = std::min(params_.pool_buy_numeraire / view.reference_prices[victim_sells_],
                               view.wallets.balance(index_, victim_sells_));
      if (view.ordering == core::Ordering::mev) {
        buy.bundle_role = core::BundleRole::front_run;
        buy.bundle_target = pending.sequence;
        buy.bribe_native = params_.bribe_native;
        buy.private_channel = true;  // a sealed bundle to the builder
      }
      if (buy.amount_in > 0.0) sink.submit(buy);
    }
    return;
  }
}

// 3: find the victim's order and sell into it until it expires.
void TwammFrontRunner::sell_into_victim(const View& view, const markets::Twamm& twamm, TransactionSink& sink) {
  bool victim_found = false;
  for (std::uint32_t id = orders_before_victim_; id < twamm.order_count() && !victim_found; ++id) {
    const markets::LongTermOrder& order = twamm.order(id);
    if (order.owner == victim_ && order.token_in == victim_sells_ && order.status == markets::OrderStatus::open) {
      victim_order_ = id;
      victim_found = true;
    }
  }
  if (!victim_found) {
    stage_ = Stage::watching;  // the victim's placement failed: nothing to sell into
    return;
  }
  const markets::LongTermOrder& victim = twamm.order(victim_order_);
  const core::BlockNumber interval = twamm.order_interval_blocks();
  const core::BlockNumber own_start = (view.block + interval - 1) / interval * interval;
  const double inventory = std::min(params_.inventory_numeraire / view.reference_prices[victim_buys_],
                                    view.wallets.balance(index_, victim_buys_));
  const double bought_on_pool =
      std::max(0.0, view.wallets.balance(index_, victim_buys_) - params_.starting_wallet[victim_buys_]);
  const double amount = std::min(bought_on_pool + inventory, view.wallets.balance(index_, victim_buys_));
  if (victim.expiry_block <= own_start || !(amount > 0.0)) {
    stage_ = Stage::watching;
    return;
  }
  core::Transaction order = transaction_of(core::TransactionKind::place_long_term_order);
  order.token_in = victim_buys_;
  order.amount_in = amount;
  order.duration_blocks = victim.expiry_block - own_start;
  sink.submit(order);
  stage_ = Stage::selling;
}

// 4: when the victim's order ends, cancel the bait (or withdraw once it expired).
void TwammFrontRunner::follow_victim(const View& view, const markets::Twamm& twamm, TransactionSink& sink) {
  if (!own_order_open_) return;  // its placement is still on the way
  const markets::LongTermOrder& victim = twamm.order(victim_order_);
  const bool victim_done = victim.status != markets::OrderStatus::open || victim.expiry_block <= view.block;
  if (!victim_done) return;
  const markets::LongTermOrder& own = twamm.order(own_order_);
  core::Transaction close = transaction_of(own.expiry_block <= view.block ? core::TransactionKind::withdraw_proceeds
                                                                          : core::TransactionKind::cancel_long_term_order);
  close.order_id = own_order_;
  close.token_in = own.token_in;
  sink.submit(close);
  stage_ = Stage::closing;
}

// Asleep while watching with nothing pending; awake while it runs an attack.
bool TwammFrontRunner::idle_until(const View&, WakeConditions& wake) {
  if (stage_ != Stage::watching) return false;
  wake.wake_on_mempool = true;
  return true;
}

void TwammFrontRunner::on_receipt(const core::Receipt& receipt, const View& view) {
  gas_paid_ += receipt.gas_paid_native * view.reference_prices[view.native_asset];
  const core::TransactionKind kind = receipt.transaction.kind;
  if (kind == core::TransactionKind::place_long_term_order) {
    own_order_open_ = receipt.succeeded();
    own_order_ = receipt.order_id;
    if (!receipt.succeeded()) stage_ = Stage::watching;
  } else if (kind == core::TransactionKind::cancel_long_term_order || kind == core::TransactionKind::withdraw_proceeds) {
    if (receipt.succeeded()) {
      own_order_open_ = false;
      attacks_ += 1.0;
      stage_ = Stage::watching;
    } else {
      stage_ = Stage::selling;  // try again next block
    }
  }
}

double TwammFrontRunner::wallet_value_vs_start(const View& view) const {
  double value = 0.0;
  for (std::size_t asset = 0; asset < params_.starting_wallet.size(); ++asset) {
    const auto a = static_cast<core::AssetIndex>(asset);
    value += (view.wallets.balance(index_, a) - params_.starting_wallet[asset]) * view.reference_prices[a];
  }
  if (own_order_open_) {
    const auto& twamm = std::get<markets::Twamm>(view.markets[params_.market]);
    const markets::LongTermOrder& own = twamm.order(own_order_);
    value += twamm.unsold_of(own_order_) * view.reference_prices[own.token_in] +
             twamm.proceeds_of(own_order_) * view.reference_prices[own.token_out];
  }
  return value;
}

void TwammFrontRunner::finish(const View& view, std::span<double> outcomes) {
  outcomes[0] = wallet_value_vs_start(view);
  outcomes[1] = attacks_;
  outcomes[2] = gas_paid_;
}

std::shared_ptr<const AgentParams> parse_twamm_front_runner(const config::ConfigNode& node, const WorldNames& names) {
  auto params = std::make_shared<TwammFrontRunnerParams>();
  const config::ConfigNode market = node.child("market");
  params->market = names.market(market);
  const auto* twamm = std::get_if<markets::TwammParams>(&names.markets[params->market]);
  if (twamm == nullptr) market.fail("the twamm_front_runner watches twamm markets only");
  params->min_order_numeraire = node.number_in("min_order_numeraire", 100000.0, 0.0, false, INFINITY, false);
  params->pool_buy_numeraire = node.number_in("pool_buy_numeraire", 20000.0, 0.0, true, INFINITY, false);
  params->inventory_numeraire = node.number_in("inventory_numeraire", 0.0, 0.0, true, INFINITY, false);
  params->capital_numeraire = node.number_in("capital_numeraire", 1e6, 0.0, false, INFINITY, false);
  params->bribe_native = node.number_in("bribe_native", 0.0, 0.0, true, INFINITY, false);
  params->gas_used = static_cast<std::uint32_t>(node.integer_at_least("gas_used", 200000, 0));
  params->native_asset = names.native_asset;
  params->starting_wallet.assign(names.assets.size(), 0.0);
  for (const core::AssetIndex asset : {twamm->pool.asset_x, twamm->pool.asset_y}) {
    params->starting_wallet[asset] += params->capital_numeraire / names.initial_prices[asset];
  }
  // Gas for a few hundred transactions at the base price: an attack takes three or four.
  params->starting_wallet[names.native_asset] +=
      400.0 * params->gas_used * names.base_gas_price_gwei * core::native_per_gwei;
  return params;
}

}  // namespace

AgentType twamm_front_runner_type() {
  return {"twamm_front_runner",
          "Sees a large long-term order in the mempool, buys ahead on the twamm's pool, sells into the order "
          "with a long-term order of its own, and cancels that bait when the victim's order ends.",
          front_runner_keys, parse_twamm_front_runner};
}

}  // namespace defisim::agents
