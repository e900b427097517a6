#pragma once
// A virtual-AMM perpetual: Perpetual Protocol v1 (ClearingHouse.sol, Amm.sol,
// InsuranceFund.sol of perpetual-protocol/perpetual-protocol).
//
// There is no liquidity: the "pool" is a pair of virtual reserves, Q quote and
// B base, with Q x B = k fixed, that only prices trades. Traders post real
// quote tokens (a stablecoin, price 1) as margin; the traded base asset exists
// only as position sizes. The counterparty of every trader is the other
// traders: the vAMM's own net position is minus theirs, and when every
// position is closed the reserves are back where they started and the
// traders' trading PnL sums to zero.
//
//   long, notional n (margin x leverage): Q' = Q + n, B' = k / Q', base
//        received b = B - B' (Amm.swapInput, ADD_TO_AMM)
//   short, notional n:                    Q' = Q - n, B' = k / Q', base
//        owed b = B' - B (swapInput, REMOVE_FROM_AMM)
//   close a long of b base:  B' = B + b, Q' = k / B', quote out = Q - Q'
//   close a short of b base: B' = B - b, Q' = k / B', quote in  = Q' - Q
//        (Amm.swapOutput); "position notional" is this exit value, and the
//        unrealised PnL is exit - open notional (long) or open notional -
//        exit (short) (ClearingHouse.getPositionNotionalAndUnrealizedPnl).
//   mark price = Q / B (Amm.getSpotPrice).
//
// Fees (Amm.calcFee, ClearingHouse.transferFee): on the exchanged notional of
// every open and close, spread_ratio to the insurance fund and toll_ratio to
// the toll pool, paid by the trader on top of the margin.
//
// Funding (Amm.settleFunding, ClearingHouse.payFunding): once per
// funding_period_seconds, premium fraction = (mark TWAP - index) x period /
// 1 day, per base unit; it accumulates into the cumulative premium fraction
// and a position pays (cumulative - its snapshot) x signed size when it is
// next touched (longs pay when positive). The imbalance, premium fraction x
// the traders' net size, goes from the vault to the insurance fund at once
// (or from the fund to the vault when negative).
//
// Margin ratio = (margin - funding owed + unrealised PnL) / position notional
// (ClearingHouse._getMarginRatio). Opening needs 1 / leverage >= the initial
// margin ratio; a position below the maintenance margin ratio can be
// liquidated (ClearingHouse.liquidate): fully, the liquidator receiving half
// of liquidation_fee_ratio x exit notional and the insurance fund the margin
// left; or, when partial_liquidation_ratio is in (0, 1) and the margin ratio
// still exceeds the fee ratio, that fraction of the position is closed and a
// penalty of liquidation_fee_ratio x its notional is split half and half.
//
// Bad debt (negative margin at a liquidation, or a liquidator's fee larger
// than the margin left) is paid by the insurance fund (realizeBadDebt); what
// the fund cannot pay is uncovered bad debt: the vault then holds less than
// traders are owed. A payout the vault cannot make is first advanced by the
// fund (prepaid bad debt, ClearingHouse.withdraw); if neither can pay, it
// reverts with insufficient_liquidity.
//
// Simplifications (markets/README.md, "vamm", lists them all): one position
// per open (no increasing, reducing or reversing an existing one, except a
// partial liquidation); spot exit values everywhere (Perp v1 prefers the
// better of spot and a 15-minute TWAP for the margin ratio); the mark TWAP is
// the exact time average of the mark since the last funding settlement; the
// index given is used as is (the engine may pass a TWAP); no trade or
// fluctuation limits, open-interest caps or restriction mode.
//
// Amounts are quote tokens (doubles); sizes are base units; prices are quote
// per base; time is seconds since the start of the path. Nothing allocates
// after construction or throws outside the constructor: an operation that
// cannot execute returns a RevertReason and changes nothing.
#include <cstdint>

#include "framework/core/transaction.hpp"
#include "framework/core/units.hpp"
#include "markets/open_ids.hpp"
#include "markets/perp.hpp"
#include "markets/reserved_vector.hpp"

