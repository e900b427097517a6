#pragma once
// The front-running strategy of the TWAMM paper's information-leak example
// (White, Robinson, Adams, "TWAMM", Paradigm 2021): a long-term order is
// public from the moment it is sent, so a searcher who sees a large one
// can trade ahead of the flow it will bring. This agent:
//
//   1. sees a long-term order worth at least `min_order_numeraire` in the
//      public mempool (under `mev` ordering its buy is a front-run bundle on
//      the placement; otherwise it lands later in the same block, still
//      ahead of the order, which starts at the next interval boundary);
//   2. buys ahead what the order will buy: `pool_buy_numeraire` on the
//      twamm's embedded pool, and `inventory_numeraire` of the same token it
//      already holds, bought earlier elsewhere (its wallet starts with
//      `capital_numeraire` of each pool token at initial prices);
//   3. sells into it: a long-term order of its own selling all of that
//      until the victim's order expires, so the twamm matches the two flows
//      against each other while the victim's buying holds the price up;
//   4. cancels its own order, the bait, as soon as the victim's order ends
//      (cancelled or expired), and collects the proceeds and unsold rest.
//
// Its PnL is measured against simply holding its starting wallet, at
// reference prices, gas included: positive only if the victim's flow pays it
// more than the pool's fees and the arbitrageurs' competition take. With an
// exogenous reference price nobody reacts to the leak except arbitrageurs, so
// this measures the mechanical part of the strategy, not a price reaction.
#include "agents/registry.hpp"

namespace defisim::agents {

AgentType twamm_front_runner_type();

}  // namespace defisim::agents
