#pragma once
// A population of leveraged traders sharing one account on one perpetual pool
// (gmx_glp, gtrade_vault or vamm).
//
// New positions arrive as a Poisson process (trades_per_hour); each draws its
// side (random, momentum or mean-reverting on the asset's reference price),
// a lognormal collateral value, a log-uniform leverage and an exponential
// holding time. Collateral is bought at the reference venue (venue-funded
// perp_open, as the borrower's): gmx longs post the index asset, gmx shorts
// the pool's first stablecoin, gtrade the vault's stablecoin, vamm the quote.
// A position is closed when its holding time has passed, or earlier at a
// stop-loss or take-profit on what closing would pay (read from the View).
// Payouts land in the wallet as tokens of the collateral asset.
//
// Positions are tracked by the ids in their perp_open receipts (the
// transaction tag is the trader's slot). One that is no longer open in the
// market without the trader having closed it was liquidated (for gmx, incl.
// a keeper's close for exceeding the maximum leverage, whose payout lands in
// the wallet). A close that would revert is not sent: a position whose
// losses and fees eat its collateral (gmx) or with bad debt (vamm) is left
// to a liquidator, and one the market cannot pay after the trader's other
// closes of the block (gmx pool amounts and reserves, the gtrade vault, the
// vamm vault and insurance fund) waits; both are looked at again every
// block, with no transaction. The checks mirror the markets' own (their
// close functions have no const preview).
//
// Strategies read the asset's reference price; stop-loss and take-profit
// the value of closing now (gmx, gtrade at oracle prices with pending fees;
// vamm at its exit value on the virtual reserves). Open positions are marked
// in `pnl` at what closing them one after the other would pay.
//
// Per block it visits only its own open positions; storage for
// max_open_positions is reserved up front. With strategy random and neither
// stop_loss nor take_profit it sleeps (agents/wake.hpp) until its next
// arrival or expiry, or until the market changes (a liquidation).
#include "agents/registry.hpp"

namespace defisim::agents {

AgentType perp_trader_type();

}  // namespace defisim::agents
