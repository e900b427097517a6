#include "agents/perp_arbitrageur.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace defisim::agents {

namespace {

constexpr config::KeySpec perp_arbitrageur_keys[] = {
    {"market", "string", "", "the oracle-priced perpetual pool it trades (gmx_glp or gtrade_vault; not a vamm)"},
    {"asset", "string", "gmx: the pool's first non-stable asset; gtrade: the traded asset",
     "the index asset it trades (gtrade: must be the vault's traded asset)"},
    {"threshold", "number", "0.002",
     "opens when the gap reference / oracle - 1, in absolute value, exceeds this plus the round trip's fees, price "
     "impact and gas (fractions of the notional); closes when the gap in its favour falls below half of it, in [0, 1)"},
    {"collateral_numeraire", "number", "10000",
     "collateral of each position, numeraire at the reference price (> 0); bought at the reference venue"},
    {"leverage", "number", "10",
     "notional / collateral (gmx: in [1, max_leverage); gtrade: in [min_leverage, max_leverage])"},
    {"max_hold_seconds", "number", "600", "closes a position after this long whatever the gap (> 0)"},
    {"max_positions", "integer", "1", "positions open at once at most (1 to 1000); at most one opened per block"},
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
  };
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
  double profit_ = 0, trades_ = 0, edge_sum_ = 0, fees_paid_ = 0, gas_paid_ = 0, liquidated_ = 0, reverts_ = 0;
};

class PerpArbitrageurParams final : public AgentParams {
 public:
  core::MarketIndex market = 0;
  bool gmx = true;
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
  std::size_t asset_count = 0;

