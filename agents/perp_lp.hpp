#pragma once
// A liquidity provider of an oracle-priced perpetual pool: GMX's GLP
// (gmx_glp) or a gTrade vault (gtrade_vault). A vamm is refused: its
// insurance fund has no shares.
//
// At block 0 it deposits deposit_numeraire worth (at the initial reference
// price) of `asset`, venue-funded: gmx mints GLP at AUM less the
// mint_burn_fee (GlpManager._addLiquidity); gtrade mints vault shares at
// assets / shares. It then watches the share price marked at reference
// prices (gmx GmxPool::share_price(reference prices); gtrade
// marked_share_price at the reference price of the traded asset, open trades
// marked), in numeraire, and leaves, redeeming all its shares for `asset`
// from its wallet (which holds gas_budget_native for the gas), when that
// price has fallen by leave_after_drawdown from its peak since the deposit,
// or at leave_at_seconds. A redemption that fails (e.g. gmx's reserved
// tokens block it) is retried every block.
//
// pnl = value received when it redeemed (tokens at the reference price
// then), or its shares' marked value at the end if it never left, minus the
// value it paid for the deposit; gas is reported apart.
#include "agents/registry.hpp"

namespace defisim::agents {

AgentType perp_lp_type();

}  // namespace defisim::agents
