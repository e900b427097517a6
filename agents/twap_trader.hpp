#pragma once
// A large order executed by hand: `amount` of one token sold on a pool in
// `slices` equal public swaps, one every `interval_blocks` from
// `start_block` (slices: 1 is a single swap), each with a slippage limit
// quoted on the pool state it saw, so each slice can be sandwiched up to its
// limit. A slice that reverts is not retried. Funded from its own wallet,
// which starts with the amount and the gas. Its execution is measured
// against the reference TWAP over a window of blocks (agents/execution_tracker.hpp),
// the same window a twamm_trader's order uses, so the strategies compare.
#include "agents/registry.hpp"

namespace defisim::agents {

AgentType twap_trader_type();

}  // namespace defisim::agents
