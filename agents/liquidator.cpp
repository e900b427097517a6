#include "agents/liquidator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace defisim::agents {

namespace {

constexpr config::KeySpec liquidator_keys[] = {
    {"market", "string", "", "the lending market (type: lending) it liquidates on"},
    {"capital", "map asset -> number", "", "its wallet at the start, tokens (>= 0): the debt assets it repays with"},
    {"gas_budget_native", "number", "100",
     "native tokens added to its wallet for gas (>= 0); a liquidator that cannot pay gas is not included"},
    {"gas_used", "integer", "400000", "gas units per liquidation or take (>= 0)"},
    {"bark_gas_used", "integer", "150000", "maker: gas units to start an auction (>= 0)"},
    {"priority_fee_gwei", "number", "1", "its gas bid: tip per gas unit to the builder, gwei (>= 0)"},
    {"reaction_delay_blocks", "integer", "0",
     "blocks a position must have been liquidatable before it acts (>= 0): slower bots"},
    {"max_liquidations_per_block", "integer", "50", "positions it liquidates per block at most (>= 1)"},
    {"chunks", "integer", "1",
     "transactions a liquidation of one position is split into, each repaying its share (>= 1); each is checked "
     "against the close factor when it executes"},
    {"sale", "string", "venue",
     "what it does with the collateral: venue (sell at the reference venue with a depth-based impact) | market "
     "(swap on sale_market) | keep"},
    {"sale_market", "string", "(required by sale: market)", "the constant-product pool it sells on"},
    {"venue_depth_numeraire", "number", "0",
     "sale: venue: depth D of the venue, numeraire: selling value V yields D (1 - exp(-V / D)); 0 = no impact"},
    {"debt_source", "string", "wallet",
     "where the debt asset it repays comes from: wallet (its capital) | market (bought on debt_market with its capital "
     "in the pool's other asset, in the same block just before the liquidation: a short squeeze pushes that pool "
     "up further); with market it repays at most the amount whose marginal cost on the pool equals the collateral "
     "it earns per unit"},
    {"debt_market", "string", "(required by debt_source: market)", "the constant-product pool it buys the debt asset on"},
    {"min_profit", "number", "0", "acts only if expected profit after gas exceeds this, numeraire (>= 0)"},
    {"bark", "boolean", "true", "maker: start the auction of an unsafe vault (pays gas, earns nothing here)"},
};

class LiquidatorParams;

class Liquidator final : public Agent {
 public:
  Liquidator(const LiquidatorParams& params, const AgentContext& context);
  void act(const View& view, TransactionSink& sink) override;
  void on_receipt(const core::Receipt& receipt, const View& view) override;
  void record(const View& view, std::span<double> series) override;
  void finish(const View& view, std::span<double> outcomes) override;

 private:
  void liquidate_positions(const View& view, const markets::Lending& lending, TransactionSink& sink);
  void bark_vaults(const View& view, const markets::Lending& lending, TransactionSink& sink);
  void take_auctions(const View& view, const markets::Lending& lending, TransactionSink& sink);
  // Has `position` been liquidatable for the reaction delay? Tracks spells.
  bool ready(markets::PositionId position, core::BlockNumber block);
  // Expected proceeds of selling `amount` of `asset`, numeraire at reference prices.
  double sale_value(const View& view, core::AssetIndex asset, double amount) const;
  core::Transaction base_transaction(std::uint32_t gas_used) const;

  const LiquidatorParams& params_;
  core::AgentIndex index_;
  std::vector<markets::PositionId> candidates_;
  std::vector<double> chunk_payments_;  // debt_source: market, per chunk
  std::vector<core::BlockNumber> liquidatable_since_, last_seen_;  // per position id, when reaction_delay_blocks > 0
  double profit_ = 0, gas_paid_ = 0, liquidations_ = 0, takes_ = 0, barks_ = 0, reverts_ = 0;
  double debt_repaid_value_ = 0, collateral_sold_value_ = 0, sale_impact_ = 0, skipped_unprofitable_ = 0, unfunded_ = 0;
};

class LiquidatorParams final : public AgentParams {
 public:
  core::MarketIndex market = 0;
  std::vector<double> capital;  // per asset
  std::uint32_t gas_used = 400000, bark_gas_used = 150000;
  double priority_fee_gwei = 1.0;
  std::uint32_t reaction_delay_blocks = 0;
  std::uint32_t max_liquidations_per_block = 50;
  std::uint32_t chunks = 1;
  core::CollateralSale sale = core::CollateralSale::reference_venue;
  core::MarketIndex sale_market = core::no_market;
  double venue_depth_numeraire = 0.0;
  core::MarketIndex debt_market = core::no_market;  // debt_source: market
  double min_profit = 0.0;
  bool bark = true;
  std::uint32_t max_positions = 0;  // the market's
  bool maker = false;              // the market's rules

