#pragma once
// Transactions and receipts: the only way an agent changes the world.
//
// Agents never write to a market. They submit Transactions to the mempool; the
// block builder orders them and the engine executes each against its market.
// A transaction that cannot execute is not an exception: it reverts, pays its
// gas, and its sender gets a Receipt with the reason.
#include <cmath>
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
  outbid,                  // a searcher bundle that lost to a higher bid for the same target (`mev`)
  bundle_failed,           // a bundle the builder left out because one of its transactions would revert (`mev`)
  not_owner,               // the sender does not own this long-term order (or lending position)
  healthy,                 // lending: the position is not liquidatable (health factor >= 1)
  unhealthy,               // lending: a borrow or withdrawal would leave the position short of collateral
  cap_exceeded,            // lending: a supply or borrow cap would be exceeded
  insufficient_collateral, // lending: the position holds too little of the collateral asset (compound: seize too much)
  auction_inactive,        // lending: the maker auction is over (or never existed)
};

// How the block builder orders a block (chain.ordering). Public knowledge, so
// searchers can read it from the View.
enum class Ordering : std::uint8_t {
  fifo,          // arrival order
  random,        // a uniformly random permutation from the builder's stream
  priority_fee,  // highest tip first, ties by arrival (a gas auction)
  mev,           // priority_fee, with searcher bundles placed around their targets, best bid per target
  private_,      // arrival order; transactions go through a private channel: the public mempool is empty
};

// A searcher's request to be placed relative to a target transaction. Only
// the `mev` ordering honours it (atomically: the whole bundle or none of it);
// other orderings treat bundle transactions as ordinary ones.
enum class BundleRole : std::uint8_t {
  none,
  front_run,  // immediately before the target
  back_run,   // immediately after the target
};

std::string_view to_string(RevertReason reason);

enum class TransactionKind : std::uint8_t {
  swap,              // sell amount_in of token_in for at least min_amount_out
  add_liquidity,     // deposit up to amount_in of token_in and amount_other of the other token
  remove_liquidity,  // burn amount_in LP shares for at least min_amount_out, min_amount_other
  place_long_term_order,   // twamm: sell amount_in of token_in over duration_blocks
  cancel_long_term_order,  // twamm: end order_id, returning its unsold input and proceeds
  withdraw_proceeds,       // twamm: collect order_id's proceeds so far
  // Lending (markets/lending.hpp). `token_in` is the asset of the operation.
  open_position,     // a new position (id in the receipt) supplying amount_in of token_in (and amount_extra of token_extra) and borrowing amount_other of token_other
  supply,            // add amount_in of token_in to `position` (collateral)
  withdraw,          // take amount_in of token_in out of `position`
  borrow,            // borrow amount_in of token_in against `position`
  repay,             // repay up to amount_in of token_in owed by `position`
  liquidate,         // repay up to amount_in of `position`'s debt in token_in for its collateral token_other (maker: start its auction)
  take_auction,      // maker: buy up to amount_in of auction `position`'s collateral at a price <= limit_price, paying token_in
  // Perpetual pools (markets/perp_*.hpp), priced by the oracle (a vamm by its own reserves).
  perp_open,       // a new position (id in the receipt): amount_in of token_in as collateral, `leverage` x, short if perp_short; gmx: on index asset token_other
  perp_close,      // close `position` (its owner only); the payout to the wallet
  perp_liquidate,  // liquidate `position`; the liquidation reward to the sender
  perp_deposit,    // LP: deposit amount_in of token_in for pool shares (at least min_amount_out)
  perp_redeem,     // LP: burn amount_in shares for tokens of token_other (at least min_amount_out)
};

