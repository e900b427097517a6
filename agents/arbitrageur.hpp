#pragma once
// The CEX-DEX arbitrageur: every block, on each of its pools, it computes the
// closed-form optimal trade against the reference price (markets/cpmm.hpp,
// optimal_arbitrage) and sends it if the profit exceeds gas (plus an optional
// minimum). It is hedged at the reference venue within the transaction
// (Funding::reference_venue), the setting of the LVR model (Milionis,
// Moallemi, Roughgarden, Zhang 2022). Its slippage limit is its break-even:
// if the pool has moved against it earlier in the block, the trade reverts
// rather than lose money (it still pays gas).
#include "agents/registry.hpp"

namespace defisim::agents {

AgentType arbitrageur_type();

}  // namespace defisim::agents
