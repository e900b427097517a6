#pragma once
// The "zero-slippage" arbitrageur of an oracle-priced perpetual pool
// (gmx_glp or gtrade_vault; a vamm prices trades on its own reserves, so it
// is refused): when the oracle lags the reference (off-chain) price, a
// position opened at the stale oracle price is worth more than it cost, and
// the pool, the counterparty, pays the difference once the oracle catches
// up. Its profit is the LPs' loss from oracle latency.
//
// Every block, with gap = reference / oracle - 1 of the traded asset:
//   open   a long when gap > threshold + the round trip's costs, a short when
//          -gap > that, with collateral_numeraire of collateral (valued at
//          the reference price; gmx longs post the index asset itself, gmx
//          shorts the pool's stablecoin, gtrade the vault's stablecoin) at
//          `leverage`, venue-funded, at most one new position per block and
//          max_positions open. The round trip's costs, as fractions of the
//          notional: gmx 2 x margin_fee; gtrade open_fee + close_fee + the
//          price impact the trade would get now; both + 2 x gas / notional.
//   close  a position once the oracle has caught up (the gap in its favour
//          below threshold / 2, or reversed) or after max_hold_seconds,
//          venue-funded.
// Money: the collateral is bought at the reference venue (its cost, at the
// reference price, is charged to the wallet in numeraire); a close pays the
// collateral asset into the wallet, valued at the reference price when it
// arrives (as if sold there at once). profit = payouts - collateral costs -
// gas, plus the open positions marked at the end (what closing them would
// pay if the oracle equalled the reference). A position liquidated under it
// is a loss of its collateral (plus whatever the market paid its owner: a
// gmx close for exceeding the maximum leverage, seen as an unexplained
// inflow to the wallet).
#include "agents/registry.hpp"

namespace defisim::agents {

AgentType perp_arbitrageur_type();

}  // namespace defisim::agents
