#pragma once
// Uninformed flow: Poisson arrivals per block, a random side, a lognormal size
// in numeraire, and a slippage limit quoted against the pool state the trader
// saw, so its swap reverts if the pool moved against it by more than its
// tolerance before execution. Funded at the reference venue: it buys its input
// there and sells its output back, so its PnL is its execution cost (fees,
// price impact, gas), which is the LPs' and arbitrageurs' gain.
#include "agents/registry.hpp"

namespace defisim::agents {

AgentType noise_trader_type();

}  // namespace defisim::agents
