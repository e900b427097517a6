#pragma once
// The sandwich attacker: it reads the public mempool (acting after every
// other agent in the block, so it sees all of it), and for each public swap
// on one of its pools computes the optimal sandwich (markets/sandwich.hpp:
// the largest front-run that still lets the victim's swap execute at its
// slippage limit, or less where the profit peaks first), and sends it when
// the profit pays for gas, the bribe and any flash-loan fee.
//
//   mev           a bundle per victim: front-run and back-run around it,
//                 atomically, bidding bribe_fraction of the gross profit
//   priority_fee  a gas auction (the pre-Flashbots sandwich): the front-run
//                 outbids the victim's tip, the back-run matches it and
//                 arrives after it; one victim per pool per block
//   fifo, random, private   never attacks (see sandwich_attacker.cpp)
//
// Hedged at the reference venue like the arbitrageur (Funding::reference_
// venue): its wallet holds numeraire PnL only.
#include "agents/registry.hpp"

namespace defisim::agents {

AgentType sandwich_attacker_type();

}  // namespace defisim::agents
