#pragma once
// What the perpetual-pool mechanisms share (markets/perp_*.hpp): the side of
// a position, the linear profit of a position against its entry, the split
// of a pool's result that every perp study reports, and how an operation
// reports a revert. Each mechanism keeps its own position record, fees and
// liquidation rule: GMX v1 (perp_gmx.hpp), gTrade (perp_gtrade.hpp) and
// Perpetual Protocol v1 (perp_vamm.hpp) differ in all of those.
//
// Units: sizes in numeraire (USD) notional at entry unless a name says
// otherwise; prices in numeraire per token of the traded asset; collateral
// in tokens of the collateral asset; time in seconds.
#include <cstdint>

#include "framework/core/transaction.hpp"

namespace defisim::markets {

enum class PerpSide : std::uint8_t { long_, short_ };

inline double side_sign(PerpSide side) { return side == PerpSide::long_ ? 1.0 : -1.0; }

// Profit, in numeraire, of a linear position of `size` numeraire notional
// opened at `entry_price`, marked at `price`: size x (price / entry - 1) for
// a long, the negative for a short (GMX v1 getDelta; gTrade's percent profit
// times collateral x leverage). A vAMM position's profit is not linear: it
// is its exit value on the virtual x.y = k (perp_vamm.hpp).
inline double linear_pnl(PerpSide side, double size, double entry_price, double price) {
  return side_sign(side) * size * (price / entry_price - 1.0);
}

// The split of a liquidity pool's result over an interval that issue 5's
// studies report, in numeraire; `fees + trader_pnl + delta_pnl` is the
// change of the pool's value, exactly (each mechanism's test checks it).
//   fees:       fees and funding the pool received (position, borrow,
//               rollover, funding, liquidation fees, mint/redeem fees)
//   trader_pnl: the pool as counterparty: minus what traders gained (their
//               realised profit paid, their losses kept)
//   delta_pnl:  the pool's own holdings repriced (a GLP basket's ETH)
struct PerpPoolPnl {
  double fees = 0.0;
  double trader_pnl = 0.0;
  double delta_pnl = 0.0;
  double total() const { return fees + trader_pnl + delta_pnl; }
};

// The result of an operation that reverted: `reason` and nothing else (a
// revert changes nothing, so it reports no amounts). For each mechanism's
// result structs (GmxTradeResult, GtradeCloseResult, VammOpenResult, ...).
template <typename Result>
Result reverted(core::RevertReason reason) {
  Result result;
  result.revert_reason = reason;
  return result;
}

}  // namespace defisim::markets
