#include "agents/perp_arbitrageur.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "agents/perp_support.hpp"

namespace defisim::agents {

namespace {

constexpr config::KeySpec perp_arbitrageur_keys[] = {
    {"market", "string", "",
     "the perpetual pool it trades: gmx_glp or gtrade_vault (trades the oracle's lag behind the reference) or vamm "
     "(trades the mark to the reference, hedged at the venue)"},
    {"asset", "string", "gmx: the pool's first non-stable asset; gtrade, vamm: the traded asset",
     "the index asset it trades (gtrade: must be the vault's traded asset; vamm: the base)"},
    {"threshold", "number", "0.002",
     "gmx, gtrade: opens when the gap reference / oracle - 1, in absolute value, exceeds this plus the round trip's "
     "fees, price impact and gas (fractions of the notional); closes when the gap in its favour falls below half of "
     "it. vamm: trades when the gap reference / mark - 1, in absolute value, exceeds this plus spread_ratio + "
     "toll_ratio (one side) and 2 x gas / notional. In [0, 1)"},
    {"collateral_numeraire", "number", "10000",
     "gmx, gtrade: collateral of each position, numeraire at the reference price (> 0); bought at the reference "
     "venue. vamm: the most margin of a position (numeraire at the reference price): its notional, the one that "
     "takes the mark to the reference, is at most this x leverage"},
    {"leverage", "number", "10",
     "notional / collateral (gmx: in [1, max_leverage); gtrade: in [min_leverage, max_leverage]; vamm: >= 1 with 1 / "
     "leverage >= initial_margin_ratio)"},
    {"max_hold_seconds", "number", "600 (vamm: no limit)",
     "closes a position after this long whatever the gap (> 0); on a vamm only if given (an inventory closed on a "
     "timer pushes the mark away from the reference again)"},
    {"max_positions", "integer", "1",
     "positions open at once at most (1 to 1000); at most one opened per block (vamm: all on one side; an opposite "
     "signal closes the oldest, one per block)"},
    {"gas_used", "integer", "500000", "gas units per open or close (0 to 100000000)"},
    {"priority_fee_gwei", "number", "0", "its gas bid: tip per gas unit to the builder, gwei (>= 0)"},
};

class PerpArbitrageurParams;

class PerpArbitrageur final : public Agent {
 public:
  PerpArbitrageur(const PerpArbitrageurParams& params, const AgentContext& context);
  void act(const View& view, TransactionSink& sink) override;
  void on_receipt(const core::Receipt& receipt, const View& view) override;
  void record(const View& view, std::span<double> series) override;
  void finish(const View& view, std::span<double> outcomes) override;

 private:
  struct Slot {
    bool open = false;     // a position of ours is open in the market
    bool opening = false;  // an open was sent this block
    bool closing = false;  // a close was sent this block
    std::uint32_t id = 0;
    markets::PerpSide side = markets::PerpSide::long_;
    double opened_seconds = 0.0;
    double edge = 0.0;  // the gap in its favour when it was sent
    // vamm: the hedge at the venue, base units sold (long) or bought
    // (short) at reference_open (numeraire per base) and not yet unwound.
    double hedge_base = 0.0;
    double reference_open = 0.0;
  };
  // vamm: the whole of act().
  void act_vamm(const View& view, TransactionSink& sink);
  // vamm: unwinds `base` of a slot's hedge at `reference` (numeraire per
  // base) into profit_.
  void unwind_hedge(Slot& slot, double base, double reference);
  // vamm: positions closed under it by liquidation (wholly or partly)
  // since it last looked: their hedge unwound at `reference`.
  void absorb_liquidations(const markets::Vamm& vamm, double reference);
  // vamm: would closing position `id` go through? Not with bad debt
  // (margin - funding owed + PnL < 0: Vamm::close_position reverts, it is
  // for a liquidator) or a short larger than the base reserve.
  static bool closable(const markets::Vamm& vamm, std::uint32_t id) { return vamm_close_remain(vamm, id) >= 0.0; }
  // Its transaction on the market, venue-funded, at its gas bid; the
  // caller fills in the rest.
  core::Transaction transaction() const;
  // A slot neither open nor being opened or closed; slots_.size() if none.
  std::uint32_t free_slot() const;
  // Sends `transaction` as the close of slot `s`; false if the mempool is
  // full. The slot stays in use until the receipt: the close may revert.
  bool send_close(std::uint32_t s, core::Transaction& transaction, TransactionSink& sink);
  // Is our position `id` still open in the market (not liquidated)?
  bool still_open(const View& view, std::uint32_t id) const;
  // What closing position `id` would pay if the oracle equalled the
  // reference, numeraire at reference prices.
  double marked_value(const View& view, std::uint32_t id) const;
  // The round trip's fees and price impact, fraction of the notional.
  double trade_costs(const View& view, markets::PerpSide side) const;
  // Tokens paid into its wallet that none of its receipts explain (a gmx
  // close of its position for exceeding the maximum leverage pays the
  // owner): valued at the reference price.
  void absorb_unexplained_inflows(const View& view);