namespace defisim::markets {

struct VammParams {
  core::AssetIndex quote_asset = 0;  // the real margin token (a stablecoin, the numeraire)
  core::AssetIndex base_asset = 1;   // the traded asset: its oracle price is the funding index
  double quote_reserve = 1'000'000.0;  // initial virtual quote reserve; initial mark = quote / base
  double base_reserve = 500.0;         // initial virtual base reserve
  double spread_ratio = 0.001;         // fee to the insurance fund, fraction of exchanged notional
  double toll_ratio = 0.0;             // fee to the toll pool, fraction of exchanged notional
  // What a trader pays per unit of exchanged notional, opening or closing.
  double fee_ratio() const { return spread_ratio + toll_ratio; }
  double initial_margin_ratio = 0.1;   // opening: 1 / leverage >= this (10x)
  double maintenance_margin_ratio = 0.0625;  // liquidatable below this
  // Perp v1: half to the liquidator, half (partial) or the margin left
  // (full) to the insurance fund. 0.025 leaves the liquidator 1.25%.
  double liquidation_fee_ratio = 0.025;
  // Fraction of a position a liquidation closes; 0 or 1: always the whole
  // position (Perp v1 at launch).
  double partial_liquidation_ratio = 0.0;
  // |mark / index - 1| above this: the margin ratio for liquidation is the
  // larger of the vAMM's and the oracle's (ClearingHouse.liquidate with
  // isOverSpreadLimit). +inf turns it off.
  double oracle_spread_limit = 0.1;
  double funding_period_seconds = 3600.0;
  double start_seconds = 0.0;          // first funding at start + period
  double initial_insurance_fund = 0.0; // real quote tokens
  std::uint32_t max_positions = 100000;  // positions ever opened (storage reserved up front)
};

using VammPositionId = std::uint32_t;

struct VammPosition {
  core::AgentIndex owner = core::no_agent;
  PerpSide side = PerpSide::long_;
  bool open = false;
  double size_base = 0.0;       // > 0 while open, either side
  double open_notional = 0.0;   // quote paid (long) or received (short) for it
  double margin = 0.0;          // quote, funding since the snapshot not yet applied
  double premium_fraction_snapshot = 0.0;  // cumulative premium fraction when last touched
};

struct VammOpenResult {
  core::RevertReason revert_reason = core::RevertReason::none;
  VammPositionId position = 0;
  double size_base = 0.0;
  double notional = 0.0;  // margin x leverage, quote
  double fee = 0.0;       // spread + toll, taken from the trader on top of the margin
  bool succeeded() const { return revert_reason == core::RevertReason::none; }
};

struct VammCloseResult {
  core::RevertReason revert_reason = core::RevertReason::none;
  double exit_notional = 0.0;  // quote the vAMM gave (long) or took (short)
  double realized_pnl = 0.0;   // trading PnL: exit - open notional (long), the negative (short)
  double funding_paid = 0.0;   // funding settled on the position (> 0: the trader paid)
  double payout = 0.0;         // margin - funding + PnL, paid to the trader (>= 0)
  double fee = 0.0;            // spread + toll on exit_notional, taken from the trader
  bool succeeded() const { return revert_reason == core::RevertReason::none; }
};

struct VammMarginResult {
  core::RevertReason revert_reason = core::RevertReason::none;
  double funding_paid = 0.0;  // remove_margin settles funding first
  double margin = 0.0;        // the position's margin afterwards
  bool succeeded() const { return revert_reason == core::RevertReason::none; }
};

struct VammLiquidationResult {
  core::RevertReason revert_reason = core::RevertReason::none;
  bool partial = false;
  double size_closed_base = 0.0;
  double exit_notional = 0.0;
  double realized_pnl = 0.0;
  double funding_paid = 0.0;
  double fee_to_liquidator = 0.0;
  double to_insurance_fund = 0.0;    // penalty half (partial) or margin left (full)
  double bad_debt = 0.0;             // total this liquidation realised
  double bad_debt_covered = 0.0;     // paid by the insurance fund (or earlier advances)
  double bad_debt_uncovered = 0.0;   // left when the fund is empty
  bool succeeded() const { return revert_reason == core::RevertReason::none; }
};

struct VammFundingResult {
  core::RevertReason revert_reason = core::RevertReason::none;
  double mark_twap = 0.0;
  double premium_fraction = 0.0;   // quote per base unit, this period
  double funding_rate = 0.0;       // premium fraction / index
  double to_insurance_fund = 0.0;  // premium fraction x net size (< 0: the fund paid)
  double uncovered = 0.0;          // what the fund could not pay
  bool succeeded() const { return revert_reason == core::RevertReason::none; }
};

class Vamm {
 public:
  // Throws std::invalid_argument on bad parameters.
  explicit Vamm(const VammParams& params);

