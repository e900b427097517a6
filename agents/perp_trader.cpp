#include "agents/perp_trader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "agents/perp_support.hpp"
#include "framework/core/deterministic_math.hpp"
#include "markets/open_ids.hpp"

namespace defisim::agents {

namespace {

constexpr config::KeySpec perp_trader_keys[] = {
    {"market", "string", "", "the perpetual pool it trades: a market of type gmx_glp, gtrade_vault or vamm"},
    {"asset", "string", "(gmx_glp: the pool's first non-stable asset; gtrade_vault, vamm: the market's traded asset)",
     "the traded asset: for gmx_glp a non-stable asset of the pool (the index asset); for gtrade_vault and vamm it "
     "must be the market's traded_asset / base"},
    {"strategy", "string", "random",
     "how a new position picks its side, one of: random (long with probability long_probability); momentum (long if "
     "the asset's reference price rose over the last lookback_seconds, else short); mean_reverting (short if it "
     "rose, else long)"},
    {"long_probability", "number", "0.5",
     "random: probability that a position is long; momentum, mean_reverting: the same when the price is unchanged "
     "over the lookback; in [0, 1]"},
    {"lookback_seconds", "number", "3600",
     "momentum, mean_reverting: the window of the price change, seconds, in (0, 2592000], rounded to whole blocks "
     "(at least one); until that much time has passed, the change since block 0"},
    {"trades_per_hour", "number", "10",
     "rate of the Poisson process of new positions, per hour, in [0, 1000000]: a block of block_time seconds opens "
     "Poisson(rate x block_time / 3600) of them"},
    {"collateral_numeraire", "map", "{mean: 1000, sigma: 0.5}",
     "collateral value of a position, numeraire, lognormal: {mean: mean of the distribution (> 0), sigma: standard "
     "deviation of its log (>= 0)}"},
    {"leverage", "map", "{min: 2, max: 20}",
     "leverage (notional / collateral) of a position, log-uniform on [min, max], 1 <= min <= max. Not checked "
     "against the market: a leverage it refuses (gmx: size over collateral less the opening fee above max_leverage; "
     "gtrade: outside min_leverage..max_leverage; vamm: above 1 / initial_margin_ratio) reverts and counts as skipped"},
    {"holding_seconds", "number", "14400",
     "mean holding time, seconds (> 0): a position is closed once its exponentially distributed holding time has "
     "passed"},
    {"stop_loss", "number", "0",
     "close a position once its loss reaches this fraction of its collateral value, in [0, 1]; 0: never. The loss is "
     "the collateral value less what closing would pay now: gmx and gtrade at oracle prices net of pending fees "
     "(gmx margin and borrow fees; gtrade closing, rollover and funding fees), vamm at its exit value on the virtual "
     "reserves less funding owed and the closing spread and toll"},
    {"take_profit", "number", "0",
     "close a position once its gain (what closing would pay now, as for stop_loss, less the collateral value) "
     "reaches this fraction of its collateral value, >= 0; 0: never"},
    {"max_open_positions", "integer", "1000",
     "positions open at once at most (1 to 1000000; storage reserved up front); arrivals beyond it are skipped and "
     "counted"},
    {"gas_used", "integer", "500000", "gas units per open or close (0 to 1000000000)"},
    {"priority_fee_gwei", "number", "0", "tip per gas unit, gwei (>= 0)"},
};

constexpr config::KeySpec collateral_keys[] = {
    {"mean", "number", "1000", "mean collateral value, numeraire (> 0)"},
    {"sigma", "number", "0.5", "standard deviation of the log collateral value, in [0, 10]"},
};

constexpr config::KeySpec leverage_keys[] = {
    {"min", "number", "2", "lowest leverage, in [1, 1000000]"},
    {"max", "number", "20", "highest leverage, in [min, 1000000]"},
};

enum class Strategy : std::uint8_t { random, momentum, mean_reverting };

class PerpTraderParams;

class PerpTrader final : public Agent {
 public:
  PerpTrader(const PerpTraderParams& params, const AgentContext& context);
  void start(const View& view, TransactionSink& sink) override;
  void act(const View& view, TransactionSink& sink) override;
  bool idle_until(const View& view, WakeConditions& wake) override;
  void on_receipt(const core::Receipt& receipt, const View& view) override;
  void record(const View& view, std::span<double> series) override;
  void finish(const View& view, std::span<double> outcomes) override;

