// Settlement of perpetual-pool transactions (markets/perp_*.hpp): the market
// decides (margins, fees, liquidation rules, share prices); this file moves
// the tokens between wallets, the market, the protocol and the venue.
//
// Prices: a gmx pool and a gtrade vault read the oracle (context.oracle_prices);
// a vamm prices trades on its own virtual reserves and reads the oracle only
// as the index of liquidations. Time is context.time_seconds.
#include <cmath>

#include "framework/engine/settlement_detail.hpp"

namespace defisim::engine::settlement_detail {

namespace {

using core::Receipt;
using core::RevertReason;
using core::Transaction;
using core::TransactionKind;
using markets::PerpSide;

PerpSide side_of(const Transaction& transaction) {
  return transaction.perp_short ? PerpSide::short_ : PerpSide::long_;
}

// The checks every perp transaction makes before it is included: an invalid
// one is included (it pays gas) and reverts; one whose sender cannot pay is
// not included. Returns true if the market should be called.
bool admit(const Transaction& transaction, RevertReason invalid, bool funded, Ledger& ledger,
           const SettlementContext& context, Receipt& receipt) {
  if (invalid == RevertReason::none && !funded) {
    receipt.revert_reason = RevertReason::insufficient_balance;
    return false;
  }
  receipt.revert_reason = invalid;
  if (!pay_gas(transaction, ledger, context, receipt)) return false;
  return receipt.revert_reason == RevertReason::none;
}

// A close at `price` (numeraire per token) is worse than the sender's
// worst_price (0: none): a long closes by selling, so below it; a short above.
bool closes_beyond(const Transaction& transaction, PerpSide side, double price) {
  if (!(transaction.worst_price > 0.0)) return false;
  return side == PerpSide::long_ ? price < transaction.worst_price : price > transaction.worst_price;
}

void pay_out(core::AgentIndex account, core::AssetIndex asset, double amount, Ledger& ledger) {
  if (amount != 0.0) ledger.balance(account, asset) += amount;
}

// ------------------------------------------------------------------- gmx ----

void execute_gmx(const Transaction& t, markets::GmxPool& pool, Ledger& ledger, const SettlementContext& context,
                 Receipt& receipt) {
  const auto prices = context.oracle_prices;
  const double now = context.time_seconds;
  switch (t.kind) {
    case TransactionKind::perp_open: {
      RevertReason invalid = RevertReason::none;
      if (!pool.lists(t.token_in) || !pool.lists(t.token_other)) invalid = RevertReason::invalid_token;
      else if (!valid_amount(t.amount_in) || !valid_amount(t.leverage)) invalid = RevertReason::invalid_amount;
      if (!admit(t, invalid, can_pay_in(t, t.token_in, t.amount_in, ledger, context), ledger, context, receipt)) return;
      const double index_price = prices[t.token_other];
      if (t.worst_price > 0.0 && (t.perp_short ? index_price < t.worst_price : index_price > t.worst_price)) {
        receipt.revert_reason = RevertReason::slippage;
        return;
      }
      const double size_usd = t.amount_in * prices[t.token_in] * t.leverage;
      const markets::GmxTradeResult result =
          pool.open_position(t.sender, side_of(t), t.token_other, t.token_in, t.amount_in, size_usd, prices, now);
      if (!result.succeeded()) {
        receipt.revert_reason = result.revert_reason;
        return;
      }
      pay_in(t, t.token_in, result.collateral_in, ledger, context, receipt);
      receipt.amount_in = result.collateral_in;
      receipt.perp_position = result.position;
      receipt.perp_position_fees = result.position_fee_usd;
      receipt.perp_funding_fees = result.borrow_fee_usd;
      return;
    }
    case TransactionKind::perp_close: {
      if (!admit(t, RevertReason::none, true, ledger, context, receipt)) return;
      if (t.position < pool.position_count() && pool.position(t.position).open &&
          closes_beyond(t, pool.position(t.position).side, prices[pool.position(t.position).index_asset])) {
        receipt.revert_reason = RevertReason::slippage;
        return;
      }
      const markets::GmxTradeResult result = pool.close_position(t.position, t.sender, prices, now);
      if (!result.succeeded()) {
        receipt.revert_reason = result.revert_reason;
        return;
      }
      pay_out(t.sender, result.collateral_asset, result.amount_out, ledger);
      receipt.token_out = result.collateral_asset;
      receipt.amount_out = result.amount_out;
      receipt.perp_position = t.position;
      receipt.perp_position_fees = result.position_fee_usd;
      receipt.perp_funding_fees = result.borrow_fee_usd;
      receipt.perp_realised_pnl = result.realised_pnl_usd;
      return;
    }
    case TransactionKind::perp_liquidate: {
      if (!admit(t, RevertReason::none, true, ledger, context, receipt)) return;
      const core::AgentIndex owner =
          t.position < pool.position_count() ? pool.position(t.position).owner : core::no_agent;
      const double pnl = t.position < pool.position_count() ? pool.position_pnl_usd(t.position, prices) : 0.0;
      const markets::GmxLiquidationResult result = pool.liquidate(t.position, prices, now);
      if (!result.succeeded()) {
        receipt.revert_reason = result.revert_reason;
        return;
      }
      pay_out(t.sender, result.collateral_asset, result.liquidator_fee, ledger);
      pay_out(owner, result.collateral_asset, result.owner_out, ledger);
      receipt.token_out = result.collateral_asset;
      receipt.amount_out = result.liquidator_fee;
      receipt.perp_position = t.position;
      receipt.perp_owner = owner;
      receipt.perp_owner_payout = result.owner_out;
      receipt.perp_position_fees = result.fees_usd;
      receipt.perp_realised_pnl = pnl;
      receipt.bad_debt_written_off = result.bad_debt_usd;
      return;
    }
    case TransactionKind::perp_deposit: {
      RevertReason invalid = RevertReason::none;
      if (!pool.lists(t.token_in)) invalid = RevertReason::invalid_token;
      else if (!valid_amount(t.amount_in)) invalid = RevertReason::invalid_amount;
      if (!admit(t, invalid, can_pay_in(t, t.token_in, t.amount_in, ledger, context), ledger, context, receipt)) return;
      const markets::GmxLiquidityResult result = pool.add_liquidity(t.token_in, t.amount_in, prices, now);
      if (!result.succeeded()) {
        receipt.revert_reason = result.revert_reason;
        return;
      }
      pay_in(t, t.token_in, result.amount, ledger, context, receipt);
      ledger.shares(t.sender, t.market) += result.shares;
      receipt.amount_in = result.amount;
      receipt.amount_out = result.shares;
      receipt.fee_paid = result.fee;
      return;
    }
    case TransactionKind::perp_redeem: {
      RevertReason invalid = RevertReason::none;
      if (!pool.lists(t.token_other)) invalid = RevertReason::invalid_token;
      else if (!valid_amount(t.amount_in)) invalid = RevertReason::invalid_amount;
      const bool holds = ledger.shares(t.sender, t.market) >= t.amount_in;
      if (!admit(t, invalid, holds, ledger, context, receipt)) return;
      const markets::GmxLiquidityResult result = pool.remove_liquidity(t.amount_in, t.token_other, prices, now);
      if (!result.succeeded()) {
        receipt.revert_reason = result.revert_reason;
        return;
      }
      ledger.shares(t.sender, t.market) -= result.shares;
      pay_out(t.sender, t.token_other, result.amount, ledger);
      receipt.amount_in = result.shares;
      receipt.token_out = t.token_other;
      receipt.amount_out = result.amount;
      receipt.fee_paid = result.fee;
      return;
    }
    default: receipt.revert_reason = RevertReason::unsupported; return;
  }
}

// ---------------------------------------------------------------- gtrade ----

// Fees gTrade does not leave in the vault go to the protocol's account.
void pay_protocol_fees(const markets::GtradeVault& vault, double protocol_fees_before, Ledger& ledger,
                       const SettlementContext& context) {
  pay_out(context.protocol_account, vault.params().collateral_asset, vault.protocol_fees() - protocol_fees_before,
          ledger);
}

void execute_gtrade(const Transaction& t, markets::GtradeVault& vault, Ledger& ledger,
                    const SettlementContext& context, Receipt& receipt) {
  const core::AssetIndex stable = vault.params().collateral_asset;
  const double price = context.oracle_prices[vault.params().traded_asset];
  const double now = context.time_seconds;
  const double protocol_fees_before = vault.protocol_fees();
  switch (t.kind) {
    case TransactionKind::perp_open: {
      RevertReason invalid = RevertReason::none;
      if (t.token_in != stable) invalid = RevertReason::invalid_token;
      else if (!valid_amount(t.amount_in) || !valid_amount(t.leverage)) invalid = RevertReason::invalid_amount;
      if (!admit(t, invalid, can_pay_in(t, stable, t.amount_in, ledger, context), ledger, context, receipt)) return;
      const markets::GtradeOpenResult result =
          vault.open_trade(t.sender, side_of(t), t.amount_in, t.leverage, price, now, t.worst_price);
      if (!result.succeeded()) {
        receipt.revert_reason = result.revert_reason;
        return;
      }
      pay_in(t, stable, t.amount_in, ledger, context, receipt);
      pay_protocol_fees(vault, protocol_fees_before, ledger, context);
      receipt.amount_in = t.amount_in;
      receipt.perp_position = result.trade;
      receipt.perp_position_fees = result.open_fee;
      return;
    }
    case TransactionKind::perp_close: {
      if (!admit(t, RevertReason::none, true, ledger, context, receipt)) return;
      if (vault.is_open(t.position) && closes_beyond(t, vault.trade(t.position).side, price)) {
        receipt.revert_reason = RevertReason::slippage;
        return;
      }
      const markets::GtradeCloseResult result = vault.close_trade(t.position, t.sender, price, now);
      if (!result.succeeded()) {
        receipt.revert_reason = result.revert_reason;
        return;
      }
      pay_out(t.sender, stable, result.payout, ledger);
      pay_protocol_fees(vault, protocol_fees_before, ledger, context);
      receipt.token_out = stable;
      receipt.amount_out = result.payout;
      receipt.perp_position = t.position;
      receipt.perp_position_fees = result.closing_fee;
      receipt.perp_funding_fees = result.rollover_fee + result.funding_fee;
      receipt.perp_realised_pnl = result.profit;
      return;
    }
    case TransactionKind::perp_liquidate: {
      if (!admit(t, RevertReason::none, true, ledger, context, receipt)) return;
      const core::AgentIndex owner = vault.is_open(t.position) ? vault.trade(t.position).owner : core::no_agent;
      const markets::GtradeCloseResult result = vault.liquidate(t.position, price, now);
      if (!result.succeeded()) {
        receipt.revert_reason = result.revert_reason;
        return;
      }
      pay_out(t.sender, stable, result.liquidator_reward, ledger);
      receipt.token_out = stable;
      receipt.amount_out = result.liquidator_reward;
      receipt.perp_position = t.position;
      receipt.perp_owner = owner;
      receipt.perp_funding_fees = result.rollover_fee + result.funding_fee;
      receipt.perp_realised_pnl = result.profit;
      return;
    }
    case TransactionKind::perp_deposit: {
      RevertReason invalid = RevertReason::none;
      if (t.token_in != stable) invalid = RevertReason::invalid_token;
      else if (!valid_amount(t.amount_in)) invalid = RevertReason::invalid_amount;
      if (!admit(t, invalid, can_pay_in(t, stable, t.amount_in, ledger, context), ledger, context, receipt)) return;
      const markets::GtradeVaultResult result = vault.deposit(t.amount_in);
      if (!result.succeeded()) {
        receipt.revert_reason = result.revert_reason;
        return;
      }
      pay_in(t, stable, result.assets, ledger, context, receipt);
      ledger.shares(t.sender, t.market) += result.shares;
      receipt.amount_in = result.assets;
      receipt.amount_out = result.shares;
      return;
    }
    case TransactionKind::perp_redeem: {
      RevertReason invalid = RevertReason::none;
      if (t.token_other != stable) invalid = RevertReason::invalid_token;
      else if (!valid_amount(t.amount_in)) invalid = RevertReason::invalid_amount;
      const bool holds = ledger.shares(t.sender, t.market) >= t.amount_in;
      if (!admit(t, invalid, holds, ledger, context, receipt)) return;
      const markets::GtradeVaultResult result = vault.redeem(t.amount_in);
      if (!result.succeeded()) {
        receipt.revert_reason = result.revert_reason;
        return;
      }
      ledger.shares(t.sender, t.market) -= result.shares;
      pay_out(t.sender, stable, result.assets, ledger);
      receipt.amount_in = result.shares;
      receipt.token_out = stable;
      receipt.amount_out = result.assets;
      return;
    }
    default: receipt.revert_reason = RevertReason::unsupported; return;
  }
}

// ------------------------------------------------------------------ vamm ----

void execute_vamm(const Transaction& t, markets::Vamm& vamm, Ledger& ledger, const SettlementContext& context,
                  Receipt& receipt) {
  const core::AssetIndex quote = vamm.params().quote_asset;
  const double now = context.time_seconds;
  switch (t.kind) {
    case TransactionKind::perp_open: {
      RevertReason invalid = RevertReason::none;
      if (t.token_in != quote) invalid = RevertReason::invalid_token;
      else if (!valid_amount(t.amount_in) || !valid_amount(t.leverage)) invalid = RevertReason::invalid_amount;
      const double notional = t.amount_in * t.leverage;
      // Perp v1's ClearingHouse transfers the spread and toll from the trader
      // on top of the margin (transferFee), on opening and on closing alike.
      const double fee = notional * vamm.params().fee_ratio();
      if (!admit(t, invalid, can_pay_in(t, quote, t.amount_in + fee, ledger, context), ledger, context, receipt)) {
        return;
      }
      // A long's worst average price bounds the base it receives from below,
      // a short's the base it owes from above (Amm.swapInput's base limit).
      const double base_limit = t.worst_price > 0.0 ? notional / t.worst_price : 0.0;
      const markets::VammOpenResult result = vamm.open_position(t.sender, side_of(t), t.amount_in, t.leverage,
                                                                base_limit, now);
      if (!result.succeeded()) {
        receipt.revert_reason = result.revert_reason;
        return;
      }
      pay_in(t, quote, t.amount_in + result.fee, ledger, context, receipt);
      receipt.amount_in = t.amount_in + result.fee;
      receipt.fee_paid = result.fee;
      receipt.perp_position = result.position;
      receipt.perp_position_fees = result.fee;
      return;
    }
    case TransactionKind::perp_close: {
      const markets::VammPosition position = vamm.position(t.position);
      const double fee =
          position.open ? vamm.exit_notional(position.side, position.size_base) * vamm.params().fee_ratio() : 0.0;
      const bool funded = std::isfinite(fee) && can_pay_in(t, quote, fee, ledger, context);
      if (!admit(t, RevertReason::none, funded, ledger, context, receipt)) return;
      // A long's worst average exit price bounds the quote it receives from
      // below, a short's the quote it pays from above (Amm.swapOutput's limit).
      const double quote_limit = t.worst_price > 0.0 ? position.size_base * t.worst_price : 0.0;
      const markets::VammCloseResult result = vamm.close_position(t.sender, t.position, quote_limit, now);
      if (!result.succeeded()) {
        receipt.revert_reason = result.revert_reason;
        return;
      }
      pay_out(t.sender, quote, result.payout, ledger);
      pay_in(t, quote, result.fee, ledger, context, receipt);
      receipt.token_out = quote;
      receipt.amount_out = result.payout;
      receipt.fee_paid = result.fee;
      receipt.perp_position = t.position;
      receipt.perp_position_fees = result.fee;
      receipt.perp_funding_fees = result.funding_paid;
      receipt.perp_realised_pnl = result.realized_pnl;
      return;
    }
    case TransactionKind::perp_liquidate: {
      if (!admit(t, RevertReason::none, true, ledger, context, receipt)) return;
      const core::AgentIndex owner = vamm.position(t.position).owner;
      const markets::VammLiquidationResult result =
          vamm.liquidate(t.position, context.oracle_prices[vamm.params().base_asset], now);
      if (!result.succeeded()) {
        receipt.revert_reason = result.revert_reason;
        return;
      }
      pay_out(t.sender, quote, result.fee_to_liquidator, ledger);
      receipt.token_out = quote;
      receipt.amount_out = result.fee_to_liquidator;
      receipt.perp_position = t.position;
      receipt.perp_owner = owner;
      receipt.perp_funding_fees = result.funding_paid;
      receipt.perp_realised_pnl = result.realized_pnl;
      receipt.bad_debt_written_off = result.bad_debt;
      return;
    }
    default: receipt.revert_reason = RevertReason::unsupported; return;  // a vamm has no liquidity providers
  }
}

}  // namespace

void execute_perp(const Transaction& transaction, std::span<markets::Market> markets, Ledger& ledger,
                  const SettlementContext& context, Receipt& receipt) {
  markets::Market& market = markets[transaction.market];
  if (auto* gmx = std::get_if<markets::GmxPool>(&market)) {
    execute_gmx(transaction, *gmx, ledger, context, receipt);
  } else if (auto* gtrade = std::get_if<markets::GtradeVault>(&market)) {
    execute_gtrade(transaction, *gtrade, ledger, context, receipt);
  } else if (auto* vamm = std::get_if<markets::Vamm>(&market)) {
    execute_vamm(transaction, *vamm, ledger, context, receipt);
  } else {
    receipt.revert_reason = RevertReason::unsupported;  // not a perpetual pool: not included
  }
}

}  // namespace defisim::engine::settlement_detail
