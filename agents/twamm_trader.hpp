#pragma once
// Long-term orders on a twamm: at `start_block` it places an order selling
// `amount` of one token over `duration_blocks` (the twamm starts it at the
// next order-interval boundary and rounds the duration up to whole
// intervals), or `orders` equal orders with staggered durations (a
// population of orders, e.g. for benchmarks), may cancel them at
// `cancel_at_block`, and withdraws each one's proceeds once it has expired. Funded from its own wallet, which
// starts with the amount and the gas. Its execution is measured against the
// reference TWAP over a window of blocks (agents/execution_tracker.hpp), like
// a twap_trader's, so the strategies compare.
#include "agents/registry.hpp"

namespace defisim::agents {

AgentType twamm_trader_type();

}  // namespace defisim::agents
