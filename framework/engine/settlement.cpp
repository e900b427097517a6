#include "framework/engine/settlement.hpp"

#include "framework/engine/settlement_detail.hpp"

#include <cmath>

namespace defisim::engine {

using core::Funding;
using core::Receipt;
using core::RevertReason;
using core::Transaction;

namespace settlement_detail {

double gas_native_of(const Transaction& transaction, const SettlementContext& context) {
  return static_cast<double>(transaction.gas_used) *
         (context.base_gas_price_gwei + transaction.priority_fee_gwei) * core::native_per_gwei;
}

void pay_builder_native(const Transaction& transaction, double native, Ledger& ledger,
                        const SettlementContext& context, Receipt& receipt) {
  ledger.balance(context.builder_account, context.native_asset) += native;
  if (transaction.funding == Funding::wallet) {
    ledger.balance(transaction.sender, context.native_asset) -= native;
    return;
  }
  const double numeraire = native * context.reference_prices[context.native_asset];
  ledger.venue(context.native_asset) -= native;
  ledger.venue(context.numeraire) += numeraire;
  ledger.balance(transaction.sender, context.numeraire) -= numeraire;
  receipt.venue_settlement -= numeraire;
}

bool pay_gas(const Transaction& transaction, Ledger& ledger, const SettlementContext& context,
             Receipt& receipt) {
  const double gas_native = gas_native_of(transaction, context);
  if (transaction.funding == Funding::wallet &&
      ledger.balance(transaction.sender, context.native_asset) < gas_native) {
    receipt.revert_reason = RevertReason::insufficient_balance;
    return false;
  }
  receipt.gas_paid_native = gas_native;
  receipt.included = true;
  pay_builder_native(transaction, gas_native, ledger, context, receipt);
  return true;
}

bool wallet_holds(const Ledger& ledger, const Transaction& transaction, core::AssetIndex asset, double amount,
                  const SettlementContext& context) {
  const double gas = asset == context.native_asset ? gas_native_of(transaction, context) : 0.0;
  return ledger.balance(transaction.sender, asset) >= amount + gas;
}

bool valid_amount(double amount) { return amount > 0.0 && std::isfinite(amount); }

void pay_in(const Transaction& transaction, core::AssetIndex asset, double amount, Ledger& ledger,
            const SettlementContext& context, Receipt& receipt) {
  if (transaction.funding == Funding::wallet) {
    ledger.balance(transaction.sender, asset) -= amount;
    return;
  }
  const double numeraire = amount * context.reference_prices[asset];
  ledger.venue(asset) -= amount;
  ledger.venue(context.numeraire) += numeraire;
  ledger.balance(transaction.sender, context.numeraire) -= numeraire;
  receipt.venue_settlement -= numeraire;
}

bool can_pay_in(const Transaction& transaction, core::AssetIndex asset, double amount, const Ledger& ledger,
                const SettlementContext& context) {
  return transaction.funding != Funding::wallet || wallet_holds(ledger, transaction, asset, amount, context);
}

}  // namespace settlement_detail

namespace {

using namespace settlement_detail;

void execute_swap(const Transaction& transaction, markets::Cpmm& pool, Ledger& ledger,
                  const SettlementContext& context, Receipt& receipt) {
  if (!pool.trades(transaction.token_in)) {
    receipt.revert_reason = RevertReason::invalid_token;
  } else if (!(transaction.amount_in > 0.0) || !std::isfinite(transaction.amount_in)) {
    receipt.revert_reason = RevertReason::invalid_amount;
  }
  if (transaction.funding == Funding::wallet && receipt.revert_reason == RevertReason::none &&
      !wallet_holds(ledger, transaction, transaction.token_in, transaction.amount_in, context)) {
    receipt.revert_reason = RevertReason::insufficient_balance;
    return;  // invalid: not included, no gas
  }
  if (!pay_gas(transaction, ledger, context, receipt)) return;
  if (receipt.revert_reason != RevertReason::none) return;

  const markets::SwapResult result =
      pool.swap(transaction.token_in, transaction.amount_in, transaction.min_amount_out);
  receipt.revert_reason = result.revert_reason;
  receipt.token_out = result.token_out;
  if (!result.succeeded()) return;
  receipt.amount_in = result.amount_in;
  receipt.amount_out = result.amount_out;
  receipt.fee_paid = result.fee_paid;
  if (transaction.funding == Funding::wallet) {
    ledger.balance(transaction.sender, transaction.token_in) -= result.amount_in;
    ledger.balance(transaction.sender, result.token_out) += result.amount_out;
  } else {
    // The venue lends the input and takes the output; the sender is paid the
    // difference in numeraire at reference prices.
    const double settlement = result.amount_out * context.reference_prices[result.token_out] -
                              result.amount_in * context.reference_prices[transaction.token_in];
    ledger.venue(transaction.token_in) -= result.amount_in;
    ledger.venue(result.token_out) += result.amount_out;
    ledger.venue(context.numeraire) -= settlement;
    ledger.balance(transaction.sender, context.numeraire) += settlement;
    receipt.venue_settlement += settlement;
    if (transaction.lender_fee_numeraire > 0.0) {
      ledger.venue(context.numeraire) += transaction.lender_fee_numeraire;
      ledger.balance(transaction.sender, context.numeraire) -= transaction.lender_fee_numeraire;
      receipt.venue_settlement -= transaction.lender_fee_numeraire;
      receipt.lender_fee_paid_numeraire = transaction.lender_fee_numeraire;
    }
  }
}

void execute_add_liquidity(const Transaction& transaction, markets::Cpmm& pool, Ledger& ledger,
                           const SettlementContext& context, Receipt& receipt) {
  const bool x_first = transaction.token_in == pool.asset_x();
  const core::AssetIndex other = x_first ? pool.asset_y() : pool.asset_x();
  if (!pool.trades(transaction.token_in)) {
    receipt.revert_reason = RevertReason::invalid_token;
  } else if (!(transaction.amount_in > 0.0) || !(transaction.amount_other > 0.0) ||
             !std::isfinite(transaction.amount_in) || !std::isfinite(transaction.amount_other)) {
    receipt.revert_reason = RevertReason::invalid_amount;
  } else if (!wallet_holds(ledger, transaction, transaction.token_in, transaction.amount_in, context) ||
             !wallet_holds(ledger, transaction, other, transaction.amount_other, context)) {
    receipt.revert_reason = RevertReason::insufficient_balance;
    return;
  }
  if (!pay_gas(transaction, ledger, context, receipt)) return;
  if (receipt.revert_reason != RevertReason::none) return;
  const double max_x = x_first ? transaction.amount_in : transaction.amount_other;
  const double max_y = x_first ? transaction.amount_other : transaction.amount_in;
  const markets::LiquidityResult result = pool.add_liquidity(max_x, max_y, transaction.min_amount_out);
  receipt.revert_reason = result.revert_reason;
  if (!result.succeeded()) return;
  ledger.balance(transaction.sender, pool.asset_x()) -= result.amount_x;
  ledger.balance(transaction.sender, pool.asset_y()) -= result.amount_y;
  ledger.shares(transaction.sender, transaction.market) += result.shares;
  receipt.amount_in = x_first ? result.amount_x : result.amount_y;
  receipt.amount_other = x_first ? result.amount_y : result.amount_x;
  receipt.amount_out = result.shares;
}

void execute_remove_liquidity(const Transaction& transaction, markets::Cpmm& pool, Ledger& ledger,
                              const SettlementContext& context, Receipt& receipt) {
  const bool x_first = transaction.token_in == pool.asset_x();
  if (!pool.trades(transaction.token_in)) {
    receipt.revert_reason = RevertReason::invalid_token;
  } else if (!(transaction.amount_in > 0.0) || !std::isfinite(transaction.amount_in)) {
    receipt.revert_reason = RevertReason::invalid_amount;
  } else if (ledger.shares(transaction.sender, transaction.market) < transaction.amount_in) {
    receipt.revert_reason = RevertReason::insufficient_balance;
    return;
  }
  if (!pay_gas(transaction, ledger, context, receipt)) return;
  if (receipt.revert_reason != RevertReason::none) return;
  const double min_x = x_first ? transaction.min_amount_out : transaction.min_amount_other;
  const double min_y = x_first ? transaction.min_amount_other : transaction.min_amount_out;
  const markets::LiquidityResult result = pool.remove_liquidity(transaction.amount_in, min_x, min_y);
  receipt.revert_reason = result.revert_reason;
  if (!result.succeeded()) return;
  ledger.shares(transaction.sender, transaction.market) -= result.shares;
  ledger.balance(transaction.sender, pool.asset_x()) += result.amount_x;
  ledger.balance(transaction.sender, pool.asset_y()) += result.amount_y;
  receipt.token_out = transaction.token_in;
  receipt.amount_in = result.shares;
  receipt.amount_out = x_first ? result.amount_x : result.amount_y;
  receipt.amount_other = x_first ? result.amount_y : result.amount_x;
}

// Long-term orders (twamm) are wallet-funded: the order's input leaves the
// wallet when it is placed; refunds and proceeds come back to it. The twamm
// must be up to date (the engine executes its virtual orders each block
// before any transaction).
void execute_place_order(const Transaction& transaction, markets::Twamm& twamm, Ledger& ledger,
                         const SettlementContext& context, Receipt& receipt) {
  const markets::Cpmm& pool = twamm.pool();
  if (!pool.trades(transaction.token_in)) {
    receipt.revert_reason = RevertReason::invalid_token;
  } else if (!(transaction.amount_in > 0.0) || !std::isfinite(transaction.amount_in)) {
    receipt.revert_reason = RevertReason::invalid_amount;
  } else if (!wallet_holds(ledger, transaction, transaction.token_in, transaction.amount_in, context)) {
    receipt.revert_reason = RevertReason::insufficient_balance;
    return;
  }
  if (!pay_gas(transaction, ledger, context, receipt)) return;
  if (receipt.revert_reason != RevertReason::none) return;
  const markets::LongTermOrderResult result =
      twamm.place_order(transaction.sender, transaction.token_in, transaction.amount_in,
                        transaction.duration_blocks, context.block);
  receipt.revert_reason = result.revert_reason;
  receipt.token_out = transaction.token_in == pool.asset_x() ? pool.asset_y() : pool.asset_x();
  if (!result.succeeded()) return;
  ledger.balance(transaction.sender, transaction.token_in) -= result.amount_in;
  receipt.amount_in = result.amount_in;
  receipt.order_id = result.order_id;
}

void execute_settle_order(const Transaction& transaction, markets::Twamm& twamm, Ledger& ledger,
                          const SettlementContext& context, Receipt& receipt) {
  if (!pay_gas(transaction, ledger, context, receipt)) return;
  const markets::OrderSettlement result =
      transaction.kind == core::TransactionKind::cancel_long_term_order
          ? twamm.cancel_order(transaction.sender, transaction.order_id)
          : twamm.withdraw_proceeds(transaction.sender, transaction.order_id);
  receipt.revert_reason = result.revert_reason;
  receipt.order_id = transaction.order_id;
  if (!result.succeeded()) return;
  ledger.balance(transaction.sender, result.refund_token) += result.refund_amount;
  ledger.balance(transaction.sender, result.proceeds_token) += result.proceeds_amount;
  receipt.token_out = result.proceeds_token;
  receipt.amount_out = result.proceeds_amount;
  receipt.amount_other = result.refund_amount;
}

}  // namespace

Receipt execute(const Transaction& transaction, std::span<markets::Market> markets, Ledger& ledger,
                const SettlementContext& context) {
  Receipt receipt;
  receipt.transaction = transaction;
  if (transaction.market >= markets.size()) {
    receipt.revert_reason = RevertReason::unsupported;
    return receipt;
  }
  markets::Market& market = markets[transaction.market];
  if (transaction.kind != core::TransactionKind::swap && transaction.funding != Funding::wallet &&
      !venue_funding_allowed(transaction.kind)) {
    receipt.revert_reason = RevertReason::unsupported;  // liquidity and long-term orders move only from wallets
    return receipt;
  }
  auto* twamm = std::get_if<markets::Twamm>(&market);
  const bool pool_transaction = transaction.kind == core::TransactionKind::swap ||
                                transaction.kind == core::TransactionKind::add_liquidity ||
                                transaction.kind == core::TransactionKind::remove_liquidity;
  if (pool_transaction && markets::constant_product_pool_if(market) == nullptr) {
    receipt.revert_reason = RevertReason::unsupported;  // a lending market has no pool
    return receipt;
  }
  switch (transaction.kind) {
    case core::TransactionKind::swap:
      execute_swap(transaction, markets::constant_product_pool(market), ledger, context, receipt);
      break;
    case core::TransactionKind::add_liquidity:
      execute_add_liquidity(transaction, markets::constant_product_pool(market), ledger, context, receipt);
      break;
    case core::TransactionKind::remove_liquidity:
      execute_remove_liquidity(transaction, markets::constant_product_pool(market), ledger, context, receipt);
      break;
    case core::TransactionKind::open_position:
    case core::TransactionKind::supply:
    case core::TransactionKind::withdraw:
    case core::TransactionKind::borrow:
    case core::TransactionKind::repay:
    case core::TransactionKind::liquidate:
    case core::TransactionKind::take_auction:
      execute_lending(transaction, markets, ledger, context, receipt);
      break;
    case core::TransactionKind::perp_open:
    case core::TransactionKind::perp_close:
    case core::TransactionKind::perp_liquidate:
    case core::TransactionKind::perp_deposit:
    case core::TransactionKind::perp_redeem:
      execute_perp(transaction, markets, ledger, context, receipt);
      break;
    case core::TransactionKind::place_long_term_order:
    case core::TransactionKind::cancel_long_term_order:
    case core::TransactionKind::withdraw_proceeds:
      if (twamm == nullptr) {
        receipt.revert_reason = RevertReason::unsupported;  // long-term orders are twamm-only
        break;
      }
      twamm->execute_virtual_orders(context.block);  // touched: up to date first, as the contract does
      if (transaction.kind == core::TransactionKind::place_long_term_order) {
        execute_place_order(transaction, *twamm, ledger, context, receipt);
      } else {
        execute_settle_order(transaction, *twamm, ledger, context, receipt);
      }
      break;
  }
  return receipt;
}

bool pay_bribe(double bribe_native, Ledger& ledger, const SettlementContext& context, Receipt& receipt) {
  if (!(bribe_native > 0.0)) return true;
  const Transaction& transaction = receipt.transaction;
  if (transaction.funding == Funding::wallet && ledger.balance(transaction.sender, context.native_asset) < bribe_native) {
    return false;
  }
  pay_builder_native(transaction, bribe_native, ledger, context, receipt);
  receipt.bribe_paid_native = bribe_native;
  return true;
}

}  // namespace defisim::engine
