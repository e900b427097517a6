#pragma once
// The arbitrageur of a perpetual pool, in two forms.
//
// gmx_glp, gtrade_vault: the "zero-slippage" arbitrageur of an
// oracle-priced pool: when the oracle lags the reference (off-chain) price,
// a position opened at the stale oracle price is worth more than it cost,
// and the pool, the counterparty, pays the difference once the oracle
// catches up. Its profit is the LPs' loss from oracle latency.
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
//
// vamm (Perpetual Protocol v1): the arbitrageur Perp v1 relied on to keep
// the vAMM's mark near the index: it trades the virtual reserves toward the
// reference price and hedges at the reference venue. Every block, with
// gap = reference / mark - 1 (reference in quote per base, mark = Q / B)
// and fee_ratio = spread_ratio + toll_ratio (one side):
//   signal long when gap > threshold + fee_ratio (+ 2 x gas / notional),
//          short when -gap > that.
//   size   the notional that takes the mark exactly to the reference on
//          x.y = k: Q* = sqrt(k x reference), k = Q x B; a long's notional
//          Q* - Q, a short's Q - Q*; at most collateral_numeraire (in quote
//          at the reference) x leverage; margin = notional / leverage (the
//          vamm's spread and toll are paid on top), venue-funded, never at
//          an average price beyond the reference (worst_price).
//   inventory  positions are all on one side: when the signal is opposite
//          to the side it holds, it closes the oldest position of that
//          side it can close (one per block) instead of opening the other
//          side; when it agrees and fewer than max_positions are open, it
//          opens another (one per block). A close is skipped while the
//          position has bad debt (the market would revert it).
//   time   max_hold_seconds applies only if given (an inventory closed on a
//          timer pushes the mark away again).
// Money: as above (margin + opening fee bought at the venue; the payout,
// funding included, received; the closing fee bought at the venue), plus
// the hedge: a long of size_base is hedged by selling size_base at the
// reference when it opens and buying it back at the reference when it
// closes (hedge PnL = size_base x (reference at open - at close)), a short
// the opposite. The hedge is bookkeeping: no tokens move for it. A position
// liquidated under it (or partly, by a partial liquidation) has the hedge
// of what was closed unwound at the reference of the block it was closed
// in; its margin is lost. Open positions at the end are marked at what
// closing them would pay now (0 if they have bad debt) plus the hedge at
// the final reference.
#include "agents/registry.hpp"

namespace defisim::agents {

AgentType perp_arbitrageur_type();

}  // namespace defisim::agents