// What a liquidator does with the collateral it receives (liquidate,
// take_auction), atomically in the same transaction, as liquidation
// contracts do.
enum class CollateralSale : std::uint8_t {
  keep,             // keep it in the wallet
  reference_venue,  // sell it at the reference venue for numeraire, with a depth-based impact (see venue_depth_numeraire)
  market,           // swap it on the constant-product pool `sale_market` (no slippage limit: the sale cannot revert)
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
  // Long-term orders (twamm).
  std::uint64_t duration_blocks = 0;  // place_long_term_order
  std::uint32_t order_id = 0;         // cancel_long_term_order, withdraw_proceeds
  // Searcher bundles (see BundleRole). A bundle is the front-run and/or
  // back-run one sender submits for one target; the front-run (or the
  // back-run if there is none) carries the bundle's bid.
  BundleRole bundle_role = BundleRole::none;
  std::uint32_t bundle_target = 0;  // the target's `sequence` in this block's mempool
  double bribe_native = 0.0;        // the bid: paid to the builder when the whole bundle executes, native tokens
  // A back-run that sells exactly what its bundle's front-run bought
  // (amount_in is then ignored), as a sandwich contract sells its balance.
  bool sell_front_run_output = false;
  // Sent through a private relay (e.g. Flashbots Protect, or as a searcher's
  // own bundle): the builder executes it, but it never appears in the public
  // mempool other agents read, so no one can front-run it.
  bool private_channel = false;
  // A venue-funded swap whose input is borrowed for the block (a flash loan)
  // pays this fee, numeraire, to the reference venue (the lender) if it
  // executes.
  double lender_fee_numeraire = 0.0;
  // Lending.
  std::uint32_t position = 0;        // the position (liquidate, supply, ...) or the auction (take_auction)
  AssetIndex token_other = 0;        // open_position: the asset borrowed; liquidate: the collateral asset
  AssetIndex token_extra = 0;        // open_position: a second collateral asset (if amount_extra > 0)
  double amount_extra = 0.0;         // open_position: tokens of token_extra supplied
  double limit_price = 0.0;          // take_auction: the highest price accepted, token_in per collateral token
  CollateralSale sale = CollateralSale::keep;
  MarketIndex sale_market = no_market;  // CollateralSale::market
  // CollateralSale::reference_venue: selling value V (numeraire at the
  // reference price) walks the venue's book down exponentially; the proceeds
  // are D (1 - exp(-V / D)) with D this depth, about V (1 - V / 2D) for V << D.
  double venue_depth_numeraire = 0.0;
  // Perpetual pools.
  bool perp_short = false;  // perp_open: a short (else a long)
  double leverage = 0.0;    // perp_open: position notional / collateral value (gmx, gtrade, vamm)
  // perp_open: the worst acceptable opening price, numeraire per token (a
  // long's highest, a short's lowest; 0: none). gtrade: with its impact;
  // vamm: the average price on the virtual reserves; gmx: the oracle price.
  // perp_close: the worst acceptable closing price (a long's lowest, a
  // short's highest): the oracle price (gmx, gtrade), the average exit
  // price on the virtual reserves (vamm).
  double worst_price = 0.0;
};

// What the reference venue pays, in numeraire, for collateral worth `value`
// at the reference price when its depth is `depth` (CollateralSale::
// reference_venue): the book is walked down exponentially, so the proceeds
// are depth (1 - exp(-value / depth)), computed as -depth expm1(-value / depth)
// to keep small sales exact; no impact when depth <= 0. The settlement pays
// it; a liquidator predicts it.
inline double venue_sale_proceeds(double value, double depth) {
  return depth > 0.0 ? -depth * std::expm1(-value / depth) : value;
}

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
  double bribe_paid_native = 0.0;  // a bundle's bid, paid to the builder (on the transaction carrying it)
  double lender_fee_paid_numeraire = 0.0;  // Transaction::lender_fee_numeraire, if paid (included in venue_settlement)
  std::uint32_t order_id = 0;      // place_long_term_order: the new order's id
  // Lending: open_position's new position; liquidate (maker): the auction started.
  std::uint32_t lending_position = 0;
  // liquidate, take_auction: collateral to the protocol (fee, seize share),
  // the sale of the collateral received (token, tokens sold, tokens received),
  // and bad debt this transaction wrote off (numeraire at oracle prices).
  double collateral_to_protocol = 0.0;
  AssetIndex sale_token = 0;
  double collateral_sold = 0.0;
  double sale_proceeds = 0.0;
  double bad_debt_written_off = 0.0;
  // Perpetual pools, numeraire at the oracle price of the collateral unless
  // stated: perp_open's new position; the position fees (open, close, spread,
  // toll) and the funding, borrow and rollover fees it paid (negative:
  // received); its realised price PnL (before fees; gtrade: after the cap);
  // and, for perp_liquidate, the position's owner (paid owner_payout tokens
  // of token_out when GMX closes it for exceeding its maximum leverage).
  std::uint32_t perp_position = 0;
  double perp_position_fees = 0.0;
  double perp_funding_fees = 0.0;
  double perp_realised_pnl = 0.0;
  AgentIndex perp_owner = no_agent;
  double perp_owner_payout = 0.0;
  // The target of a bundle that executed around it: what it would have
  // received had it executed at the same point without the bundle.
  bool sandwiched = false;
  double amount_out_unattacked = 0.0;
  // In the block (it paid gas, success or revert). A transaction that could
  // not pay (insufficient_balance), an unsupported one, or one dropped by a
  // full mempool is not included and pays nothing.
  bool included = false;
  bool succeeded() const { return revert_reason == RevertReason::none; }
};

}  // namespace defisim::core
