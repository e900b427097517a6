#pragma once
// Who holds what: every account's wallet, every account's LP shares, and the
// reference venue's net flow per asset. The reference venue (the deep
// off-chain market) is the only source or sink of tokens: every token in a
// wallet or a market came from it, so per asset
//   sum(wallets) + sum(market reserves) + venue_net == 0
// at every block of every path. That is the conservation law tests check.
#include <cstddef>
#include <span>
#include <vector>

#include "framework/core/units.hpp"

namespace defisim::engine {

class Ledger {
 public:
  Ledger(std::size_t accounts, std::size_t assets, std::size_t markets);

  double& balance(core::AgentIndex account, core::AssetIndex asset) {
    return balances_[static_cast<std::size_t>(account) * assets_ + asset];
  }
  double balance(core::AgentIndex account, core::AssetIndex asset) const {
    return balances_[static_cast<std::size_t>(account) * assets_ + asset];
  }
  double& shares(core::AgentIndex account, core::MarketIndex market) {
    return shares_[static_cast<std::size_t>(account) * markets_ + market];
  }
  double shares(core::AgentIndex account, core::MarketIndex market) const {
    return shares_[static_cast<std::size_t>(account) * markets_ + market];
  }
  double& venue(core::AssetIndex asset) { return venue_[asset]; }
  double venue(core::AssetIndex asset) const { return venue_[asset]; }

  // Tokens from the venue into an account (negative: back to the venue).
  void draw_from_venue(core::AgentIndex account, core::AssetIndex asset, double amount) {
    venue_[asset] -= amount;
    balance(account, asset) += amount;
  }

  std::span<const double> balances() const { return balances_; }
  std::span<const double> all_shares() const { return shares_; }
  std::size_t accounts() const { return accounts_; }
  std::size_t assets() const { return assets_; }
  std::size_t markets() const { return markets_; }

 private:
  std::size_t accounts_;
  std::size_t assets_;
  std::size_t markets_;
  std::vector<double> balances_;  // accounts x assets
  std::vector<double> shares_;    // accounts x markets
  std::vector<double> venue_;     // per asset
};

}  // namespace defisim::engine
