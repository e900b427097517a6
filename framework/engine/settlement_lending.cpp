// Settlement of lending transactions (markets/lending.hpp): the market decides
// (health, caps, liquidation rules); this file moves the tokens between
// wallets, the market and the reference venue accordingly.
#include <cmath>

#include "framework/engine/settlement_detail.hpp"

namespace defisim::engine::settlement_detail {

namespace {

using core::CollateralSale;
using core::Funding;
using core::Receipt;
using core::RevertReason;
using core::Transaction;
using core::TransactionKind;

// Sells the collateral a liquidation or a take paid to the wallet, as the
// transaction asks. Checked beforehand by sale_is_valid, so it cannot fail.
void sell_collateral(const Transaction& transaction, core::AssetIndex collateral, double amount,
                     std::span<markets::Market> markets, Ledger& ledger, const SettlementContext& context,
                     Receipt& receipt) {
  if (transaction.sale == CollateralSale::keep || !(amount > 0.0)) return;
  if (transaction.sale == CollateralSale::reference_venue) {
    const double proceeds =
        core::venue_sale_proceeds(amount * context.reference_prices[collateral], transaction.venue_depth_numeraire);
    ledger.balance(transaction.sender, collateral) -= amount;
    ledger.venue(collateral) += amount;
    ledger.venue(context.numeraire) -= proceeds;
    ledger.balance(transaction.sender, context.numeraire) += proceeds;
    receipt.sale_token = context.numeraire;
    receipt.collateral_sold = amount;
    receipt.sale_proceeds = proceeds;
    return;
  }
  markets::Cpmm& pool = *markets::constant_product_pool_if(markets[transaction.sale_market]);
  const markets::SwapResult swap = pool.swap(collateral, amount, 0.0);
  if (!swap.succeeded()) return;  // only a pool that cannot pay out: the liquidator keeps the collateral
  ledger.balance(transaction.sender, collateral) -= swap.amount_in;
  ledger.balance(transaction.sender, swap.token_out) += swap.amount_out;
  receipt.sale_token = swap.token_out;
  receipt.collateral_sold = swap.amount_in;
  receipt.sale_proceeds = swap.amount_out;
}

bool sale_is_valid(const Transaction& transaction, core::AssetIndex collateral, std::span<const markets::Market> markets) {
  if (transaction.sale != CollateralSale::market) return true;
  if (transaction.sale_market >= markets.size()) return false;
  const markets::Cpmm* pool = markets::constant_product_pool_if(markets[transaction.sale_market]);
  return pool != nullptr && pool->trades(collateral);
}

void execute_open_position(const Transaction& transaction, markets::Lending& lending, Ledger& ledger,
                           const SettlementContext& context, Receipt& receipt) {
  // Up to two collaterals (token_in, token_extra), then the borrow.
  struct Leg {
    core::AssetIndex asset;
    double amount;
  };
  const Leg legs[2] = {{transaction.token_in, transaction.amount_in}, {transaction.token_extra, transaction.amount_extra}};
  const bool borrows = transaction.amount_other != 0.0;
  bool listed = !borrows || lending.lists(transaction.token_other);
  bool valid = !borrows || valid_amount(transaction.amount_other);
  bool funded = true;
  for (const Leg& leg : legs) {
    if (leg.amount == 0.0) continue;
    listed = listed && lending.lists(leg.asset);
    valid = valid && valid_amount(leg.amount);
  }
  if (valid && legs[1].amount != 0.0 && legs[1].asset == legs[0].asset) valid = false;  // one leg per asset
  if (listed && valid) {
    for (const Leg& leg : legs) {
      if (leg.amount != 0.0) funded = funded && can_pay_in(transaction, leg.asset, leg.amount, ledger, context);
    }
  }
  if (!listed) {
    receipt.revert_reason = RevertReason::invalid_token;
  } else if (!valid) {
    receipt.revert_reason = RevertReason::invalid_amount;
  } else if (!funded) {
    receipt.revert_reason = RevertReason::insufficient_balance;
    return;
  }
  if (!pay_gas(transaction, ledger, context, receipt)) return;
  if (receipt.revert_reason != RevertReason::none) return;
  const markets::LendingResult opened = lending.open_position(transaction.sender);
  if (!opened.succeeded()) {
    receipt.revert_reason = opened.revert_reason;
    return;
  }
  const markets::PositionId position = opened.position;
  double supplied[2] = {0.0, 0.0};
  // Undoes the supplies made so far: a position without debt can always
  // withdraw what it just supplied, from cash that just arrived. The new
  // position stays, empty.
  auto undo = [&] {
    for (int k = 0; k < 2; ++k) {
      if (supplied[k] > 0.0) lending.withdraw(position, legs[k].asset, supplied[k], context.oracle_prices, context.time_seconds);
    }
  };
  for (int k = 0; k < 2; ++k) {
    if (legs[k].amount == 0.0) continue;
    const markets::LendingResult supply = lending.supply(position, legs[k].asset, legs[k].amount, context.time_seconds);
    if (!supply.succeeded()) {
      undo();
      receipt.revert_reason = supply.revert_reason;
      return;
    }
    supplied[k] = supply.amount;
  }
  if (borrows) {
    const markets::LendingResult borrow = lending.borrow(position, transaction.token_other, transaction.amount_other,
                                                         context.oracle_prices, context.time_seconds);
    if (!borrow.succeeded()) {
      undo();
      receipt.revert_reason = borrow.revert_reason;
      return;
    }
    ledger.balance(transaction.sender, transaction.token_other) += borrow.amount;
    receipt.token_out = transaction.token_other;
    receipt.amount_out = borrow.amount;
  }
  for (int k = 0; k < 2; ++k) {
    if (supplied[k] > 0.0) pay_in(transaction, legs[k].asset, supplied[k], ledger, context, receipt);
  }
  receipt.amount_in = supplied[0];
  receipt.amount_other = supplied[1];
  receipt.lending_position = position;
}

void execute_position_operation(const Transaction& transaction, markets::Lending& lending, Ledger& ledger,
                                const SettlementContext& context, Receipt& receipt) {
  const TransactionKind kind = transaction.kind;
  const bool pays_in = kind == TransactionKind::supply || kind == TransactionKind::repay;
  const bool owner_only = kind == TransactionKind::withdraw || kind == TransactionKind::borrow;
  if (!lending.lists(transaction.token_in)) {
    receipt.revert_reason = RevertReason::invalid_token;
  } else if (!valid_amount(transaction.amount_in)) {
    receipt.revert_reason = RevertReason::invalid_amount;
  } else if (transaction.position >= lending.position_count() ||
             (owner_only && lending.owner(transaction.position) != transaction.sender)) {
    receipt.revert_reason = RevertReason::not_owner;
  } else if (pays_in && !can_pay_in(transaction, transaction.token_in, transaction.amount_in, ledger, context)) {
    receipt.revert_reason = RevertReason::insufficient_balance;
    return;
  }
  if (!pay_gas(transaction, ledger, context, receipt)) return;
  if (receipt.revert_reason != RevertReason::none) return;
  const double now = context.time_seconds;
  markets::LendingResult result;
  switch (kind) {
    case TransactionKind::supply: result = lending.supply(transaction.position, transaction.token_in, transaction.amount_in, now); break;
    case TransactionKind::repay: result = lending.repay(transaction.position, transaction.token_in, transaction.amount_in, now); break;
    case TransactionKind::withdraw:
      result = lending.withdraw(transaction.position, transaction.token_in, transaction.amount_in, context.oracle_prices, now);
      break;
    default:
      result = lending.borrow(transaction.position, transaction.token_in, transaction.amount_in, context.oracle_prices, now);
      break;
  }
  receipt.revert_reason = result.revert_reason;
  receipt.lending_position = transaction.position;
  if (!result.succeeded()) return;
  if (pays_in) {
    pay_in(transaction, transaction.token_in, result.amount, ledger, context, receipt);
    receipt.amount_in = result.amount;
  } else {
    ledger.balance(transaction.sender, transaction.token_in) += result.amount;
    receipt.token_out = transaction.token_in;
    receipt.amount_out = result.amount;
  }
}

void execute_liquidate(const Transaction& transaction, markets::Lending& lending, std::span<markets::Market> markets,
                       Ledger& ledger, const SettlementContext& context, Receipt& receipt) {
  const bool maker = lending.rules() == markets::LendingRules::maker;
  if (!maker && (!lending.lists(transaction.token_in) || !lending.lists(transaction.token_other) ||
                 !sale_is_valid(transaction, transaction.token_other, markets))) {
    receipt.revert_reason = RevertReason::invalid_token;
  } else if (!maker && !valid_amount(transaction.amount_in)) {
    receipt.revert_reason = RevertReason::invalid_amount;
  } else if (transaction.position >= lending.position_count()) {
    receipt.revert_reason = RevertReason::not_owner;
  } else if (!maker && !wallet_holds(ledger, transaction, transaction.token_in, transaction.amount_in, context)) {
    receipt.revert_reason = RevertReason::insufficient_balance;
    return;
  }
  if (!pay_gas(transaction, ledger, context, receipt)) return;
  if (receipt.revert_reason != RevertReason::none) return;
  const markets::LiquidationResult result =
      lending.liquidate(transaction.position, transaction.token_in, transaction.token_other, transaction.amount_in,
                        context.oracle_prices, context.time_seconds);
  receipt.revert_reason = result.revert_reason;
  receipt.lending_position = maker ? result.auction : transaction.position;
  if (!result.succeeded()) return;
  receipt.bad_debt_written_off = result.bad_debt_written_off;
  if (maker) return;  // the auction holds the collateral; keepers take it
  ledger.balance(transaction.sender, transaction.token_in) -= result.debt_repaid;
  ledger.balance(transaction.sender, transaction.token_other) += result.collateral_seized;
  receipt.amount_in = result.debt_repaid;
  receipt.token_out = transaction.token_other;
  receipt.amount_out = result.collateral_seized;
  receipt.collateral_to_protocol = result.collateral_to_protocol;
  sell_collateral(transaction, transaction.token_other, result.collateral_seized, markets, ledger, context, receipt);
}

void execute_take(const Transaction& transaction, markets::Lending& lending, std::span<markets::Market> markets,
                  Ledger& ledger, const SettlementContext& context, Receipt& receipt) {
  const bool known = lending.rules() == markets::LendingRules::maker && transaction.position < lending.auction_count();
  const markets::Auction* auction = known ? &lending.auction(transaction.position) : nullptr;
  if (auction == nullptr) {
    receipt.revert_reason = RevertReason::auction_inactive;
  } else if (transaction.token_in != auction->debt_asset || !sale_is_valid(transaction, auction->collateral_asset, markets)) {
    receipt.revert_reason = RevertReason::invalid_token;
  } else if (!valid_amount(transaction.amount_in) || !valid_amount(transaction.limit_price)) {
    receipt.revert_reason = RevertReason::invalid_amount;
  } else if (!wallet_holds(ledger, transaction, transaction.token_in, transaction.amount_in * transaction.limit_price,
                           context)) {
    // The most the take can cost: all it asks for at its limit price.
    receipt.revert_reason = RevertReason::insufficient_balance;
    return;
  }
  if (!pay_gas(transaction, ledger, context, receipt)) return;
  if (receipt.revert_reason != RevertReason::none) return;
  const core::AssetIndex collateral = auction->collateral_asset;
  const markets::TakeResult result = lending.take(transaction.position, transaction.amount_in, transaction.limit_price,
                                                  context.oracle_prices, context.time_seconds);
  receipt.revert_reason = result.revert_reason;
  receipt.lending_position = transaction.position;
  if (!result.succeeded()) return;
  ledger.balance(transaction.sender, transaction.token_in) -= result.debt_paid;
  ledger.balance(transaction.sender, collateral) += result.collateral_bought;
  receipt.amount_in = result.debt_paid;
  receipt.token_out = collateral;
  receipt.amount_out = result.collateral_bought;
  receipt.bad_debt_written_off = result.bad_debt_written_off;
  sell_collateral(transaction, collateral, result.collateral_bought, markets, ledger, context, receipt);
}

}  // namespace

bool venue_funding_allowed(TransactionKind kind) {
  return kind == TransactionKind::open_position || kind == TransactionKind::supply || kind == TransactionKind::repay ||
         kind == TransactionKind::perp_open || kind == TransactionKind::perp_close ||
         kind == TransactionKind::perp_deposit;
}

void execute_lending(const Transaction& transaction, std::span<markets::Market> markets, Ledger& ledger,
                     const SettlementContext& context, Receipt& receipt) {
  auto* lending = std::get_if<markets::Lending>(&markets[transaction.market]);
  if (lending == nullptr) {
    receipt.revert_reason = RevertReason::unsupported;  // not a lending market: not included
    return;
  }
  switch (transaction.kind) {
    case TransactionKind::open_position: execute_open_position(transaction, *lending, ledger, context, receipt); break;
    case TransactionKind::liquidate: execute_liquidate(transaction, *lending, markets, ledger, context, receipt); break;
    case TransactionKind::take_auction: execute_take(transaction, *lending, markets, ledger, context, receipt); break;
    default: execute_position_operation(transaction, *lending, ledger, context, receipt); break;
  }
}

}  // namespace defisim::engine::settlement_detail
