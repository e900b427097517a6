#pragma once
// Executing one transaction against the markets and the ledger. Reverts are
// receipts, not exceptions. The engine is the only writer of markets and
// wallets.
#include <span>

#include "framework/core/transaction.hpp"
#include "framework/engine/ledger.hpp"
#include "markets/market.hpp"

namespace defisim::engine {

struct SettlementContext {
  std::span<const double> reference_prices;  // numeraire per token, per asset
  core::AssetIndex native_asset = 0;
  core::AssetIndex numeraire = 0;
  core::AgentIndex builder_account = 0;  // receives gas
  double base_gas_price_gwei = 0.0;
  core::BlockNumber block = 0;  // the block being executed (a twamm places orders from it)
  double time_seconds = 0.0;    // its time (lending markets accrue interest and run auctions by it)
  std::span<const double> oracle_prices;  // what protocols read (lending health checks), per asset
  core::AgentIndex protocol_account = 0;  // receives protocol fees that leave a market (gtrade's fee share)
};

// Gas: every included transaction pays gas_used x (base + priority) gwei in
// the native asset to the builder, whether it succeeds or reverts. A
// wallet-funded transaction whose wallet cannot pay its input and gas is
// invalid: it reverts with insufficient_balance and pays nothing.
//
// Long-term orders (twamm only, wallet-funded): place_long_term_order takes
// amount_in of token_in from the wallet (receipt: amount_in accepted,
// order_id, token_out the token it buys); cancel_long_term_order pays the
// unsold input (receipt.amount_other, token_in) and the proceeds so far
// (receipt.amount_out, token_out); withdraw_proceeds pays the proceeds.
// Lending (markets/lending.hpp): open_position, supply and repay may be
// venue-funded (the venue provides the tokens, charged in numeraire at the
// reference price: a borrower's off-chain account); withdraw, borrow,
// liquidate and take_auction are wallet-only, and withdraw and borrow need
// the position's owner. liquidate and take_auction can sell the collateral
// received in the same transaction (core::CollateralSale).
core::Receipt execute(const core::Transaction& transaction, std::span<markets::Market> markets,
                      Ledger& ledger, const SettlementContext& context);

// A bundle's bid, paid to the builder by the transaction that carries it
// (`receipt` is that transaction's): from the wallet's native balance, or
// bought at the reference venue for numeraire when venue-funded. False, and
// nothing paid, if a wallet cannot pay it.
bool pay_bribe(double bribe_native, Ledger& ledger, const SettlementContext& context, core::Receipt& receipt);

}  // namespace defisim::engine