  std::unique_ptr<Agent> create(const AgentContext& context) const override {
    return std::make_unique<PerpArbitrageur>(*this, context);
  }
  std::vector<output::MetricInfo> series_metrics() const override {
    return {{"profit", "numeraire", "realised profit so far (payouts - collateral costs - gas, at reference prices)",
             output::RiskTail::lower_is_worse}};
  }
  std::vector<output::MetricInfo> outcome_metrics() const override {
    using output::RiskTail;
    return {
        {"trades", "count", "positions opened", RiskTail::lower_is_worse},
        {"profit", "numeraire",
         "payouts (at the reference price when received) - collateral costs (at the reference price when bought) - "
         "gas, plus open positions marked at the end as if the oracle equalled the reference",
         RiskTail::lower_is_worse},
        {"mean_edge", "fraction",
         "mean over the positions opened of the gap reference / oracle - 1 in their favour when sent (0 if none)",
         RiskTail::lower_is_worse},
        {"fees_paid", "numeraire", "position fees and borrow, funding and rollover fees paid (the market's units)",
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
  if (params_.gmx) {
    const auto& pool = std::get<markets::GmxPool>(market);
    return id < pool.position_count() && pool.position(id).open && pool.position(id).owner == index_;
  }
  const auto& vault = std::get<markets::GtradeVault>(market);
  return vault.is_open(id) && vault.trade(id).owner == index_;
}

double PerpArbitrageur::marked_value(const View& view, std::uint32_t id) const {
  const markets::Market& market = view.markets[params_.market];
  if (params_.gmx) {
    // _decreasePosition of the whole size at the reference prices: collateral
    // + PnL - position fee - borrow fee, paid in collateral tokens at that price.
    const auto& pool = std::get<markets::GmxPool>(market);
    const markets::GmxPosition& position = pool.position(id);
    const double value = position.collateral_usd + pool.position_pnl_usd(id, view.reference_prices) -
                         position.size_usd * pool.params().margin_fee - pool.borrow_fee_usd(id, view.time_seconds);
    return std::max(value, 0.0);
  }
  const auto& vault = std::get<markets::GtradeVault>(market);
  const markets::GtradeParams& vault_params = vault.params();
  return vault.trade_payout(id, view.reference_prices[vault_params.traded_asset], view.time_seconds) *
         view.reference_prices[vault_params.collateral_asset];
}

double PerpArbitrageur::trade_costs(const View& view, markets::PerpSide side) const {
  if (params_.gmx) return params_.fee_fraction;
  const auto& vault = std::get<markets::GtradeVault>(view.markets[params_.market]);
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

void PerpArbitrageur::act(const View& view, TransactionSink& sink) {
  absorb_unexplained_inflows(view);
  const double gap = view.reference_prices[params_.asset] / view.oracle_prices[params_.asset] - 1.0;
  const double now = view.time_seconds;
  core::Transaction transaction;
  transaction.sender = index_;
  transaction.market = params_.market;
  transaction.funding = core::Funding::reference_venue;
  transaction.gas_used = params_.gas_used;
  transaction.priority_fee_gwei = params_.priority_fee_gwei;

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
      transaction.kind = core::TransactionKind::perp_close;
      transaction.position = slot.id;
      transaction.tag = s;
      if (!sink.submit(transaction)) return;
      slot.open = false;
      slot.closing = true;
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
  std::uint32_t free_slot = 0;
  while (free_slot < slots_.size() &&
         (slots_[free_slot].open || slots_[free_slot].closing || slots_[free_slot].opening)) {
    ++free_slot;
  }
  if (free_slot == slots_.size()) return;
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
  transaction.worst_price = params_.gmx ? 0.0 : view.reference_prices[params_.asset];
  transaction.tag = free_slot;
  if (!sink.submit(transaction)) return;
  Slot& slot = slots_[free_slot];
  slot.opening = true;
  slot.side = side;
  slot.opened_seconds = now;
  slot.edge = favour;
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
    return;
  }
  slot.closing = false;
  profit_ += receipt.amount_out * view.reference_prices[receipt.token_out];
  expected_balance_[receipt.token_out] += receipt.amount_out;
}

void PerpArbitrageur::record(const View&, std::span<double> series) { series[0] = profit_; }

void PerpArbitrageur::finish(const View& view, std::span<double> outcomes) {
  // A position closed under it in the last block is found only here.
  absorb_unexplained_inflows(view);
  double marked = 0.0;
  for (const Slot& slot : slots_) {
    if (!slot.open) continue;
    if (still_open(view, slot.id)) {
      marked += marked_value(view, slot.id);
    } else {
      liquidated_ += 1.0;
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
    params->gmx = true;
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
    params->gmx = false;
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
  } else if (std::holds_alternative<markets::VammParams>(market_params)) {
    market.fail(
        fmt::format("'{}' is a vamm: it prices trades on its own reserves, not the oracle, so there is no "
                    "oracle latency to arbitrage (use a gmx_glp or gtrade_vault market)",
                    market.as_string()));
  } else {
    market.fail(
        fmt::format("'{}' is not an oracle-priced perpetual pool (gmx_glp or gtrade_vault)", market.as_string()));
  }
  params->threshold = node.number_in("threshold", 0.002, 0.0, true, 1.0, false);
  params->collateral_numeraire = node.number_in("collateral_numeraire", 10000.0, 0.0, false, INFINITY, false);
  params->max_hold_seconds = node.number_in("max_hold_seconds", 600.0, 0.0, false, INFINITY, true);
  const std::int64_t max_positions = node.integer_at_least("max_positions", 1, 1);
  if (max_positions > 1000) node.child("max_positions").fail("at most 1000");
  params->max_positions = static_cast<std::uint32_t>(max_positions);
  const std::int64_t gas_used = node.integer_at_least("gas_used", 500000, 0);
  if (gas_used > 100000000) node.child("gas_used").fail("at most 100000000");
  params->gas_used = static_cast<std::uint32_t>(gas_used);
  params->priority_fee_gwei = node.number_in("priority_fee_gwei", 0.0, 0.0, true, 1e6, true);
  return params;
}

}  // namespace

AgentType perp_arbitrageur_type() {
  return {"perp_arbitrageur",
          "Trades the lag of an oracle-priced perpetual pool (gmx_glp, gtrade_vault): opens at the stale oracle price "
          "when the reference has moved beyond a threshold plus costs, closes when the oracle catches up.",
          perp_arbitrageur_keys, parse_perp_arbitrageur};
}

}  // namespace defisim::agents