 private:
  enum class State : std::uint8_t { free, opening, open, closing };
  enum class CloseReason : std::uint8_t { expiry, stop_loss, take_profit };
  // One position of the population; its index is the transactions' tag.
  struct Slot {
    State state = State::free;
    CloseReason reason = CloseReason::expiry;
    std::uint32_t position = 0;     // the market's id, once opened
    double collateral = 0.0;        // numeraire, as drawn
    double cost = 0.0;              // numeraire paid at the opening (collateral and vamm fee), gas excluded
    double expiry_seconds = 0.0;
  };
  // What the position is worth to its owner if closed now, numeraire at
  // oracle prices (for the stop-loss and take-profit) and its payout's
  // tokens at reference prices (its mark); 0 if underwater. closable: the
  // close would execute (not underwater, and the market can pay it).
  struct Exit {
    bool closable = false;
    double oracle_value = 0.0;
    double reference_value = 0.0;
  };
  // What the closes this trader sent earlier in the block will take from
  // the market when they execute, so that a close the market could pay
  // alone but not after them is not sent: gmx, the pool and reserved
  // amounts of the long ([0]) and short ([1]) collateral; gtrade, the
  // vault's assets; vamm, the vault and insurance fund.
  struct Drain {
    double pool[2] = {0.0, 0.0};
    double reserved[2] = {0.0, 0.0};
    double vault = 0.0;
  };

  // Also adds what closing it would take from the market to `drain`.
  Exit exit_value(const View& view, const Slot& slot, Drain& drain) const;
  bool open_in_market(const View& view, std::uint32_t position) const;
  // Positions no longer open in the market that the trader did not close.
  void detect_liquidations(const View& view);
  void release(std::uint32_t slot);
  bool draw_long(const View& view, double uniform);
  double marked_pnl(const View& view) const;
  core::Transaction transaction(core::TransactionKind kind, std::uint32_t slot) const;

  const PerpTraderParams& params_;
  core::AgentIndex index_;
  core::RandomStream random_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_;    // free slots, the next one at the back
  markets::OpenIds active_;            // slots not free
  std::vector<double> history_;        // momentum, mean_reverting: the asset's reference price per block, a ring
  double next_arrival_seconds_ = std::numeric_limits<double>::infinity();
  std::uint32_t unclosable_ = 0;  // expired or triggered positions the last act() could not close
  double opened_ = 0, closed_ = 0, stopped_out_ = 0, took_profit_ = 0, liquidated_ = 0, skipped_ = 0;
  double wins_ = 0, fees_paid_ = 0, gas_paid_ = 0;
};

class PerpTraderParams final : public AgentParams {
 public:
  core::MarketIndex market = 0;
  PerpMechanism mechanism = PerpMechanism::gmx;
  core::AssetIndex asset = 0;              // the traded (index, base) asset
  core::AssetIndex short_collateral = 0;   // gmx: the pool's first stable; else the stable or quote
  core::AssetIndex long_collateral = 0;    // gmx: the asset itself; else the stable or quote
  Strategy strategy = Strategy::random;
  double long_probability = 0.5;
  double lookback_seconds = 3600.0;
  double arrivals_per_second = 10.0 / 3600.0;
  double collateral_mean = 1000.0, collateral_sigma = 0.5;
  double leverage_min = 2.0, leverage_max = 20.0;
  double log_leverage_min = 0.0, log_leverage_span = 0.0;
  double holding_seconds = 14400.0;
  double stop_loss = 0.0, take_profit = 0.0;
  std::uint32_t max_open_positions = 1000;
  std::uint32_t gas_used = 500000;
  double priority_fee_gwei = 0.0;

