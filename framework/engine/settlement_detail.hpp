#pragma once
// What the settlement of each market family shares (settlement.cpp,
// settlement_lending.cpp): gas, the builder's native payments, wallet checks.
#include <span>

#include "framework/core/transaction.hpp"
#include "framework/engine/ledger.hpp"
#include "framework/engine/settlement.hpp"
#include "markets/market.hpp"

namespace defisim::engine::settlement_detail {

double gas_native_of(const core::Transaction& transaction, const SettlementContext& context);
// Pays `native` tokens of the native asset to the builder: from the sender's
// wallet (the caller checked it holds them), or, venue-funded, bought at the
// reference venue for numeraire charged to the sender.
void pay_builder_native(const core::Transaction& transaction, double native, Ledger& ledger,
                        const SettlementContext& context, core::Receipt& receipt);
// Includes the transaction by charging its gas; false (and not included) if a
// wallet-funded sender cannot pay it, whatever else is wrong with it.
bool pay_gas(const core::Transaction& transaction, Ledger& ledger, const SettlementContext& context,
             core::Receipt& receipt);
// Does the wallet hold `amount` of `asset`, plus the gas when `asset` is the
// native asset?
bool wallet_holds(const Ledger& ledger, const core::Transaction& transaction, core::AssetIndex asset, double amount,
                  const SettlementContext& context);

bool valid_amount(double amount);  // positive and finite
// Tokens into the market from the sender: from the wallet, or (venue-funded)
// bought at the reference venue for numeraire charged to the sender's wallet.
void pay_in(const core::Transaction& transaction, core::AssetIndex asset, double amount, Ledger& ledger,
            const SettlementContext& context, core::Receipt& receipt);
// Can the sender pay `amount` of `asset` into the market (and the gas)?
bool can_pay_in(const core::Transaction& transaction, core::AssetIndex asset, double amount, const Ledger& ledger,
                const SettlementContext& context);

// Lending transactions (settlement_lending.cpp).
bool venue_funding_allowed(core::TransactionKind kind);
void execute_lending(const core::Transaction& transaction, std::span<markets::Market> markets, Ledger& ledger,
                     const SettlementContext& context, core::Receipt& receipt);

// Perpetual-pool transactions (settlement_perp.cpp).
void execute_perp(const core::Transaction& transaction, std::span<markets::Market> markets, Ledger& ledger,
                  const SettlementContext& context, core::Receipt& receipt);

}  // namespace defisim::engine::settlement_detail