  const VammParams& params() const { return params_; }

  // ---- the virtual AMM
  double quote_reserve() const { return quote_reserve_; }
  double base_reserve() const { return base_reserve_; }
  double invariant() const { return quote_reserve_ * base_reserve_; }  // k, up to rounding
  double mark_price() const { return quote_reserve_ / base_reserve_; }
  // Time average of the mark since the last funding settlement, to now (the
  // current mark if no time has passed).
  double mark_twap(double now_seconds) const;
  // Quote the vAMM gives for size_base sold (long close) or asks for
  // size_base bought (short close); +inf if a short close would take all the
  // base reserve.
  double exit_notional(PerpSide side, double size_base) const;

  // ---- real tokens
  double vault() const { return vault_; }  // margins held by the clearing house
  double insurance_fund() const { return insurance_fund_; }
  double toll_pool() const { return toll_pool_; }
  double holdings() const { return vault_ + insurance_fund_ + toll_pool_; }
  double tokens_in() const { return tokens_in_; }    // margins and fees received, ever
  double tokens_out() const { return tokens_out_; }  // payouts, removed margin, liquidator fees, ever
  double bad_debt() const { return bad_debt_; }                      // realised, ever
  double uncovered_bad_debt() const { return uncovered_; }           // the fund could not pay (incl. funding)
  double prepaid_bad_debt() const { return prepaid_; }               // advanced by the fund, not yet realised
  double realized_trading_pnl() const { return realized_trading_pnl_; }  // traders, ever (fees and funding excluded)

  // The system (insurance fund + toll pool + advances - uncovered bad debt)
  // as a PerpPoolPnl since construction: fees = spread, toll, liquidation
  // penalties and the funding imbalance; trader_pnl = minus bad debt; delta 0.
  double pool_value() const { return insurance_fund_ + toll_pool_ + prepaid_ - uncovered_; }
  const PerpPoolPnl& pool_pnl() const { return pool_pnl_; }

  // ---- open interest (base units)
  double open_interest_long_base() const { return long_base_; }
  double open_interest_short_base() const { return short_base_; }
  double net_size_base() const { return long_base_ - short_base_; }

  // ---- funding
  double cumulative_premium_fraction() const { return cumulative_premium_fraction_; }
  double next_funding_seconds() const { return next_funding_seconds_; }

  // ---- positions
  std::uint32_t position_count() const { return static_cast<std::uint32_t>(positions_.size()); }
  // A closed or never-opened id gives a closed default record.
  VammPosition position(VammPositionId id) const;
  // The open positions, in no particular (but deterministic) order.
  std::size_t open_position_count() const { return open_positions_.size(); }
  VammPositionId open_position_id(std::size_t slot) const { return open_positions_[slot]; }
  // Funding the position owes since its snapshot (> 0: it pays).
  double funding_owed(VammPositionId id) const;
  double unrealized_pnl(VammPositionId id) const;
  // (margin - funding owed + unrealised PnL) / exit notional, vAMM prices.
  double margin_ratio(VammPositionId id) const;
  // As margin_ratio with the position valued at the index price.
  double margin_ratio_at_index(VammPositionId id, double index_price) const;
  // What liquidate checks: the vAMM ratio, or the larger of it and the
  // oracle's when the mark is beyond oracle_spread_limit from the index.
  double liquidation_margin_ratio(VammPositionId id, double index_price) const;
  bool liquidatable(VammPositionId id, double index_price) const;