  std::unique_ptr<Agent> create(const AgentContext& context) const override {
    return std::make_unique<Liquidator>(*this, context);
  }
  std::vector<double> initial_wallet(std::size_t) const override { return capital; }
  std::vector<output::MetricInfo> series_metrics() const override {
    return {{"profit", "numeraire", "cumulative profit after gas, at reference prices", output::RiskTail::lower_is_worse}};
  }
  std::vector<output::MetricInfo> outcome_metrics() const override {
    using output::RiskTail;
    return {
        {"profit", "numeraire",
         "collateral received (sold, or kept at reference prices) minus debt repaid and gas, numeraire",
         RiskTail::lower_is_worse},
        {"liquidations", "count", "successful liquidation transactions", RiskTail::lower_is_worse},
        {"takes", "count", "maker: successful auction takes", RiskTail::lower_is_worse},
        {"barks", "count", "maker: auctions started", RiskTail::lower_is_worse},
        {"reverts", "count", "included transactions that reverted (a competitor was first, the position recovered)",
         RiskTail::higher_is_worse},
        {"debt_repaid_value", "numeraire", "debt repaid, at reference prices", RiskTail::lower_is_worse},
        {"collateral_sold_value", "numeraire", "collateral sold, at reference prices", RiskTail::lower_is_worse},
        {"sale_impact", "numeraire", "value at reference prices of the collateral sold minus the sale proceeds",
         RiskTail::higher_is_worse},
        {"gas_paid", "numeraire", "gas paid", RiskTail::higher_is_worse},
        {"skipped_unprofitable", "count", "liquidatable positions (per block) it left because gas exceeded the profit",
         RiskTail::higher_is_worse},
        {"unfunded", "count",
         "transactions not included because its wallet could not pay them (out of gas money or capital)",
         RiskTail::higher_is_worse},
    };
  }
};

Liquidator::Liquidator(const LiquidatorParams& params, const AgentContext& context)
    : params_(params), index_(context.index), candidates_(params.max_positions), chunk_payments_(params.chunks) {
  if (params.reaction_delay_blocks > 0) {
    liquidatable_since_.assign(params.max_positions, 0);
    last_seen_.assign(params.max_positions, ~core::BlockNumber{0});
  }
}

core::Transaction Liquidator::base_transaction(std::uint32_t gas_used) const {
  core::Transaction transaction;
  transaction.sender = index_;
  transaction.market = params_.market;
  transaction.gas_used = gas_used;
  transaction.priority_fee_gwei = params_.priority_fee_gwei;
  transaction.sale = params_.sale;
  transaction.sale_market = params_.sale_market;
  transaction.venue_depth_numeraire = params_.venue_depth_numeraire;
  return transaction;
}

bool Liquidator::ready(markets::PositionId position, core::BlockNumber block) {
  if (params_.reaction_delay_blocks == 0) return true;
  if (last_seen_[position] + 1 != block) liquidatable_since_[position] = block;  // a new spell
  last_seen_[position] = block;
  return block >= liquidatable_since_[position] + params_.reaction_delay_blocks;
}

double Liquidator::sale_value(const View& view, core::AssetIndex asset, double amount) const {
  const double value = amount * view.reference_prices[asset];
  switch (params_.sale) {
    case core::CollateralSale::keep: return value;
    case core::CollateralSale::reference_venue: return core::venue_sale_proceeds(value, params_.venue_depth_numeraire);
    case core::CollateralSale::market: {
      const markets::Cpmm& pool = markets::constant_product_pool(view.markets[params_.sale_market]);
      const bool x_in = asset == pool.asset_x();
      const double out = pool.amount_out(x_in, amount);
      return out * view.reference_prices[x_in ? pool.asset_y() : pool.asset_x()];
    }
  }
  return value;
}

void Liquidator::act(const View& view, TransactionSink& sink) {
  const auto& lending = std::get<markets::Lending>(view.markets[params_.market]);
  if (lending.rules() == markets::LendingRules::maker) {
    if (params_.bark) bark_vaults(view, lending, sink);
    take_auctions(view, lending, sink);
    return;
  }
  liquidate_positions(view, lending, sink);
}

// The legs a liquidator takes on a position: its largest debt and its
// largest collateral, at oracle prices.
struct Legs {
  core::AssetIndex debt_asset = 0, collateral_asset = 0;
  double debt = 0, collateral = 0, bonus = 0;
};

Legs largest_legs(const markets::Lending& lending, markets::PositionId position, std::span<const double> prices,
                  double now) {
  Legs legs;
  double debt_value = 0, collateral_value = 0;
  for (const markets::LendingAssetParams& asset : lending.params().assets) {
    const double owed = lending.debt(position, asset.asset, now);
    const double held = lending.collateral(position, asset.asset, now);
    if (owed * prices[asset.asset] > debt_value) {
      legs.debt_asset = asset.asset;
      legs.debt = owed;
      debt_value = owed * prices[asset.asset];
    }
    if (asset.liquidation_threshold > 0.0 && held * prices[asset.asset] > collateral_value) {
      legs.collateral_asset = asset.asset;
      legs.collateral = held;
      collateral_value = held * prices[asset.asset];
      legs.bonus = asset.liquidation_bonus;
    }
  }
  return legs;
}

// Collateral the liquidator receives for repaying `repay` (the market's rule,
// markets/README.md "lending"): repay x P_debt / P_collateral x (1 + bonus),
// less the compound seize share or the aave_v3 protocol fee on the bonus.
double collateral_received(const markets::LendingParams& market, double repay, double price_ratio, double bonus) {
  double seized = repay * price_ratio * (1.0 + bonus);
  if (market.rules == markets::LendingRules::compound_v2) seized *= 1.0 - market.protocol_seize_share;
  if (market.rules == markets::LendingRules::aave_v3) {
    seized -= market.liquidation_protocol_fee * (seized - seized / (1.0 + bonus));
  }
  return seized;
}

void Liquidator::liquidate_positions(const View& view, const markets::Lending& lending, TransactionSink& sink) {
  const double now = view.time_seconds;
  const std::size_t count = lending.positions_below(1.0, view.oracle_prices, now, candidates_);
  const double gas_cost = view.gas_cost_numeraire(params_.gas_used, params_.priority_fee_gwei);
  const markets::LendingParams& market = lending.params();
  const markets::Cpmm* debt_pool = params_.debt_market != core::no_market
                                       ? &markets::constant_product_pool(view.markets[params_.debt_market])
                                       : nullptr;
  const double chunks = static_cast<double>(params_.chunks);
  // Transactions per chunk: the liquidation, and the purchase of its debt.
  const double transactions_per_chunk = debt_pool != nullptr ? 2.0 : 1.0;
  std::uint32_t sent = 0;
  for (std::size_t i = 0; i < count && sent < params_.max_liquidations_per_block; ++i) {
    const markets::PositionId position = candidates_[i];
    if (!ready(position, view.block)) continue;
    const Legs legs = largest_legs(lending, position, view.oracle_prices, now);
    if (!(legs.debt > 0.0) || !(legs.collateral > 0.0)) continue;
    const double health = lending.health_factor(position, view.oracle_prices, now);
    const bool full = market.rules == markets::LendingRules::aave_v3 && health < market.full_liquidation_health_factor;
    double repay = legs.debt * (full ? 1.0 : market.close_factor);
    // The collateral caps the repayment (compound reverts beyond it; aave
    // shrinks it): repay x P_debt x (1 + bonus) <= collateral x P_collateral.
    const double price_ratio = view.oracle_prices[legs.debt_asset] / view.oracle_prices[legs.collateral_asset];
    const double covered = legs.collateral / (price_ratio * (1.0 + legs.bonus));
    const double compound_margin = market.rules == markets::LendingRules::compound_v2 ? 1.0 - 1e-9 : 1.0;
    repay = std::min(repay, covered * compound_margin);
    // What the repaid debt costs: its reference value from the wallet, or
    // what a pool charges for it in its other token.
    double debt_cost = 0.0;
    core::AssetIndex payment_asset = legs.debt_asset;
    if (debt_pool == nullptr) {
      repay = std::min(repay, view.wallets.balance(index_, legs.debt_asset));
      debt_cost = repay * view.reference_prices[legs.debt_asset];
    } else {
      const bool debt_is_x = debt_pool->asset_x() == legs.debt_asset;
      payment_asset = debt_is_x ? debt_pool->asset_y() : debt_pool->asset_x();
      const double debt_reserve = debt_is_x ? debt_pool->reserve_x() : debt_pool->reserve_y();
      const double payment_reserve = debt_is_x ? debt_pool->reserve_y() : debt_pool->reserve_x();
      // Buying r of the debt costs c(r) = R_pay r / ((R_debt - r)(1 - fee)) of
      // the payment token; its marginal cost R_pay R_debt / ((R_debt - r)^2 (1 - fee))
      // reaches what a unit of repaid debt earns in collateral, e = P_debt
      // (1 + bonus) (in payment tokens), at r* = R_debt - sqrt(R_pay R_debt / (e (1 - fee))).
      const double earned =
          view.reference_prices[legs.debt_asset] * (1.0 + legs.bonus) / view.reference_prices[payment_asset];
      repay = std::min(repay, debt_reserve - std::sqrt(payment_reserve * debt_reserve / (earned * (1.0 - debt_pool->fee()))));
      if (!(repay > 0.0)) {
        skipped_unprofitable_ += 1.0;
        continue;
      }
      // Each chunk buys its share after the previous chunks' purchases moved
      // the pool: price them in that order on a copy.
      markets::Cpmm after_purchases = *debt_pool;
      double payment = 0.0;
      for (std::uint32_t chunk = 0; chunk < params_.chunks; ++chunk) {
        chunk_payments_[chunk] = after_purchases.amount_in_for(!debt_is_x, repay / chunks);
        after_purchases.swap(payment_asset, chunk_payments_[chunk], 0.0);
        payment += chunk_payments_[chunk];
      }
      if (!(payment <= view.wallets.balance(index_, payment_asset))) {
        skipped_unprofitable_ += 1.0;  // too little capital to buy it
        continue;
      }
      debt_cost = payment * view.reference_prices[payment_asset];
    }
    if (!(repay > 0.0)) continue;
    const double seized = collateral_received(market, repay, price_ratio, legs.bonus);
    const double profit = sale_value(view, legs.collateral_asset, seized) - debt_cost -
                          chunks * transactions_per_chunk * gas_cost;
    if (!(profit > params_.min_profit)) {
      skipped_unprofitable_ += 1.0;
      continue;
    }
    core::Transaction liquidation = base_transaction(params_.gas_used);
    liquidation.kind = core::TransactionKind::liquidate;
    liquidation.position = position;
    liquidation.token_in = legs.debt_asset;
    liquidation.token_other = legs.collateral_asset;
    liquidation.amount_in = repay / chunks;
    core::Transaction purchase = base_transaction(params_.gas_used);
    if (debt_pool != nullptr) {
      // amount_out(amount_in_for(r)) can round below r: the purchase asks for
      // a hair less, and the liquidation repays a hair less than that.
      liquidation.amount_in = repay / chunks * (1.0 - 1e-9);
      purchase.kind = core::TransactionKind::swap;
      purchase.market = params_.debt_market;
      purchase.sale = core::CollateralSale::keep;
      purchase.token_in = payment_asset;
      purchase.min_amount_out = repay / chunks * (1.0 - 1e-10);
    }
    bool submitted = true;
    for (std::uint32_t chunk = 0; chunk < params_.chunks && submitted; ++chunk) {
      if (debt_pool != nullptr) {
        purchase.amount_in = chunk_payments_[chunk];
        submitted = sink.submit(purchase);
      }
      submitted = submitted && sink.submit(liquidation);
    }
    if (!submitted) return;
    ++sent;
  }
}

void Liquidator::bark_vaults(const View& view, const markets::Lending& lending, TransactionSink& sink) {
  const std::size_t count = lending.positions_below(1.0, view.oracle_prices, view.time_seconds, candidates_);
  std::uint32_t sent = 0;
  for (std::size_t i = 0; i < count && sent < params_.max_liquidations_per_block; ++i) {
    if (!ready(candidates_[i], view.block)) continue;
    core::Transaction transaction = base_transaction(params_.bark_gas_used);
    transaction.kind = core::TransactionKind::liquidate;
    transaction.position = candidates_[i];
    transaction.sale = core::CollateralSale::keep;
    if (!sink.submit(transaction)) return;
    ++sent;
  }
}

void Liquidator::take_auctions(const View& view, const markets::Lending& lending, TransactionSink& sink) {
  if (lending.active_auctions() == 0) return;
  const double gas_cost = view.gas_cost_numeraire(params_.gas_used, params_.priority_fee_gwei);
  // Markets do not change while agents act (transactions execute after), so
  // the market's list of running auctions is stable here.
  for (const markets::AuctionId id : lending.active_auction_ids()) {
    const markets::Auction& auction = lending.auction(id);
    if (!auction.active || lending.auction_needs_reset(id, view.time_seconds)) continue;
    const double price = lending.auction_price(id, view.time_seconds);
    if (!(price > 0.0)) continue;
    const double capital = view.wallets.balance(index_, auction.debt_asset);
    // What the tab needs at this price, the lot, and what the capital buys.
    const double amount = std::min({auction.lot, auction.tab / price, capital / price});
    if (!(amount > 0.0)) continue;
    const double profit = sale_value(view, auction.collateral_asset, amount) -
                          amount * price * view.reference_prices[auction.debt_asset] - gas_cost;
    if (!(profit > params_.min_profit)) {
      skipped_unprofitable_ += 1.0;
      continue;
    }
    core::Transaction transaction = base_transaction(params_.gas_used);
    transaction.kind = core::TransactionKind::take_auction;
    transaction.position = id;
    transaction.token_in = auction.debt_asset;
    transaction.amount_in = amount;
    transaction.limit_price = price;
    if (!sink.submit(transaction)) return;
  }
}

void Liquidator::on_receipt(const core::Receipt& receipt, const View& view) {
  const double gas = receipt.gas_paid_native * view.reference_prices[view.native_asset];
  gas_paid_ += gas;
  profit_ -= gas;
  if (!receipt.succeeded()) {
    if (receipt.included) reverts_ += 1.0;
    if (!receipt.included && receipt.revert_reason == core::RevertReason::insufficient_balance) unfunded_ += 1.0;
    return;
  }
  const core::Transaction& transaction = receipt.transaction;
  if (transaction.kind == core::TransactionKind::swap) {
    // Buying the debt asset: its cost is the value paid beyond the value received.
    profit_ += receipt.amount_out * view.reference_prices[receipt.token_out] -
               receipt.amount_in * view.reference_prices[transaction.token_in];
    return;
  }
  if (transaction.kind == core::TransactionKind::liquidate && params_.maker) {
    barks_ += 1.0;  // an auction started
    return;
  }
  (transaction.kind == core::TransactionKind::take_auction ? takes_ : liquidations_) += 1.0;
  const double repaid = receipt.amount_in * view.reference_prices[transaction.token_in];
  const double received = receipt.amount_out * view.reference_prices[receipt.token_out];
  const double sold = receipt.collateral_sold * view.reference_prices[receipt.token_out];
  const double proceeds = receipt.sale_proceeds * view.reference_prices[receipt.sale_token];
  debt_repaid_value_ += repaid;
  collateral_sold_value_ += sold;
  sale_impact_ += sold - proceeds;
  // Kept collateral is valued at the reference price.
  profit_ += proceeds + (received - sold) - repaid;
}

void Liquidator::record(const View&, std::span<double> series) { series[0] = profit_; }

void Liquidator::finish(const View&, std::span<double> outcomes) {
  outcomes[0] = profit_;
  outcomes[1] = liquidations_;
  outcomes[2] = takes_;
  outcomes[3] = barks_;
  outcomes[4] = reverts_;
  outcomes[5] = debt_repaid_value_;
  outcomes[6] = collateral_sold_value_;
  outcomes[7] = sale_impact_;
  outcomes[8] = gas_paid_;
  outcomes[9] = skipped_unprofitable_;
  outcomes[10] = unfunded_;
}

std::shared_ptr<const AgentParams> parse_liquidator(const config::ConfigNode& node, const WorldNames& names) {
  auto params = std::make_shared<LiquidatorParams>();
  const config::ConfigNode market = node.child("market");
  params->market = names.market(market);
  const auto* lending = std::get_if<markets::LendingParams>(&names.markets[params->market]);
  if (lending == nullptr) market.fail(fmt::format("'{}' is not a lending market", market.as_string()));
  params->max_positions = lending->max_positions;
  params->maker = lending->rules == markets::LendingRules::maker;
  params->capital.assign(names.assets.size(), 0.0);
  for (auto& [name, amount] : node.child("capital").entries()) {
    const auto asset = static_cast<core::AssetIndex>(config::resolve_name(amount, name, names.assets, "asset"));
    params->capital[asset] = amount.in_range(amount.as_number(), 0.0, true, INFINITY, false);
  }
  params->capital[names.native_asset] += node.number_in("gas_budget_native", 100.0, 0.0, true, INFINITY, false);
  params->gas_used = static_cast<std::uint32_t>(node.integer_at_least("gas_used", 400000, 0));
  params->bark_gas_used = static_cast<std::uint32_t>(node.integer_at_least("bark_gas_used", 150000, 0));
  params->priority_fee_gwei = node.number_in("priority_fee_gwei", 1.0, 0.0, true, 1e6, true);
  params->reaction_delay_blocks = static_cast<std::uint32_t>(node.integer_at_least("reaction_delay_blocks", 0, 0));
  params->max_liquidations_per_block = static_cast<std::uint32_t>(node.integer_at_least("max_liquidations_per_block", 50, 1));
  params->chunks = static_cast<std::uint32_t>(node.integer_in("chunks", 1, 1, 100));
  static constexpr std::string_view sales[] = {"venue", "market", "keep"};
  const std::string sale = node.has("sale") ? node.child("sale").one_of(node.child("sale").as_string(), sales) : "venue";
  params->sale = sale == "venue"    ? core::CollateralSale::reference_venue
                 : sale == "market" ? core::CollateralSale::market
                                    : core::CollateralSale::keep;
  if (params->sale == core::CollateralSale::market) {
    const config::ConfigNode pool = node.child("sale_market");
    params->sale_market = names.market(pool);
    const markets::CpmmParams* pool_params = markets::constant_product_params(names.markets[params->sale_market]);
    if (pool_params == nullptr) pool.fail("not a constant-product pool (cpmm, or a twamm's embedded pool)");
    for (const markets::LendingAssetParams& asset : lending->assets) {
      const bool collateral = asset.liquidation_threshold > 0.0;
      if (collateral && asset.asset != pool_params->asset_x && asset.asset != pool_params->asset_y) {
        pool.fail(fmt::format("the pool does not trade the collateral asset '{}'", names.assets[asset.asset]));
      }
    }
  } else if (node.has("sale_market")) {
    node.child("sale_market").fail("only used with sale: market");
  }
  params->venue_depth_numeraire = node.number_in("venue_depth_numeraire", 0.0, 0.0, true, INFINITY, false);
  static constexpr std::string_view sources[] = {"wallet", "market"};
  const bool buys_debt = node.has("debt_source") &&
                         node.child("debt_source").one_of(node.child("debt_source").as_string(), sources) == "market";
  if (buys_debt) {
    const config::ConfigNode pool = node.child("debt_market");
    params->debt_market = names.market(pool);
    const markets::CpmmParams* pool_params = markets::constant_product_params(names.markets[params->debt_market]);
    if (pool_params == nullptr) pool.fail("not a constant-product pool (cpmm, or a twamm's embedded pool)");
    for (const markets::LendingAssetParams& asset : lending->assets) {
      if (asset.borrowable && asset.asset != pool_params->asset_x && asset.asset != pool_params->asset_y) {
        pool.fail(fmt::format("the pool does not trade the borrowable asset '{}'", names.assets[asset.asset]));
      }
    }
    if (lending->rules == markets::LendingRules::maker) node.child("debt_source").fail("maker keepers pay from their wallet");
  } else if (node.has("debt_market")) {
    node.child("debt_market").fail("only used with debt_source: market");
  }
  params->min_profit = node.number_in("min_profit", 0.0, 0.0, true, INFINITY, false);
  params->bark = node.boolean("bark", true);
  return params;
}

}  // namespace

AgentType liquidator_type() {
  return {"liquidator",
          "Liquidates positions with health factor below 1 (or takes from Maker auctions) when the sale of the "
          "collateral pays for the debt and the gas; sells at the reference venue or on a pool.",
          liquidator_keys, parse_liquidator};
}

}  // namespace defisim::agents
