#pragma once
// What an agent sees of the world in one block: read-only, and only what is
// public on a chain plus the reference (off-chain) prices. Declared here, not
// in framework core, because it shows market state that core may not know.
#include <cstdint>
#include <span>

#include "framework/core/transaction.hpp"
#include "framework/core/units.hpp"
#include "markets/market.hpp"

namespace defisim::agents {

// Wallet balances of every account, row-major accounts x assets. Agents read
// their own (and, as on a chain, anyone's); only the engine writes.
struct WalletsView {
  std::span<const double> balances;
  std::size_t asset_count = 0;
  double balance(core::AgentIndex account, core::AssetIndex asset) const {
    return balances[static_cast<std::size_t>(account) * asset_count + asset];
  }
};

struct View {
  core::BlockNumber block = 0;
  double time_seconds = 0;                    // block * block_time_seconds
  double block_time_seconds = 0;
  std::span<const double> reference_prices;   // numeraire per token, per asset (numeraire = 1)
  std::span<const double> oracle_prices;      // what protocols read: the configured oracle, else the reference
  std::span<const markets::Market> markets;   // public state of every market
  std::span<const core::Transaction> mempool; // public pending transactions of this block so far (empty under `private`)
  WalletsView wallets;
  std::span<const double> lp_shares;          // accounts x markets
  std::size_t market_count = 0;
  double base_gas_price_gwei = 0;
  core::AssetIndex native_asset = 0;
  core::AssetIndex numeraire = 0;
  core::Ordering ordering = core::Ordering::fifo;  // how the builder orders blocks

  double lp_share_balance(core::AgentIndex account, core::MarketIndex market) const {
    return lp_shares[static_cast<std::size_t>(account) * market_count + market];
  }
  // Gas cost of a transaction in numeraire at the reference price.
  double gas_cost_numeraire(std::uint32_t gas_used, double priority_fee_gwei) const {
    return static_cast<double>(gas_used) * (base_gas_price_gwei + priority_fee_gwei) *
           core::native_per_gwei * reference_prices[native_asset];
  }
};

// Where an agent sends transactions: the mempool of the current block. Fixed
// capacity; a full mempool drops the transaction (submit returns false and the
// sender gets a mempool_full receipt).
class TransactionSink {
 public:
  virtual ~TransactionSink() = default;
  virtual bool submit(const core::Transaction& transaction) = 0;
};

}  // namespace defisim::agents
