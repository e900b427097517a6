#pragma once
// A liquidator (keeper) on one lending market, with its own capital in the
// debt asset, a gas bid and a reaction delay.
//
// aave_v2, aave_v3, compound_v2: every block it asks the market for the
// positions with health factor below 1 (oracle prices; Lending::positions_below,
// so its cost grows with those, not with the healthy ones). For each that has
// been liquidatable for its reaction delay, it picks the largest debt and the
// largest collateral, repays up to the close factor (and its capital), in
// `chunks` transactions, and sells the collateral it receives in the same
// transaction: at the reference venue with a depth-based impact, or on a
// constant-product pool (the cascade: the sale moves the pool, a pool-TWAP
// oracle follows, more positions become liquidatable), or keeps it. It acts
// only when the expected proceeds exceed the repaid debt plus gas (at
// reference prices), so a gas spike leaves positions unliquidated.
//
// maker: it starts the auction of an unsafe vault (bark) when `bark` is on,
// and takes from running auctions when the collateral, sold as above, is
// worth more than the auction price plus gas.
#include "agents/registry.hpp"

namespace defisim::agents {

AgentType liquidator_type();

}  // namespace defisim::agents
