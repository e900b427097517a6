#pragma once
// A liquidation keeper on one perpetual pool (gmx_glp, gtrade_vault or vamm).
//
// Every block it visits the market's open positions (open_position_id /
// open_trade_id: only those, never every position ever opened) and asks the
// market whether each is liquidatable at the oracle prices, exactly as the
// market's own liquidate will judge it:
//   gmx_glp       GmxPool::liquidation_state(id, oracle prices, now) ==
//                 liquidatable; reward liquidation_fee_numeraire, paid in
//                 tokens of the position's collateral at its oracle price.
//                 A position only over its maximum leverage
//                 (max_leverage_exceeded) is closed for its owner with no
//                 reward: it is never worth gas, and is counted as skipped.
//   gtrade_vault  GtradeVault::liquidatable(id, oracle price, now); reward
//                 liquidation_reward x the trade's collateral.
//   vamm          Vamm::liquidatable(id, oracle index price); reward half of
//                 liquidation_fee_ratio x the exit notional (of the part a
//                 partial liquidation closes).
// It sends perp_liquidate (from its wallet, which holds gas_budget_native
// for gas) when the reward, valued at reference prices, exceeds the gas cost
// by more than min_profit_numeraire; otherwise it counts the position as
// skipped for that block. A transaction that reverts (another keeper was
// first, or an earlier liquidation in the block moved a vamm's reserves) is
// a lost race: it pays gas and earns nothing.
//
// It never allocates after construction; with no open position it sleeps
// until the market changes (a position can only become liquidatable if one
// is open, and opening one changes the market).
#include "agents/registry.hpp"

namespace defisim::agents {

AgentType perp_keeper_type();

}  // namespace defisim::agents
