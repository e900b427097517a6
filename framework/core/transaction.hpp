#pragma once
// Transactions and receipts: the only way an agent changes the world.
//
// Agents never write to a market. They submit Transactions to the mempool; the
// block builder orders them and the engine executes each against its market.
// A transaction that cannot execute is not an exception: it reverts, pays its
// gas, and its sender gets a Receipt with the reason.
#include <cstdint>
#include <string_view>

#include "framework/core/units.hpp"

namespace defisim::core {

enum class RevertReason : std::uint8_t {
  none = 0,
  slippage,                // output below the sender's minimum (or shares below minimum)
  insufficient_liquidity,  // the market cannot pay this out
  insufficient_balance,    // the sender's wallet cannot pay the input or the gas
  invalid_amount,          // zero, negative or not finite
  invalid_token,           // the market does not trade this asset
  unsupported,             // this market does not support this kind of transaction
  mempool_full,            // dropped: more transactions than the block accepts
};

std::string_view to_string(RevertReason reason);

enum class TransactionKind : std::uint8_t {
  swap,              // sell amount_in of token_in for at least min_amount_out
  add_liquidity,     // deposit up to amount_in of token_in and amount_other of the other token
  remove_liquidity,  // burn amount_in LP shares for at least min_amount_out, min_amount_other
};

// How the sender pays and is paid.
enum class Funding : std::uint8_t {
  // From and to the sender's wallet: the wallet must hold the input and the gas.
  wallet,
  // Hedged at the reference venue within the transaction: the venue lends the
  // input, takes the output, and settles the difference (and the gas) in
  // numeraire at reference prices. This is the atomic CEX-DEX trade of the
  // LVR model: the sender's wallet then holds only numeraire PnL, which may be
  // negative (an account at the venue, not tokens on chain).
  reference_venue,
};

struct Transaction {
  AgentIndex sender = no_agent;
  MarketIndex market = no_market;
  TransactionKind kind = TransactionKind::swap;
  Funding funding = Funding::wallet;
  AssetIndex token_in = 0;
  double amount_in = 0.0;         // tokens (shares for remove_liquidity)
  double amount_other = 0.0;      // add_liquidity: the other token's amount
  double min_amount_out = 0.0;    // slippage limit, tokens (shares for add_liquidity)
  double min_amount_other = 0.0;  // remove_liquidity: minimum of the other token
  double priority_fee_gwei = 0.0;  // tip to the builder, on top of the base gas price
  std::uint32_t gas_used = 0;      // gas units this transaction consumes, success or revert
  std::uint32_t tag = 0;           // free for the sender: returned in the receipt
  std::uint32_t sequence = 0;      // set by the mempool: arrival order within the block
};

struct Receipt {
  Transaction transaction;
  BlockNumber block = 0;
  std::uint32_t position = 0;  // index within the block as executed
  RevertReason revert_reason = RevertReason::none;
  AssetIndex token_out = 0;
  double amount_in = 0.0;     // actually taken from the sender (token_in)
  double amount_out = 0.0;    // actually paid to the sender (token_out; for add_liquidity: shares)
  double amount_other = 0.0;  // add_liquidity: other token used; remove_liquidity: other token paid
  double fee_paid = 0.0;      // market fee, in token_in
  double gas_paid_native = 0.0;    // gas cost in the native asset
  double venue_settlement = 0.0;   // Funding::reference_venue: numeraire credited (+) or debited (-)
  // In the block (it paid gas, success or revert). A transaction that could
  // not pay (insufficient_balance), an unsupported one, or one dropped by a
  // full mempool is not included and pays nothing.
  bool included = false;
  bool succeeded() const { return revert_reason == RevertReason::none; }
};

}  // namespace defisim::core
