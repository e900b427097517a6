#pragma once
// A passive liquidity provider: at block 0 it deposits `deposit_numeraire`
// worth of both tokens (at the pool's ratio, valued at reference prices) and
// holds. It records its position value, the value of simply holding the
// deposited tokens (HODL), the difference, and the fees its shares earned.
// With arbitrage and no noise flow, value - HODL is minus the LVR plus fees
// (Milionis, Moallemi, Roughgarden, Zhang 2022).
#include "agents/registry.hpp"

namespace defisim::agents {

AgentType lp_type();

}  // namespace defisim::agents