  std::unique_ptr<Agent> create(const AgentContext& context) const override {
    return std::make_unique<PerpTrader>(*this, context);
  }
  std::vector<output::MetricInfo> series_metrics() const override {
    using output::RiskTail;
    return {
        {"open_positions", "count", "positions open", RiskTail::higher_is_worse},
        {"pnl", "numeraire", "pnl so far (as the outcome)", RiskTail::lower_is_worse},
    };
  }
  std::vector<output::MetricInfo> outcome_metrics() const override {
    using output::RiskTail;
    return {
        {"positions_opened", "count", "positions opened", RiskTail::lower_is_worse},
        {"positions_closed", "count", "positions the traders closed (at expiry, stop-loss or take-profit)",
         RiskTail::lower_is_worse},
        {"stopped_out", "count", "of them, closed at the stop-loss", RiskTail::higher_is_worse},
        {"took_profit", "count", "of them, closed at the take-profit", RiskTail::lower_is_worse},
        {"liquidated", "count",
         "positions that left the market without the traders closing them (liquidations; gmx: incl. a keeper's "
         "close for exceeding max_leverage)",
         RiskTail::higher_is_worse},
        {"skipped", "count",
         "arrivals not opened: max_open_positions reached, the open reverted (leverage, caps, liquidity) or a full "
         "block",
         RiskTail::higher_is_worse},
        {"open_at_end", "count", "positions still open at the end", RiskTail::higher_is_worse},
        {"pnl", "numeraire",
         "the traders' result, gas included: the wallet (the numeraire paid for collateral and gas, the payouts "
         "received) at final reference prices, plus each open position marked at what closing it would pay "
         "(gmx, gtrade: at oracle prices with pending fees; vamm: its exit value less funding and closing fees; "
         "0 for one that cannot be closed: underwater, or more than the market could pay after the others), its "
         "tokens valued at reference prices",
         RiskTail::lower_is_worse},
        {"win_rate", "fraction",
         "fraction of ended positions (closed or liquidated) whose payout at reference prices exceeded what the "
         "opening cost (collateral, vamm fees; gas excluded); liquidations count as losses; 0 when none ended",
         RiskTail::lower_is_worse},
        {"fees_paid", "numeraire",
         "position and funding fees in the receipts of the traders' opens and closes (gmx margin and borrow fees; "
         "gtrade open, close, rollover and funding fees; vamm spread, toll and funding), numeraire at the oracle; "
         "funding received counts negative; fees taken at liquidations are not included",
         RiskTail::higher_is_worse},
        {"gas_paid", "numeraire", "gas paid, at reference prices", RiskTail::higher_is_worse},
    };
  }
};

PerpTrader::PerpTrader(const PerpTraderParams& params, const AgentContext& context)
    : params_(params),
      index_(context.index),
      random_(context.seed, context.path, core::streams::agent(context.index)),
      slots_(params.max_open_positions) {
  free_.reserve(params.max_open_positions);
  for (std::uint32_t i = params.max_open_positions; i > 0; --i) free_.push_back(i - 1);
  active_.reserve(params.max_open_positions);
  if (params.arrivals_per_second > 0.0) {
    next_arrival_seconds_ = -core::log_det(random_.uniform()) / params.arrivals_per_second;
  }
}

void PerpTrader::start(const View& view, TransactionSink&) {
  // The block time is known from the View only: the ring is sized here,
  // once per path, before block 1.
  if (params_.strategy == Strategy::random) return;
  const double blocks = std::round(params_.lookback_seconds / view.block_time_seconds);
  const std::size_t lookback_blocks = blocks < 1.0 ? 1 : static_cast<std::size_t>(blocks);
  history_.assign(lookback_blocks + 1, view.reference_prices[params_.asset]);
}

core::Transaction PerpTrader::transaction(core::TransactionKind kind, std::uint32_t slot) const {
  core::Transaction t;
  t.sender = index_;
  t.market = params_.market;
  t.kind = kind;
  t.funding = core::Funding::reference_venue;
  t.gas_used = params_.gas_used;
  t.priority_fee_gwei = params_.priority_fee_gwei;
  t.tag = slot;
  return t;
}

bool PerpTrader::open_in_market(const View& view, std::uint32_t position) const {
  const markets::Market& market = view.markets[params_.market];
  switch (params_.mechanism) {
    case PerpMechanism::gmx: return std::get_if<markets::GmxPool>(&market)->position(position).open;
    case PerpMechanism::gtrade: return std::get_if<markets::GtradeVault>(&market)->is_open(position);
    case PerpMechanism::vamm: return std::get_if<markets::Vamm>(&market)->position(position).open;
  }
  return false;
}

PerpTrader::Exit PerpTrader::exit_value(const View& view, const Slot& slot, Drain& drain) const {
  const markets::Market& market = view.markets[params_.market];
  Exit exit;
  switch (params_.mechanism) {
    case PerpMechanism::gmx: {
      // GmxPool::decrease of the whole size: the collateral plus the PnL
      // (a loss may not exceed the collateral) less the margin fee on the
      // size and the borrow fee, which what is left must cover.
      const auto& pool = *std::get_if<markets::GmxPool>(&market);
      const markets::GmxPosition& p = pool.position(slot.position);
      const double fee = pool.borrow_fee_usd(slot.position, view.time_seconds) + pool.params().margin_fee * p.size_usd;
      const double pnl = pool.position_pnl_usd(slot.position, view.oracle_prices);
      const double out = p.collateral_usd + pnl;
      if (!(out >= 0.0 && (out > fee || fee <= 0.0))) return exit;  // worth nothing to its owner
      const double price = view.oracle_prices[p.collateral_asset];
      exit.oracle_value = out - fee;
      exit.reference_value = exit.oracle_value / price * view.reference_prices[p.collateral_asset];
      // And the pool must be able to pay: a long's payout leaves the pool
      // (its collateral is pool tokens), a short's profit too; what it
      // reserved for the position is released.
      const std::size_t k = p.side == markets::PerpSide::long_ ? 0 : 1;
      const double fee_to_pool = fee / price * pool.params().lp_fee_share;
      const double pool_change = fee_to_pool - (k == 0 ? out : pnl) / price;
      const double pool_after = pool.pool_amount(p.collateral_asset) + drain.pool[k] + pool_change;
      const double reserved_after = pool.reserved_amount(p.collateral_asset) + drain.reserved[k] - p.reserve_amount;
      exit.closable = pool_after >= 0.0 && reserved_after <= pool_after;
      drain.pool[k] += pool_change;
      drain.reserved[k] -= p.reserve_amount;
      return exit;
    }
    case PerpMechanism::gtrade: {
      // GtradeVault::close_trade: the vault takes the collateral less the
      // closing fee's protocol share and pays the payout, if it can.
      const auto& vault = *std::get_if<markets::GtradeVault>(&market);
      const markets::GtradeTrade& trade = vault.trade(slot.position);
      const core::AssetIndex stable = vault.params().collateral_asset;
      const double tokens =
          vault.trade_payout(slot.position, view.oracle_prices[vault.params().traded_asset], view.time_seconds);
      exit.oracle_value = tokens * view.oracle_prices[stable];
      exit.reference_value = tokens * view.reference_prices[stable];
      const double closing_fee = vault.params().close_fee * trade.notional_usd;
      const double vault_change =
          vault.params().vault_fee_share * closing_fee + (trade.collateral - closing_fee - tokens);
      exit.closable = vault.vault_assets() + drain.vault + vault_change >= 0.0;
      drain.vault += vault_change;
      return exit;
    }
    case PerpMechanism::vamm: {
      // Vamm::close_position: margin - funding + PnL is paid if not negative
      // (else the position has bad debt and is for a liquidator) and if the
      // vault, with the insurance fund's advance, holds it; the spread and
      // toll on the exit notional are charged on top.
      const auto& vamm = *std::get_if<markets::Vamm>(&market);
      const markets::VammPosition p = vamm.position(slot.position);
      const double exit_notional = vamm.exit_notional(p.side, p.size_base);
      const double remain = vamm_close_remain(vamm, slot.position);
      if (!(std::isfinite(exit_notional) && remain >= 0.0)) return exit;
      const double tokens = remain - exit_notional * vamm.params().fee_ratio();
      const core::AssetIndex quote = vamm.params().quote_asset;
      exit.oracle_value = tokens * view.oracle_prices[quote];
      exit.reference_value = tokens * view.reference_prices[quote];
      exit.closable = remain <= vamm.vault() + vamm.insurance_fund() + drain.vault;
      drain.vault -= remain;
      return exit;
    }
  }
  return exit;
}

void PerpTrader::release(std::uint32_t slot) {
  active_.erase(slot);
  slots_[slot].state = State::free;
  free_.push_back(slot);
}

void PerpTrader::detect_liquidations(const View& view) {
  std::size_t i = 0;
  while (i < active_.size()) {
    const std::uint32_t slot = active_[i];
    if (slots_[slot].state == State::open && !open_in_market(view, slots_[slot].position)) {
      liquidated_ += 1.0;
      release(slot);  // moves the last active slot to i
      continue;
    }
    ++i;
  }
}

bool PerpTrader::draw_long(const View& view, double uniform) {
  if (params_.strategy == Strategy::random || history_.empty()) return uniform < params_.long_probability;
  // history_ holds the last lookback_blocks + 1 blocks' prices; the oldest
  // is at the slot the current block overwrites next time round.
  const std::size_t size = history_.size();
  const double now = history_[view.block % size];
  const double then = history_[(view.block + 1) % size];
  if (now == then) return uniform < params_.long_probability;
  const bool rose = now > then;
  return params_.strategy == Strategy::momentum ? rose : !rose;
}

void PerpTrader::act(const View& view, TransactionSink& sink) {
  if (!history_.empty()) history_[view.block % history_.size()] = view.reference_prices[params_.asset];
  detect_liquidations(view);
  bool room = true;  // the mempool accepted everything so far
  unclosable_ = 0;
  const bool watch_value = params_.stop_loss > 0.0 || params_.take_profit > 0.0;
  Drain drain;
  for (const std::uint32_t index : active_) {
    Slot& slot = slots_[index];
    if (slot.state != State::open) continue;
    const bool expired = view.time_seconds >= slot.expiry_seconds;
    if (!expired && !watch_value) continue;
    Drain after = drain;
    const Exit exit = exit_value(view, slot, after);
    CloseReason reason = CloseReason::expiry;
    if (!expired) {
      const double gain = (exit.oracle_value - slot.collateral) / slot.collateral;
      if (params_.stop_loss > 0.0 && -gain >= params_.stop_loss) {
        reason = CloseReason::stop_loss;
      } else if (params_.take_profit > 0.0 && gain >= params_.take_profit) {
        reason = CloseReason::take_profit;
      } else {
        continue;
      }
    }
    if (!exit.closable) {
      ++unclosable_;  // left to a liquidator; looked at again next block
      continue;
    }
    if (!room) continue;
    drain = after;
    slot.state = State::closing;
    slot.reason = reason;
    core::Transaction close = transaction(core::TransactionKind::perp_close, index);
    close.position = slot.position;
    room = sink.submit(close);  // a dropped one comes back as a mempool_full receipt
  }

  while (next_arrival_seconds_ <= view.time_seconds) {
    // Every arrival draws the same numbers, opened or not.
    const double side_uniform = random_.uniform();
    const double normal = random_.normal();
    const double leverage_uniform = random_.uniform();
    const double holding_uniform = random_.uniform();
    next_arrival_seconds_ += -core::log_det(random_.uniform()) / params_.arrivals_per_second;
    if (free_.empty() || !room) {
      skipped_ += 1.0;
      continue;
    }
    const bool is_long = draw_long(view, side_uniform);
    const double sigma = params_.collateral_sigma;
    const double collateral = params_.collateral_mean * core::exp_det(sigma * normal - 0.5 * sigma * sigma);
    // Clamped: exp(log) may round a hair outside [min, max], and a market
    // whose maximum is `max` would refuse it.
    const double leverage =
        params_.log_leverage_span > 0.0
            ? std::clamp(core::exp_det(params_.log_leverage_min + params_.log_leverage_span * leverage_uniform),
                         params_.leverage_min, params_.leverage_max)
            : params_.leverage_min;
    const std::uint32_t index = free_.back();
    free_.pop_back();
    Slot& slot = slots_[index];
    slot = Slot{};
    slot.state = State::opening;
    slot.collateral = collateral;
    slot.expiry_seconds = view.time_seconds - params_.holding_seconds * core::log_det(holding_uniform);
    active_.insert(index);
    core::Transaction open = transaction(core::TransactionKind::perp_open, index);
    open.perp_short = !is_long;
    open.leverage = leverage;
    open.token_in = is_long ? params_.long_collateral : params_.short_collateral;
    open.token_other = params_.asset;
    open.amount_in = collateral / view.reference_prices[open.token_in];
    room = sink.submit(open);
  }
}

// Asleep only when act() would do nothing but wait for the clock: no price
// history to keep, no value to watch, nothing waiting for a liquidator. It
// wakes at its next arrival or expiry, or when the market changes (one of
// its positions may have been liquidated).
bool PerpTrader::idle_until(const View& view, WakeConditions& wake) {
  if (params_.strategy != Strategy::random || params_.stop_loss > 0.0 || params_.take_profit > 0.0) return false;
  if (unclosable_ > 0) return false;
  double next = next_arrival_seconds_;
  for (const std::uint32_t index : active_) next = std::min(next, slots_[index].expiry_seconds);
  if (!wake.watch_market(params_.market)) return false;
  // The first block whose time reaches `next` is ceil(next / block_time);
  // floor is never later (waking early costs one act() that does nothing).
  const double block = std::floor(next / view.block_time_seconds);
  if (block < static_cast<double>(WakeConditions::never)) {
    wake.wake_block = block > static_cast<double>(view.block) ? static_cast<core::BlockNumber>(block) : view.block + 1;
  }
  return true;
}

void PerpTrader::on_receipt(const core::Receipt& receipt, const View& view) {
  const double gas = receipt.gas_paid_native * view.reference_prices[view.native_asset];
  gas_paid_ += gas;
  const core::Transaction& t = receipt.transaction;
  Slot& slot = slots_[t.tag];
  if (t.kind == core::TransactionKind::perp_open) {
    if (!receipt.succeeded()) {
      skipped_ += 1.0;
      release(t.tag);
      return;
    }
    slot.state = State::open;
    slot.position = receipt.perp_position;
    // The venue settlement is the numeraire paid for the collateral (and the
    // vamm's fee), and for the gas.
    slot.cost = -receipt.venue_settlement - gas;
    opened_ += 1.0;
    fees_paid_ += receipt.perp_position_fees + receipt.perp_funding_fees;
    return;
  }
  if (t.kind != core::TransactionKind::perp_close) return;
  if (!receipt.succeeded()) {
    // Liquidated earlier in the block, or no longer closable: looked at
    // again next block.
    slot.state = State::open;
    return;
  }
  closed_ += 1.0;
  if (slot.reason == CloseReason::stop_loss) stopped_out_ += 1.0;
  if (slot.reason == CloseReason::take_profit) took_profit_ += 1.0;
  fees_paid_ += receipt.perp_position_fees + receipt.perp_funding_fees;
  // A vamm's closing fee is bought at the venue: the settlement less gas.
  const double result = receipt.amount_out * view.reference_prices[receipt.token_out] + receipt.venue_settlement + gas -
                        slot.cost;
  if (result > 0.0) wins_ += 1.0;
  release(t.tag);
}

double PerpTrader::marked_pnl(const View& view) const {
  // The wallet started empty: its value is the result so far.
  double value = 0.0;
  for (std::size_t asset = 0; asset < view.wallets.asset_count; ++asset) {
    const double balance = view.wallets.balance(index_, static_cast<core::AssetIndex>(asset));
    if (balance != 0.0) value += balance * view.reference_prices[asset];
  }
  // The open positions at what closing them now, one after the other,
  // would pay: not what the market could not pay after the others.
  Drain drain;
  for (const std::uint32_t index : active_) {
    const Slot& slot = slots_[index];
    if (slot.state != State::open && slot.state != State::closing) continue;
    Drain after = drain;
    const Exit exit = exit_value(view, slot, after);
    if (!exit.closable) continue;
    value += exit.reference_value;
    drain = after;
  }
  return value;
}

void PerpTrader::record(const View& view, std::span<double> series) {
  detect_liquidations(view);
  series[0] = static_cast<double>(active_.size());
  series[1] = marked_pnl(view);
}

void PerpTrader::finish(const View& view, std::span<double> outcomes) {
  detect_liquidations(view);
  const double ended = closed_ + liquidated_;
  outcomes[0] = opened_;
  outcomes[1] = closed_;
  outcomes[2] = stopped_out_;
  outcomes[3] = took_profit_;
  outcomes[4] = liquidated_;
  outcomes[5] = skipped_;
  outcomes[6] = static_cast<double>(active_.size());
  outcomes[7] = marked_pnl(view);
  outcomes[8] = ended > 0.0 ? wins_ / ended : 0.0;
  outcomes[9] = fees_paid_;
  outcomes[10] = gas_paid_;
}

const char* market_type_name(const markets::MarketParams& params) {
  if (std::holds_alternative<markets::CpmmParams>(params)) return "cpmm";
  if (std::holds_alternative<markets::TwammParams>(params)) return "twamm";
  if (std::holds_alternative<markets::LendingParams>(params)) return "lending";
  return "perpetual";
}

std::shared_ptr<const AgentParams> parse_perp_trader(const config::ConfigNode& node, const WorldNames& names) {
  auto params = std::make_shared<PerpTraderParams>();
  const config::ConfigNode market = node.child("market");
  params->market = names.market(market);
  const markets::MarketParams& market_params = names.markets[params->market];
  const std::string market_name = market.as_string();
  const bool has_asset = node.has("asset");
  const core::AssetIndex asset = has_asset ? names.asset(node.child("asset")) : 0;
  bool shortable = true;
  if (const auto* gmx = std::get_if<markets::GmxParams>(&market_params)) {
    params->mechanism = PerpMechanism::gmx;
    const markets::GmxAssetParams* traded = nullptr;
    const markets::GmxAssetParams* stable = nullptr;
    for (const markets::GmxAssetParams& listed : gmx->assets) {
      if (listed.is_stable && stable == nullptr) stable = &listed;
      if (has_asset ? listed.asset == asset : (!listed.is_stable && traded == nullptr)) traded = &listed;
    }
    if (has_asset && (traded == nullptr || traded->is_stable)) {
      node.child("asset").fail(fmt::format("'{}' is not a non-stable asset of gmx_glp market '{}'",
                                           names.assets[asset], market_name));
    }
    // The config requires a non-stable and a stable asset in every pool.
    params->asset = traded->asset;
    params->long_collateral = traded->asset;
    params->short_collateral = stable->asset;
    shortable = traded->shortable;
  } else if (const auto* gtrade = std::get_if<markets::GtradeParams>(&market_params)) {
    params->mechanism = PerpMechanism::gtrade;
    if (has_asset && asset != gtrade->traded_asset) {
      node.child("asset").fail(fmt::format("gtrade_vault market '{}' trades '{}'", market_name,
                                           names.assets[gtrade->traded_asset]));
    }
    params->asset = gtrade->traded_asset;
    params->long_collateral = params->short_collateral = gtrade->collateral_asset;
  } else if (const auto* vamm = std::get_if<markets::VammParams>(&market_params)) {
    params->mechanism = PerpMechanism::vamm;
    if (has_asset && asset != vamm->base_asset) {
      node.child("asset").fail(
          fmt::format("vamm market '{}' trades '{}'", market_name, names.assets[vamm->base_asset]));
    }
    params->asset = vamm->base_asset;
    params->long_collateral = params->short_collateral = vamm->quote_asset;
  } else {
    market.fail(fmt::format("'{}' is a {} market; the perp_trader trades a perpetual pool: a market of type gmx_glp, "
                            "gtrade_vault or vamm",
                            market_name, market_type_name(market_params)));
  }

  static constexpr std::string_view strategies[] = {"random", "momentum", "mean_reverting"};
  const std::string strategy =
      node.has("strategy") ? node.child("strategy").one_of(node.child("strategy").as_string(), strategies) : "random";
  params->strategy = strategy == "momentum"         ? Strategy::momentum
                     : strategy == "mean_reverting" ? Strategy::mean_reverting
                                                    : Strategy::random;
  params->long_probability = node.number_in("long_probability", 0.5, 0.0, true, 1.0, true);
  if (params->strategy == Strategy::random) {
    if (node.has("lookback_seconds")) node.child("lookback_seconds").fail("not used by strategy random");
  } else {
    params->lookback_seconds = node.number_in("lookback_seconds", 3600.0, 0.0, false, 2592000.0, true);
  }
  const bool opens_shorts = params->strategy != Strategy::random || params->long_probability < 1.0;
  if (!shortable && opens_shorts) {
    node.fail(fmt::format("'{}' is not shortable on market '{}' (shortable: false), but this trader would open shorts "
                          "(use strategy: random with long_probability: 1)",
                          names.assets[params->asset], market_name));
  }
  params->arrivals_per_second = node.number_in("trades_per_hour", 10.0, 0.0, true, 1e6, true) / 3600.0;
  if (node.has("collateral_numeraire")) {
    const config::ConfigNode collateral = node.child("collateral_numeraire");
    collateral.check_keys(collateral_keys);
    params->collateral_mean = collateral.number_in("mean", 1000.0, 0.0, false, INFINITY, false);
    params->collateral_sigma = collateral.number_in("sigma", 0.5, 0.0, true, 10.0, true);
  }
  if (node.has("leverage")) {
    const config::ConfigNode leverage = node.child("leverage");
    leverage.check_keys(leverage_keys);
    params->leverage_min = leverage.number_in("min", 2.0, 1.0, true, 1e6, true);
    params->leverage_max = leverage.number_in("max", 20.0, 1.0, true, 1e6, true);
    if (params->leverage_max < params->leverage_min) {
      (leverage.has("max") ? leverage.child("max") : leverage)
          .fail(fmt::format("max {} is below min {}", params->leverage_max, params->leverage_min));
    }
  }
  params->log_leverage_min = core::log_det(params->leverage_min);
  params->log_leverage_span = params->leverage_max > params->leverage_min
                                  ? core::log_det(params->leverage_max) - params->log_leverage_min
                                  : 0.0;
  params->holding_seconds = node.number_in("holding_seconds", 14400.0, 0.0, false, INFINITY, false);
  params->stop_loss = node.number_in("stop_loss", 0.0, 0.0, true, 1.0, true);
  params->take_profit = node.number_in("take_profit", 0.0, 0.0, true, INFINITY, false);
  const std::int64_t capacity = node.integer_in("max_open_positions", 1000, 1, 1000000);
  params->max_open_positions = static_cast<std::uint32_t>(capacity);
  const std::int64_t gas_used = node.integer_in("gas_used", 500000, 0, 1000000000);
  params->gas_used = static_cast<std::uint32_t>(gas_used);
  params->priority_fee_gwei = node.number_in("priority_fee_gwei", 0.0, 0.0, true, 1e6, true);
  return params;
}

}  // namespace

AgentType perp_trader_type() {
  return {"perp_trader",
          "A population of leveraged traders sharing one account on one perpetual pool (gmx_glp, gtrade_vault or "
          "vamm): Poisson arrivals, a side from the strategy, lognormal collateral bought at the reference venue, "
          "log-uniform leverage, exponential holding times, optional stop-loss and take-profit; liquidations "
          "detected from the market (agents/perp_trader.hpp).",
          perp_trader_keys,
          parse_perp_trader,
          {{"collateral_numeraire", collateral_keys}, {"leverage", leverage_keys}}};
}

}  // namespace defisim::agents
