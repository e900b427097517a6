#pragma once
// A population of borrowers on one lending market: at block 0 it opens
// `positions` positions, each with one collateral asset drawn from a mix, a
// collateral value drawn from a lognormal, and a loan-to-value target drawn
// uniformly (capped just below the asset's loan_to_value). Collateral is
// bought at the reference venue (the borrowers' off-chain money); what they
// borrow goes to their wallet.
//
// A `responsive_fraction` of the positions defend themselves: once a
// position's health factor (oracle prices) has been below
// `defend_below_health` for its reaction delay (drawn per position), its
// owner tops up collateral or repays debt (venue-funded) to bring it back to
// `defend_to_health`. The rest never react, and are liquidated.
//
// Per block it looks only at positions below its trigger
// (Lending::positions_below), so its cost does not grow with the healthy ones.
#include "agents/registry.hpp"

namespace defisim::agents {

AgentType borrower_type();

}  // namespace defisim::agents
