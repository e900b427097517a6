#pragma once
// What the perpetual-pool agents (perp_trader, perp_arbitrageur,
// perp_keeper) share: the mechanism their params resolve once, so that the
// per-block path switches on it instead of probing the market variant, and
// the one quantity all three read off a vamm position.
#include <cstdint>

#include "markets/market.hpp"

namespace defisim::agents {

enum class PerpMechanism : std::uint8_t { gmx, gtrade, vamm };

// What Vamm::close_position would pay position `id` before its closing fee:
// margin - funding owed + unrealised PnL at the exit value on the virtual
// reserves. Negative: bad debt, so the close reverts and the position is for
// a liquidator; -inf for a short larger than the base reserve. (The market
// has no const preview of a close; this mirrors its arithmetic, in its order.)
inline double vamm_close_remain(const markets::Vamm& vamm, markets::VammPositionId id) {
  return vamm.position(id).margin - vamm.funding_owed(id) + vamm.unrealized_pnl(id);
}

}  // namespace defisim::agents