  // ---- operations
  // notional = margin x leverage; base_limit: long, the minimum base
  // received; short, the maximum base owed (0: no limit), as Amm.swapInput.
  VammOpenResult open_position(core::AgentIndex owner, PerpSide side, double margin, double leverage,
                               double base_limit, double now_seconds);
  // quote_limit: long, the minimum exit received; short, the maximum paid (0:
  // no limit). Reverts `unhealthy` if the position has bad debt (Perp v1
  // "bad debt": it must be liquidated instead).
  VammCloseResult close_position(core::AgentIndex owner, VammPositionId id, double quote_limit,
                                 double now_seconds);
  VammMarginResult add_margin(core::AgentIndex owner, VammPositionId id, double amount);
  // Settles funding, then requires free collateral >= 0: min(margin, margin
  // + unrealised PnL) >= initial margin ratio x (open notional for a long,
  // exit notional for a short) (ClearingHouse.calcFreeCollateral).
  VammMarginResult remove_margin(core::AgentIndex owner, VammPositionId id, double amount);
  VammLiquidationResult liquidate(VammPositionId id, double index_price, double now_seconds);
  // Reverts `unsupported` before next_funding_seconds().
  VammFundingResult settle_funding(double index_price, double now_seconds);

 private:
  bool valid_open(VammPositionId id) const;
  bool owns_open(core::AgentIndex owner, VammPositionId id) const;
  // What add_margin and remove_margin check first: the owner's open position, a positive amount.
  core::RevertReason check_margin_change(core::AgentIndex owner, VammPositionId id, double amount) const;
  double signed_size(const VammPosition& position) const;
  double pnl_for_exit(const VammPosition& position, double exit) const;
  double funding_of(const VammPosition& position) const;  // owed since its snapshot
  // The margin ratios, from the funding owed (and the vAMM's ratio) so that
  // liquidate computes each once: (margin - funding + PnL at `value`) /
  // value, the position valued at `value`; valued at its exit on the vAMM
  // (-inf for an unpayable exit); and what liquidate checks.
  double ratio_at(const VammPosition& position, double funding, double value) const;
  double margin_ratio_with(const VammPosition& position, double funding, double exit) const;
  double liquidation_ratio_with(const VammPosition& position, double funding, double vamm_ratio,
                                double index_price) const;
  // Brings the mark TWAP accumulator to now (before any reserve change).
  void accumulate_twap(double now_seconds);
  // Applies closing size_base of a position of `side` to the reserves.
  void apply_exit(PerpSide side, double size_base);
  // Can the vault (with the fund's advance) pay `amount`?
  bool can_withdraw(double amount) const;
  void withdraw(double amount);  // pays out of the vault, the fund advancing a shortfall
  // Realises bad debt: advances first, then the fund, the rest uncovered.
  // Returns what was left uncovered.
  double realize_bad_debt(double amount);
  void take_fee(double notional);

  VammParams params_;
  double quote_reserve_;
  double base_reserve_;
  double vault_ = 0.0;
  double insurance_fund_;
  double toll_pool_ = 0.0;
  double prepaid_ = 0.0;
  double uncovered_ = 0.0;
  double bad_debt_ = 0.0;
  double tokens_in_ = 0.0;
  double tokens_out_ = 0.0;
  double realized_trading_pnl_ = 0.0;
  double long_base_ = 0.0;
  double short_base_ = 0.0;
  double cumulative_premium_fraction_ = 0.0;
  double next_funding_seconds_;
  double twap_start_seconds_;
  double twap_last_seconds_;
  double twap_accumulator_ = 0.0;  // integral of the mark since twap_start_seconds_
  PerpPoolPnl pool_pnl_;
  ReservedVector<VammPosition> positions_;
  OpenIds open_positions_;
};

}  // namespace defisim::markets