  const PerpArbitrageurParams& params_;
  core::AgentIndex index_;
  std::vector<Slot> slots_;
  std::vector<double> expected_balance_;  // per asset: its wallet as its receipts explain it
  double last_reference_ = 0.0;           // vamm: the base's reference price in the last block it acted
  double profit_ = 0, trades_ = 0, edge_sum_ = 0, fees_paid_ = 0, gas_paid_ = 0, liquidated_ = 0, reverts_ = 0;
};

class PerpArbitrageurParams final : public AgentParams {
 public:
  core::MarketIndex market = 0;
  PerpMechanism mechanism = PerpMechanism::gmx;
  core::AssetIndex asset = 0;             // the index (traded) asset
  core::AssetIndex long_collateral = 0;   // gmx: the asset itself; gtrade: the stablecoin
  core::AssetIndex short_collateral = 0;  // the stablecoin
  bool shortable = true;
  double threshold = 0.002;
  double collateral_numeraire = 10000.0;
  double leverage = 10.0;
  double max_hold_seconds = 600.0;
  std::uint32_t max_positions = 1;
  std::uint32_t gas_used = 500000;
  double priority_fee_gwei = 0.0;
  double fee_fraction = 0.0;  // the round trip's fees, fraction of the notional (gtrade: without impact)
  double vamm_fee_ratio = 0.0;  // vamm: spread_ratio + toll_ratio, one side
  std::size_t asset_count = 0;

