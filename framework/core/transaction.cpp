#include "framework/core/transaction.hpp"

namespace defisim::core {

std::string_view to_string(RevertReason reason) {
  switch (reason) {
    case RevertReason::none: return "none";
    case RevertReason::slippage: return "slippage";
    case RevertReason::insufficient_liquidity: return "insufficient_liquidity";
    case RevertReason::insufficient_balance: return "insufficient_balance";
    case RevertReason::invalid_amount: return "invalid_amount";
    case RevertReason::invalid_token: return "invalid_token";
    case RevertReason::unsupported: return "unsupported";
    case RevertReason::mempool_full: return "mempool_full";
    case RevertReason::outbid: return "outbid";
    case RevertReason::bundle_failed: return "bundle_failed";
    case RevertReason::not_owner: return "not_owner";
    case RevertReason::healthy: return "healthy";
    case RevertReason::unhealthy: return "unhealthy";
    case RevertReason::cap_exceeded: return "cap_exceeded";
    case RevertReason::insufficient_collateral: return "insufficient_collateral";
    case RevertReason::auction_inactive: return "auction_inactive";
  }
  return "unknown";
}

}  // namespace defisim::core