  std::unique_ptr<Agent> create(const AgentContext& context) const override {
    return std::make_unique<PerpArbitrageur>(*this, context);
  }
  std::vector<output::MetricInfo> series_metrics() const override {
    return {{"profit", "numeraire",
             "realised profit so far (payouts - collateral costs - gas, at reference prices; vamm: hedged at the "
             "venue, also - closing fees + the PnL of the hedges unwound)",
             output::RiskTail::lower_is_worse}};
  }
  std::vector<output::MetricInfo> outcome_metrics() const override {
    using output::RiskTail;
    return {
        {"trades", "count", "positions opened", RiskTail::lower_is_worse},
        {"profit", "numeraire",
         "payouts (at the reference price when received) - collateral costs (at the reference price when bought) - "
         "gas, plus open positions marked at the end as if the oracle equalled the reference. vamm: hedged at the "
         "venue: payouts (funding included) - margins and opening fees - closing fees - gas + each position's hedge "
         "PnL, size_base x (reference at open - reference at close) for a long and the opposite for a short; open "
         "positions marked at what closing them would pay now plus the hedge at the final reference",
         RiskTail::lower_is_worse},
        {"mean_edge", "fraction",
         "mean over the positions opened of the gap reference / oracle - 1 (vamm: reference / mark - 1) in their "
         "favour when sent (0 if none)",
         RiskTail::lower_is_worse},
        {"fees_paid", "numeraire",
         "position fees and borrow, funding and rollover fees paid (the market's units; vamm: spread and toll, and "
         "funding paid less funding received)",
         RiskTail::higher_is_worse},
        {"gas_paid", "numeraire", "gas paid, at reference prices", RiskTail::higher_is_worse},
        {"liquidated", "count", "of its positions, liquidated before it closed them", RiskTail::higher_is_worse},
        {"reverts", "count", "included opens and closes that reverted", RiskTail::higher_is_worse},
    };
  }
};

PerpArbitrageur::PerpArbitrageur(const PerpArbitrageurParams& params, const AgentContext& context)
    : params_(params),
      index_(context.index),
      slots_(params.max_positions),
      expected_balance_(params.asset_count, 0.0) {}

bool PerpArbitrageur::still_open(const View& view, std::uint32_t id) const {
  const markets::Market& market = view.markets[params_.market];
  switch (params_.mechanism) {
    case PerpMechanism::gmx: {
      const auto& pool = *std::get_if<markets::GmxPool>(&market);
      return id < pool.position_count() && pool.position(id).open && pool.position(id).owner == index_;
    }
    case PerpMechanism::gtrade: {
      const auto& vault = *std::get_if<markets::GtradeVault>(&market);
      return vault.is_open(id) && vault.trade(id).owner == index_;
    }
    case PerpMechanism::vamm: break;
  }
  const markets::VammPosition position = std::get_if<markets::Vamm>(&market)->position(id);
  return position.open && position.owner == index_;
}

double PerpArbitrageur::marked_value(const View& view, std::uint32_t id) const {
  const markets::Market& market = view.markets[params_.market];
  switch (params_.mechanism) {
    case PerpMechanism::gmx: {
      // _decreasePosition of the whole size at the reference prices: collateral
      // + PnL - position fee - borrow fee, paid in collateral tokens at that price.
      const auto& pool = *std::get_if<markets::GmxPool>(&market);
      const markets::GmxPosition& position = pool.position(id);
      const double value = position.collateral_usd + pool.position_pnl_usd(id, view.reference_prices) -
                           position.size_usd * pool.params().margin_fee - pool.borrow_fee_usd(id, view.time_seconds);
      return std::max(value, 0.0);
    }
    case PerpMechanism::gtrade: {
      const auto& vault = *std::get_if<markets::GtradeVault>(&market);
      const markets::GtradeParams& vault_params = vault.params();
      return vault.trade_payout(id, view.reference_prices[vault_params.traded_asset], view.time_seconds) *
             view.reference_prices[vault_params.collateral_asset];
    }
    case PerpMechanism::vamm: break;
  }
  // Vamm::close_position pays margin - funding owed + PnL at the exit value
  // on the reserves, and the closing fee on that exit is bought at the
  // venue; with bad debt the close reverts and a liquidation pays the owner
  // nothing.
  const auto& vamm = *std::get_if<markets::Vamm>(&market);
  const double remain = vamm_close_remain(vamm, id);
  if (!(remain >= 0.0)) return 0.0;
  const markets::VammPosition position = vamm.position(id);
  const double fee = vamm.exit_notional(position.side, position.size_base) * params_.vamm_fee_ratio;
  return (remain - fee) * view.reference_prices[params_.short_collateral];
}

double PerpArbitrageur::trade_costs(const View& view, markets::PerpSide side) const {
  if (params_.mechanism == PerpMechanism::gmx) return params_.fee_fraction;
  const auto& vault = *std::get_if<markets::GtradeVault>(&view.markets[params_.market]);
  const double collateral = params_.collateral_numeraire / view.reference_prices[params_.short_collateral];
  return params_.fee_fraction + vault.price_impact(side, collateral * params_.leverage);
}

void PerpArbitrageur::absorb_unexplained_inflows(const View& view) {
  for (std::size_t asset = 0; asset < expected_balance_.size(); ++asset) {
    const double balance = view.wallets.balance(index_, static_cast<core::AssetIndex>(asset));
    const double unexplained = balance - expected_balance_[asset];
    // Its receipts track the wallet up to rounding of sums (relative 1e-16
    // per operation); owner payouts are whole tokens' worth.
    if (std::fabs(unexplained) <= 1e-9 * (1.0 + std::fabs(expected_balance_[asset]))) continue;
    profit_ += unexplained * view.reference_prices[asset];
    expected_balance_[asset] = balance;
  }
}

core::Transaction PerpArbitrageur::transaction() const {
  core::Transaction transaction;
  transaction.sender = index_;
  transaction.market = params_.market;
  transaction.funding = core::Funding::reference_venue;
  transaction.gas_used = params_.gas_used;
  transaction.priority_fee_gwei = params_.priority_fee_gwei;
  return transaction;
}

std::uint32_t PerpArbitrageur::free_slot() const {
  std::uint32_t s = 0;
  while (s < slots_.size() && (slots_[s].open || slots_[s].closing || slots_[s].opening)) ++s;
  return s;
}

bool PerpArbitrageur::send_close(std::uint32_t s, core::Transaction& transaction, TransactionSink& sink) {
  transaction.kind = core::TransactionKind::perp_close;
  transaction.position = slots_[s].id;
  transaction.tag = s;
  if (!sink.submit(transaction)) return false;
  slots_[s].open = false;
  slots_[s].closing = true;
  return true;
}

void PerpArbitrageur::act(const View& view, TransactionSink& sink) {
  absorb_unexplained_inflows(view);
  if (params_.mechanism == PerpMechanism::vamm) {
    act_vamm(view, sink);
    return;
  }
  const double gap = view.reference_prices[params_.asset] / view.oracle_prices[params_.asset] - 1.0;
  const double now = view.time_seconds;
  core::Transaction transaction = this->transaction();

  // Close what the oracle has caught up with (or what has been held too long).
  // A slot being closed stays in use until its receipt: the close may revert.
  std::uint32_t in_use = 0;
  for (std::uint32_t s = 0; s < slots_.size(); ++s) {
    Slot& slot = slots_[s];
    if (slot.open && !still_open(view, slot.id)) {
      slot.open = false;  // liquidated: its collateral is lost (owner payouts arrive as inflows)
      liquidated_ += 1.0;
    }
    if (!slot.open) continue;
    ++in_use;
    const double favour = markets::side_sign(slot.side) * gap;
    if (favour < params_.threshold / 2.0 || now - slot.opened_seconds >= params_.max_hold_seconds) {
      if (!send_close(s, transaction, sink)) return;
    }
  }
  if (in_use >= params_.max_positions || !(std::fabs(gap) > params_.threshold)) return;

  // Open one position if the gap pays for the round trip.
  const markets::PerpSide side = gap > 0.0 ? markets::PerpSide::long_ : markets::PerpSide::short_;
  if (side == markets::PerpSide::short_ && !params_.shortable) return;
  const double notional = params_.collateral_numeraire * params_.leverage;
  const double gas_fraction = 2.0 * view.gas_cost_numeraire(params_.gas_used, params_.priority_fee_gwei) / notional;
  const double favour = std::fabs(gap);
  if (!(favour > params_.threshold + trade_costs(view, side) + gas_fraction)) return;
  const std::uint32_t free = free_slot();
  if (free == slots_.size()) return;
  const bool is_long = side == markets::PerpSide::long_;
  const core::AssetIndex collateral = is_long ? params_.long_collateral : params_.short_collateral;
  transaction.kind = core::TransactionKind::perp_open;
  transaction.perp_short = !is_long;
  transaction.token_in = collateral;
  transaction.token_other = params_.asset;
  transaction.amount_in = params_.collateral_numeraire / view.reference_prices[collateral];
  transaction.leverage = params_.leverage;
  // gtrade: never open beyond the reference price (impact included); gmx
  // opens at the oracle price.
  transaction.worst_price = params_.mechanism == PerpMechanism::gmx ? 0.0 : view.reference_prices[params_.asset];
  transaction.tag = free;
  if (!sink.submit(transaction)) return;
  Slot& slot = slots_[free];
  slot.opening = true;
  slot.side = side;
  slot.opened_seconds = now;
  slot.edge = favour;
}

void PerpArbitrageur::unwind_hedge(Slot& slot, double base, double reference) {
  // A long's hedge sold base at reference_open and buys it back now.
  profit_ += markets::side_sign(slot.side) * base * (slot.reference_open - reference);
  slot.hedge_base -= base;
}

void PerpArbitrageur::absorb_liquidations(const markets::Vamm& vamm, double reference) {
  for (Slot& slot : slots_) {
    if (!slot.open) continue;
    const markets::VammPosition position = vamm.position(slot.id);
    if (!position.open || position.owner != index_) {
      // Liquidated: the margin is lost (the owner is paid nothing).
      slot.open = false;
      liquidated_ += 1.0;
      unwind_hedge(slot, slot.hedge_base, reference);
      slot.hedge_base = 0.0;
    } else if (position.size_base < slot.hedge_base) {
      unwind_hedge(slot, slot.hedge_base - position.size_base, reference);  // a partial liquidation
    }
  }
}

void PerpArbitrageur::act_vamm(const View& view, TransactionSink& sink) {
  const auto& vamm = *std::get_if<markets::Vamm>(&view.markets[params_.market]);
  // A liquidation since the last act() happened in the last block, at its
  // reference price.
  absorb_liquidations(vamm, last_reference_);
  const double base_price = view.reference_prices[params_.asset];
  const double quote_price = view.reference_prices[params_.short_collateral];
  last_reference_ = base_price;
  const double reference = base_price / quote_price;  // quote per base, as the mark
  const double gap = reference / vamm.mark_price() - 1.0;
  const double now = view.time_seconds;
  core::Transaction transaction = this->transaction();

  // Closes on the timer, if there is one. A slot being closed stays in use
  // until its receipt: the close may revert.
  std::uint32_t in_use = 0;
  bool holds_long = false, holds_short = false;
  for (std::uint32_t s = 0; s < slots_.size(); ++s) {
    Slot& slot = slots_[s];
    if (!slot.open) continue;
    ++in_use;
    if (now - slot.opened_seconds >= params_.max_hold_seconds && closable(vamm, slot.id)) {
      if (!send_close(s, transaction, sink)) return;
      continue;
    }
    (slot.side == markets::PerpSide::long_ ? holds_long : holds_short) = true;
  }

  const double band = params_.threshold + params_.vamm_fee_ratio;
  if (!(std::fabs(gap) > band)) return;
  const markets::PerpSide side = gap > 0.0 ? markets::PerpSide::long_ : markets::PerpSide::short_;
  const bool is_long = side == markets::PerpSide::long_;
  if (is_long ? holds_short : holds_long) {
    // The mark is off on the side its inventory pushed it to: closing the
    // oldest position (the lowest id) of that side moves it back. One whose
    // margin no longer covers its loss cannot be closed (it is for a
    // liquidator).
    std::uint32_t oldest = static_cast<std::uint32_t>(slots_.size());
    for (std::uint32_t s = 0; s < slots_.size(); ++s) {
      const Slot& slot = slots_[s];
      if (!slot.open || slot.side == side || !closable(vamm, slot.id)) continue;
      if (oldest == slots_.size() || slot.id < slots_[oldest].id) oldest = s;
    }
    if (oldest != slots_.size()) send_close(oldest, transaction, sink);
    return;
  }
  if (in_use >= params_.max_positions) return;

  // The notional that takes the mark to the reference on x.y = k:
  // (Q + n)^2 / k = reference for a long, (Q - n)^2 / k for a short.
  const double quote_reserve = vamm.quote_reserve();
  const double target = std::sqrt(vamm.invariant() * reference);
  double notional = is_long ? target - quote_reserve : quote_reserve - target;
  notional = std::min(notional, params_.collateral_numeraire / quote_price * params_.leverage);
  if (!(notional > 0.0)) return;
  const double gas_fraction =
      2.0 * view.gas_cost_numeraire(params_.gas_used, params_.priority_fee_gwei) / (notional * quote_price);
  if (!(std::fabs(gap) > band + gas_fraction)) return;
  const std::uint32_t free = free_slot();
  if (free == slots_.size()) return;
  transaction.kind = core::TransactionKind::perp_open;
  transaction.perp_short = !is_long;
  transaction.token_in = params_.short_collateral;
  transaction.token_other = params_.asset;
  transaction.amount_in = notional / params_.leverage;
  transaction.leverage = params_.leverage;
  // Never at an average price beyond the reference: the hedge would lose
  // more than the position gains (the trade it computed averages between
  // the mark and the reference).
  transaction.worst_price = reference;
  transaction.tag = free;
  if (!sink.submit(transaction)) return;
  Slot& slot = slots_[free];
  slot.opening = true;
  slot.side = side;
  slot.opened_seconds = now;
  slot.edge = std::fabs(gap);
}

void PerpArbitrageur::on_receipt(const core::Receipt& receipt, const View& view) {
  const core::Transaction& transaction = receipt.transaction;
  const double gas = receipt.gas_paid_native * view.reference_prices[view.native_asset];
  gas_paid_ += gas;
  profit_ -= gas;
  // Venue-funded: the venue charges the collateral and the gas in numeraire.
  expected_balance_[view.numeraire] += receipt.venue_settlement;
  Slot& slot = slots_[transaction.tag];
  const bool opening = transaction.kind == core::TransactionKind::perp_open;
  if (!receipt.succeeded()) {
    if (receipt.included) reverts_ += 1.0;
    if (opening) {
      slot.opening = false;
    } else {
      // Retried next block if still open (else found liquidated then).
      slot.closing = false;
      slot.open = true;
    }
    return;
  }
  fees_paid_ += receipt.perp_position_fees + receipt.perp_funding_fees;
  if (opening) {
    slot.opening = false;
    slot.open = true;
    slot.id = receipt.perp_position;
    profit_ -= receipt.amount_in * view.reference_prices[transaction.token_in];
    trades_ += 1.0;
    edge_sum_ += slot.edge;
    if (params_.mechanism == PerpMechanism::vamm) {
      // Hedged at this block's reference: the size as the market holds it
      // after the block (a liquidation in the same block is rarer than rare).
      slot.hedge_base = std::get_if<markets::Vamm>(&view.markets[params_.market])->position(slot.id).size_base;
      slot.reference_open = view.reference_prices[params_.asset];
    }
    return;
  }
  slot.closing = false;
  profit_ += receipt.amount_out * view.reference_prices[receipt.token_out];
  expected_balance_[receipt.token_out] += receipt.amount_out;
  if (params_.mechanism == PerpMechanism::vamm) {
    // The closing fee was bought at the venue (in venue_settlement).
    profit_ -= receipt.fee_paid * view.reference_prices[params_.short_collateral];
    unwind_hedge(slot, slot.hedge_base, view.reference_prices[params_.asset]);
    slot.hedge_base = 0.0;
  }
}

void PerpArbitrageur::record(const View&, std::span<double> series) { series[0] = profit_; }

void PerpArbitrageur::finish(const View& view, std::span<double> outcomes) {
  // A position closed under it in the last block is found only here.
  absorb_unexplained_inflows(view);
  double marked = 0.0;
  if (params_.mechanism == PerpMechanism::vamm) {
    // Liquidations in the last block, at the final reference.
    const double reference = view.reference_prices[params_.asset];
    absorb_liquidations(*std::get_if<markets::Vamm>(&view.markets[params_.market]), reference);
    for (const Slot& slot : slots_) {
      if (!slot.open) continue;
      marked += marked_value(view, slot.id) +
                markets::side_sign(slot.side) * slot.hedge_base * (slot.reference_open - reference);
    }
  } else {
    for (const Slot& slot : slots_) {
      if (!slot.open) continue;
      if (still_open(view, slot.id)) {
        marked += marked_value(view, slot.id);
      } else {
        liquidated_ += 1.0;
      }
    }
  }
  outcomes[0] = trades_;
  outcomes[1] = profit_ + marked;
  outcomes[2] = trades_ > 0.0 ? edge_sum_ / trades_ : 0.0;
  outcomes[3] = fees_paid_;
  outcomes[4] = gas_paid_;
  outcomes[5] = liquidated_;
  outcomes[6] = reverts_;
}

std::shared_ptr<const AgentParams> parse_perp_arbitrageur(const config::ConfigNode& node, const WorldNames& names) {
  auto params = std::make_shared<PerpArbitrageurParams>();
  const config::ConfigNode market = node.child("market");
  params->market = names.market(market);
  const markets::MarketParams& market_params = names.markets[params->market];
  params->asset_count = names.assets.size();
  params->leverage = node.number_in("leverage", 10.0, 1.0, true, 1e6, true);
  if (const auto* gmx = std::get_if<markets::GmxParams>(&market_params)) {
    params->mechanism = PerpMechanism::gmx;
    const markets::GmxAssetParams* traded = nullptr;
    if (node.has("asset")) {
      const config::ConfigNode asset = node.child("asset");
      const core::AssetIndex index = names.asset(asset);
      for (const markets::GmxAssetParams& listed : gmx->assets) {
        if (listed.asset == index) traded = &listed;
      }
      if (traded == nullptr)
        asset.fail(fmt::format("'{}' is not in the pool '{}'", asset.as_string(), market.as_string()));
      if (traded->is_stable)
        asset.fail(fmt::format("'{}' is a stablecoin of the pool: it is not traded", asset.as_string()));
    } else {
      for (const markets::GmxAssetParams& listed : gmx->assets) {
        if (traded == nullptr && !listed.is_stable) traded = &listed;
      }
    }
    params->asset = traded->asset;  // the config loader ensures a pool has a non-stable asset
    params->shortable = traded->shortable;
    params->long_collateral = traded->asset;
    // Shorts post the numeraire if it is one of the pool's stables, else its first stable.
    bool found_stable = false;
    for (const markets::GmxAssetParams& listed : gmx->assets) {
      if (!listed.is_stable) continue;
      if (!found_stable || listed.asset == names.numeraire) params->short_collateral = listed.asset;
      found_stable = true;
    }
    params->fee_fraction = 2.0 * gmx->margin_fee;
    if (!(params->leverage < gmx->max_leverage)) {
      node.child("leverage").fail(fmt::format("must be below the pool's max_leverage {}", gmx->max_leverage));
    }
  } else if (const auto* gtrade = std::get_if<markets::GtradeParams>(&market_params)) {
    params->mechanism = PerpMechanism::gtrade;
    params->asset = gtrade->traded_asset;
    if (node.has("asset") && names.asset(node.child("asset")) != gtrade->traded_asset) {
      node.child("asset").fail(
          fmt::format("the vault '{}' trades only '{}'", market.as_string(), names.assets[gtrade->traded_asset]));
    }
    params->long_collateral = gtrade->collateral_asset;
    params->short_collateral = gtrade->collateral_asset;
    params->fee_fraction = gtrade->open_fee + gtrade->close_fee;
    if (!(params->leverage >= gtrade->min_leverage && params->leverage <= gtrade->max_leverage)) {
      node.child("leverage")
          .fail(fmt::format("must be within the vault's leverage range [{}, {}]", gtrade->min_leverage,
                            gtrade->max_leverage));
    }
  } else if (const auto* vamm = std::get_if<markets::VammParams>(&market_params)) {
    params->mechanism = PerpMechanism::vamm;
    params->asset = vamm->base_asset;
    if (node.has("asset") && names.asset(node.child("asset")) != vamm->base_asset) {
      node.child("asset").fail(
          fmt::format("the vamm '{}' trades only '{}'", market.as_string(), names.assets[vamm->base_asset]));
    }
    params->long_collateral = vamm->quote_asset;
    params->short_collateral = vamm->quote_asset;
    params->vamm_fee_ratio = vamm->fee_ratio();
    // Vamm::open_position reverts when 1 / leverage < initial_margin_ratio.
    if (!(1.0 / params->leverage >= vamm->initial_margin_ratio)) {
      const std::string problem =
          fmt::format("leverage {} is above what the vamm '{}' allows: 1 / leverage must be at least its "
                      "initial_margin_ratio {} (leverage at most {})",
                      params->leverage, market.as_string(), vamm->initial_margin_ratio,
                      1.0 / vamm->initial_margin_ratio);
      if (node.has("leverage")) node.child("leverage").fail(problem);
      node.fail(problem + "; set `leverage` (default 10)");
    }
  } else {
    market.fail(fmt::format("'{}' is not a perpetual pool (gmx_glp, gtrade_vault or vamm)", market.as_string()));
  }
  params->threshold = node.number_in("threshold", 0.002, 0.0, true, 1.0, false);
  params->collateral_numeraire = node.number_in("collateral_numeraire", 10000.0, 0.0, false, INFINITY, false);
  // A vamm's inventory is closed by the opposite signal; a timer only if asked for.
  if (params->mechanism != PerpMechanism::vamm || node.has("max_hold_seconds")) {
    params->max_hold_seconds = node.number_in("max_hold_seconds", 600.0, 0.0, false, INFINITY, true);
  } else {
    params->max_hold_seconds = INFINITY;
  }
  const std::int64_t max_positions = node.integer_in("max_positions", 1, 1, 1000);
  params->max_positions = static_cast<std::uint32_t>(max_positions);
  const std::int64_t gas_used = node.integer_in("gas_used", 500000, 0, 100000000);
  params->gas_used = static_cast<std::uint32_t>(gas_used);
  params->priority_fee_gwei = node.number_in("priority_fee_gwei", 0.0, 0.0, true, 1e6, true);
  return params;
}

}  // namespace

AgentType perp_arbitrageur_type() {
  return {"perp_arbitrageur",
          "Trades the lag of an oracle-priced perpetual pool (gmx_glp, gtrade_vault): opens at the stale oracle price "
          "when the reference has moved beyond a threshold plus costs, closes when the oracle catches up. On a vamm "
          "(Perpetual Protocol v1), the arbitrageur that keeps the mark at the reference: trades the virtual reserves "
          "to the reference price when the mark is off by more than a threshold plus the fee, closing inventory of "
          "the opposite side first, hedged at the reference venue (agents/perp_arbitrageur.hpp).",
          perp_arbitrageur_keys, parse_perp_arbitrageur};
}

}  // namespace defisim::agents
