#pragma once
// A lending market: multi-asset pools with kinked interest-rate curves, and
// positions holding several collaterals and debts, under one of four rule
// sets for when and how a position is liquidated:
//
//   aave_v2      health factor = sum(collateral x price x liquidation
//                threshold) / sum(debt x price); liquidatable below 1; close
//                factor 50%; seized = repaid x debt price / collateral price
//                x (1 + bonus), capped at the collateral held (then the
//                repaid debt shrinks to match). Aave v2
//                LendingPoolCollateralManager.liquidationCall and
//                _calculateAvailableCollateralToLiquidate.
//   aave_v3      as aave_v2, but the close factor is 100% when the health
//                factor is below full_liquidation_health_factor (0.95,
//                Aave v3 LiquidationLogic CLOSE_FACTOR_HF_THRESHOLD), and a
//                liquidation_protocol_fee share of the bonus goes to the
//                protocol's reserves.
//   compound_v2  account liquidity with collateral factors (the
//                liquidation_threshold of each asset is its collateral factor):
//                liquidatable when sum(collateral x price x factor) <
//                sum(debt x price); repay <= close factor x the borrow
//                balance; seized = repay x (1 + bonus) x debt price /
//                collateral price (liquidationIncentive = 1 + bonus); a
//                liquidation that would seize more than the collateral held
//                reverts (Comptroller LIQUIDATE_SEIZE_TOO_MUCH); a
//                protocol_seize_share of the seized collateral goes to
//                reserves (Compound v2 CToken.seizeInternal, 2.8%).
//   maker        vaults with one collateral asset: liquidatable when
//                collateral x price < debt x liquidation ratio (= 1 /
//                liquidation_threshold); liquidation (`bark`) moves the whole
//                vault into a Dutch auction (Maker Liquidations 2.0, clip.sol
//                and abaci.sol): tab = debt x (1 + liquidation_bonus, the
//                penalty "chop"), lot = the collateral; the price starts at
//                oracle x buf and decays; keepers `take` at the current
//                price; a stale auction (older than tail, or price below
//                cusp x top) is reset to oracle x buf; collateral left when
//                the tab is covered goes back to the vault; debt left when
//                the collateral is gone is bad debt.
//
// Accounting (the same for every rule set, as Compound v2's CToken): per
// asset, the market holds `cash` (tokens), lends `total_debt`, and owes its
// suppliers `total_supply` and the protocol `reserves`:
//   cash + total_debt (+ debt in auctions) == total_supply + reserves
// Interest accrues lazily through a borrow index (compounded per second at
// the annual rate of the kinked curve: index x (1 + rate / seconds_per_year)
// ^ elapsed seconds) when an asset is touched; reserve_factor of the interest
// goes to reserves, the rest to suppliers through a supply index. Queries
// project the indices to `now` without writing (as Aave's
// getReserveNormalizedVariableDebt), so health is always current.
//
// Bad debt: when a position has debt and no collateral left (after a
// liquidation, or a maker auction whose collateral is sold out), the debt is
// written off: reserves absorb it first, then suppliers (the supply index
// falls). It is counted in bad_debt() and supplier_loss(), never hidden.
//
// Tokens held (what conservation sums): cash, plus collateral in auctions.
// Collateral and supply are the same thing (a position's supply of an asset
// is its collateral when it also borrows), as on Aave and Compound.
//
// Prices are the protocol's oracle prices, numeraire per token, indexed by
// the global AssetIndex (the engine passes them); time is seconds since the
// start of the path. Amounts are tokens. Nothing here allocates after
// construction or throws outside the constructor: a bad call is a
// RevertReason and changes nothing.
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "framework/core/transaction.hpp"
#include "framework/core/units.hpp"
#include "markets/lending_index.hpp"

namespace defisim::markets {

enum class LendingRules : std::uint8_t { aave_v2, aave_v3, compound_v2, maker };

// Kinked (two-slope) borrow rate, as Aave v2's
// DefaultReserveInterestRateStrategy and Compound v2's JumpRateModelV2:
//   u <= kink: base + slope_below_kink * u / kink
//   u >  kink: base + slope_below_kink + slope_above_kink * (u - kink) / (1 - kink)
// Annualised. The supply rate is borrow rate x u x (1 - reserve factor).
struct InterestRateCurve {
  double base_rate = 0.0;
  double slope_below_kink = 0.04;
  double slope_above_kink = 0.75;
  double optimal_utilisation = 0.8;  // the kink, in (0, 1]
  double borrow_rate(double utilisation) const;
};

struct LendingAssetParams {
  core::AssetIndex asset = 0;
  // Supplied at genesis by the market's genesis supplier (position 0, owned
  // by the account the engine gives the constructor), tokens.
  double initial_supply = 0.0;
  // Borrowing power of this asset as collateral: a borrow or withdrawal must
  // leave sum(collateral x price x loan_to_value) >= sum(debt x price).
  // (Compound: the collateral factor; maker: 1 / liquidation ratio.)
  double loan_to_value = 0.0;
  // Weight of this asset in the health factor (aave), the collateral factor
  // (compound), 1 / liquidation ratio (maker). 0: not usable as collateral.
  double liquidation_threshold = 0.0;
  // Extra collateral a liquidator receives (aave bonus, compound incentive -
  // 1), or the liquidation penalty added to the tab (maker chop - 1).
  double liquidation_bonus = 0.0;
  double reserve_factor = 0.1;
  double supply_cap = std::numeric_limits<double>::infinity();  // tokens of total supply
  double borrow_cap = std::numeric_limits<double>::infinity();  // tokens of total debt
  bool borrowable = true;
  InterestRateCurve rate;
};

// Maker's Dutch auction (clip.sol with an abacus from abaci.sol).
enum class AuctionDecay : std::uint8_t {
  linear,                 // top x (tau - elapsed) / tau, 0 after tau (LinearDecrease)
  stairstep_exponential,  // top x cut ^ floor(elapsed / step) (StairstepExponentialDecrease)
  exponential,            // top x cut ^ elapsed seconds (ExponentialDecrease)
};
struct AuctionParams {
  double buf = 1.2;  // starting price = oracle price x buf
  AuctionDecay decay = AuctionDecay::stairstep_exponential;
  double tau_seconds = 3600.0;  // linear: time to reach zero
  double cut = 0.99;            // exponential kinds: price multiplier per step (per second for exponential)
  double step_seconds = 90.0;   // stairstep_exponential
  double tail_seconds = 7200.0; // an auction older than this needs a reset
  double cusp = 0.4;            // an auction whose price fell below cusp x top needs a reset
  // false: a stale auction is not reset but closed: its collateral left goes
  // to the protocol (held by the market, counted in protocol_collateral())
  // and its debt left is bad debt. The zero-bid outcome of March 2020.
  bool reset = true;
};

struct LendingParams {
  LendingRules rules = LendingRules::aave_v2;
  std::vector<LendingAssetParams> assets;  // at most max_lending_assets
  double close_factor = 0.5;               // aave, compound: fraction of a debt one liquidation may repay
  double full_liquidation_health_factor = 0.95;  // aave_v3
  double liquidation_protocol_fee = 0.0;         // aave_v3: share of the bonus to reserves
  double protocol_seize_share = 0.028;           // compound_v2: share of seized collateral to reserves
  AuctionParams auction;                         // maker
  std::uint32_t max_positions = 100000;  // positions ever opened (storage reserved up front), incl. position 0
  std::uint32_t max_auctions = 4096;     // maker auctions ever started
};

inline constexpr std::size_t max_lending_assets = 6;
using PositionId = std::uint32_t;
using AuctionId = std::uint32_t;

// Results of the market's operations. revert_reason none = success.
struct LendingResult {
  core::RevertReason revert_reason = core::RevertReason::none;
  PositionId position = 0;
  double amount = 0.0;  // tokens actually moved (supplied, withdrawn, borrowed, repaid)
  bool succeeded() const { return revert_reason == core::RevertReason::none; }
};

struct LiquidationResult {
  core::RevertReason revert_reason = core::RevertReason::none;
  double debt_repaid = 0.0;           // tokens of the debt asset taken from the liquidator
  double collateral_seized = 0.0;     // tokens of the collateral asset paid to the liquidator
  double collateral_to_protocol = 0.0;  // tokens of the collateral asset kept as reserves (v3 fee, compound share)
  double bad_debt_written_off = 0.0;  // numeraire at the given prices, if this liquidation emptied the position
  AuctionId auction = 0;              // maker: the auction started
  bool succeeded() const { return revert_reason == core::RevertReason::none; }
};

struct TakeResult {
  core::RevertReason revert_reason = core::RevertReason::none;
  double collateral_bought = 0.0;  // tokens paid to the taker
  double debt_paid = 0.0;          // tokens of the debt asset taken from the taker
  double price = 0.0;              // debt tokens per collateral token
  bool auction_closed = false;
  double bad_debt_written_off = 0.0;  // numeraire, if the auction closed short
  bool succeeded() const { return revert_reason == core::RevertReason::none; }
};

struct Auction {
  PositionId position = 0;     // the vault liquidated (leftover collateral returns to it)
  core::AssetIndex collateral_asset = 0;
  core::AssetIndex debt_asset = 0;
  double lot = 0.0;            // collateral left to sell, tokens
  double tab = 0.0;            // debt tokens still to raise, penalty included
  double debt_owed = 0.0;      // the vault's debt at bark, not yet raised (no penalty)
  double top = 0.0;            // starting price of the current round, debt tokens per collateral token
  double started_seconds = 0.0;  // start of the current round (tic)
  std::uint32_t resets = 0;
  bool active = false;
};

class Lending {
 public:
  // Position 0 is the genesis supplier, owned by `genesis_owner`, supplying
  // each asset's initial_supply (the tokens the engine draws from the venue).
  // Throws std::invalid_argument on bad parameters (the config checks first).
  Lending(const LendingParams& params, core::AgentIndex genesis_owner);

  const LendingParams& params() const { return params_; }
  LendingRules rules() const { return params_.rules; }
  std::size_t asset_count() const;
  core::AssetIndex asset(std::size_t slot) const;
  bool lists(core::AssetIndex asset) const;

  // ---- pools (projected to now_seconds)
  double cash(core::AssetIndex asset) const;
  double total_debt(core::AssetIndex asset, double now_seconds) const;
  double total_supply(core::AssetIndex asset, double now_seconds) const;
  double reserves(core::AssetIndex asset, double now_seconds) const;
  double utilisation(core::AssetIndex asset, double now_seconds) const;  // debt / (cash + debt)
  double borrow_rate(core::AssetIndex asset, double now_seconds) const;  // annualised
  double borrow_index(core::AssetIndex asset, double now_seconds) const;  // 1 at the start
  double supply_index(core::AssetIndex asset, double now_seconds) const;  // 1 at the start
  // Tokens the market holds of `asset`: cash plus collateral in auctions and
  // collateral kept by the protocol from closed auctions.
  double holdings_of(core::AssetIndex asset) const;
  double bad_debt(core::AssetIndex asset) const;       // tokens written off so far
  double supplier_loss(core::AssetIndex asset) const;  // the part of it suppliers bore
  double protocol_collateral(core::AssetIndex asset) const;  // maker, reset: false
  // Debt of active auctions not yet raised (their debt_owed), tokens of the
  // debt asset: the "(+ debt in auctions)" term of the accounting identity.
  double auction_debt(core::AssetIndex asset) const;
  // Collateral in active auctions (their lots), tokens.
  double auction_collateral(core::AssetIndex asset) const;

  // Brings an asset's indices up to now_seconds (the engine calls it; every
  // operation below also accrues the assets it touches first).
  void accrue(double now_seconds);

  // ---- positions
  std::size_t position_count() const;  // opened so far, incl. position 0
  core::AgentIndex owner(PositionId position) const;
  double collateral(PositionId position, core::AssetIndex asset, double now_seconds) const;  // tokens supplied
  double debt(PositionId position, core::AssetIndex asset, double now_seconds) const;        // tokens owed
  // sum(collateral x price x liquidation_threshold) / sum(debt x price);
  // +inf without debt. Below 1: liquidatable (every rule set).
  double health_factor(PositionId position, std::span<const double> prices, double now_seconds) const;
  // sum(collateral x price x loan_to_value) - sum(debt x price), numeraire.
  double borrowing_headroom(PositionId position, std::span<const double> prices, double now_seconds) const;
  double collateral_value(PositionId position, std::span<const double> prices, double now_seconds) const;
  double debt_value(PositionId position, std::span<const double> prices, double now_seconds) const;

  // Positions whose health factor is below `bound`, at most out.size() of
  // them, written to `out`; returns how many. Cost grows with the positions
  // found (and with a bounded buffer of recently changed ones), not with the
  // healthy positions: positions with one collateral and one debt asset are
  // indexed per (collateral, debt) pair by their time-invariant ratio
  //   scaled debt / (scaled collateral x liquidation threshold)
  // whose health factor is (collateral price x supply index) / (debt price x
  // borrow index x ratio); other positions (several collaterals or debts)
  // are checked one by one.
  std::size_t positions_below(double bound, std::span<const double> prices, double now_seconds,
                              std::span<PositionId> out) const;

  // ---- operations (each accrues first). The engine moves the tokens between
  // the owner's wallet and the market according to the result.
  LendingResult open_position(core::AgentIndex owner);  // revert: capacity (insufficient_liquidity)
  LendingResult supply(PositionId position, core::AssetIndex asset, double amount, double now_seconds);
  LendingResult withdraw(PositionId position, core::AssetIndex asset, double amount, std::span<const double> prices,
                         double now_seconds);
  LendingResult borrow(PositionId position, core::AssetIndex asset, double amount, std::span<const double> prices,
                       double now_seconds);
  // Repays up to the debt; result.amount is what was repaid.
  LendingResult repay(PositionId position, core::AssetIndex asset, double amount, double now_seconds);

  // aave_v2, aave_v3, compound_v2: repay up to `repay_amount` of the debt in
  // `debt_asset` for collateral in `collateral_asset`, by the rules above.
  // maker: starts the vault's auction (debt_asset, collateral_asset and
  // repay_amount are ignored). Reverts `healthy` when the health factor is
  // not below 1.
  LiquidationResult liquidate(PositionId position, core::AssetIndex debt_asset, core::AssetIndex collateral_asset,
                              double repay_amount, std::span<const double> prices, double now_seconds);

  // ---- maker auctions
  std::size_t auction_count() const;
  const Auction& auction(AuctionId id) const;
  std::size_t active_auctions() const;
  // Their ids, in no particular order (changes when auctions start or close).
  std::span<const AuctionId> active_auction_ids() const { return {active_auctions_.data(), active_auctions_.size()}; }
  // Debt tokens per collateral token now (0 when inactive).
  double auction_price(AuctionId id, double now_seconds) const;
  bool auction_needs_reset(AuctionId id, double now_seconds) const;
  // Resets (or, with reset: false, closes) every stale auction at the given
  // oracle prices; returns the bad debt written off by closures, numeraire.
  double reset_stale_auctions(std::span<const double> prices, double now_seconds);
  // Buys up to max_collateral at the current price if it is <= max_price
  // (else reverts `slippage`); pays at most the tab (clip.take).
  TakeResult take(AuctionId id, double max_collateral, double max_price, std::span<const double> prices,
                  double now_seconds);

 private:
  // One listed asset (a slot). Tokens unless said otherwise.
  struct Pool {
    double cash = 0.0;
    double scaled_debt = 0.0;    // total debt = scaled_debt x borrow_index
    double borrow_index = 1.0;
    double scaled_supply = 0.0;  // total supply = scaled_supply x supply_index
    double supply_index = 1.0;   // 0 once a write-off wiped every supplier out
    double reserves = 0.0;
    double last_accrual_seconds = 0.0;
    double auction_debt = 0.0;        // debt of active auctions not yet raised (their debt_owed)
    double auction_collateral = 0.0;  // lots of active auctions
    double protocol_collateral = 0.0;  // lots of auctions closed unsold (reset: false)
    double bad_debt = 0.0;
    double supplier_loss = 0.0;
    bool operator==(const Pool&) const = default;
  };
  // The last projection of each slot, reused while the pool and the time are
  // the same: a liquidator or a record reads thousands of balances in one
  // block, each needing the slot's indices (an exp and a log1p). A cache of
  // a pure function of (pool, time), so mutable and results unchanged.
  struct Projection {
    bool valid = false;
    double now_seconds = 0.0;
    Pool input;
    Pool output;
  };
  mutable std::array<Projection, max_lending_assets> projections_{};
  struct PositionState {
    core::AgentIndex owner = core::no_agent;
    std::uint16_t active_auctions = 0;          // maker: auctions of this vault still running
    std::uint8_t auction_collateral_slot = 0;   // maker: their collateral slot
    std::uint32_t complex_slot = no_complex_slot;  // where it is in complex_, if there
    std::uint32_t changed_generation = 0;          // the complex snapshot it was last listed as changed in
    std::array<double, max_lending_assets> scaled_supply{};
    std::array<double, max_lending_assets> scaled_debt{};
  };
  static constexpr std::uint32_t no_complex_slot = 0xFFFF'FFFF;
  // Per auction, beside the public Auction record.
  struct AuctionBook {
    double initial_tab = 0.0;
    double initial_lot = 0.0;
    std::uint32_t active_slot = 0;  // where it is in active_auctions_
    std::uint8_t collateral_slot = 0;
    std::uint8_t debt_slot = 0;
  };
  struct Indices {
    double supply = 1.0;
    double borrow = 1.0;
  };
  using SlotIndices = std::array<Indices, max_lending_assets>;
  struct Valuation {
    double weighted_collateral = 0.0;  // sum(collateral x price x liquidation_threshold)
    double borrowing_power = 0.0;      // sum(collateral x price x loan_to_value)
    double seizable_collateral = 0.0;  // sum(collateral x price) over assets with threshold > 0
    double collateral = 0.0;           // sum(collateral x price)
    double debt = 0.0;                 // sum(debt x price)
    double health_factor() const;
  };

  std::size_t slot_of(core::AssetIndex asset) const;  // asset_count_ when not listed
  double pool_field(core::AssetIndex asset, double Pool::*field) const;  // 0 when not listed
  core::RevertReason check_operation(PositionId position, std::size_t slot, bool amount_valid) const;
  Pool projected(std::size_t slot, double now_seconds) const;  // memoised project()
  static Pool project(Pool pool, const LendingAssetParams& asset, double now_seconds);
  SlotIndices indices_for(const PositionState& position, double now_seconds) const;
  SlotIndices all_indices(double now_seconds) const;
  Valuation value(const PositionState& position, const SlotIndices& indices, std::span<const double> prices) const;
  bool prices_usable(std::span<const double> prices) const;
  void accrue_all(double now_seconds);
  void reindex(PositionId position);
  void absorb_bad_debt(std::size_t slot, double amount);
  double write_off(PositionId position, std::span<const double> prices);
  LiquidationResult liquidate_aave_compound(PositionId position, std::size_t debt_slot, std::size_t collateral_slot,
                                            double repay_amount, std::span<const double> prices, double now_seconds);
  LiquidationResult bark(PositionId position, std::span<const double> prices, double now_seconds);
  double close_auction(AuctionId id, std::span<const double> prices, bool return_lot_to_vault);

  LendingParams params_;
  std::size_t asset_count_ = 0;
  std::array<Pool, max_lending_assets> pools_{};
  lending_detail::ReservedVector<PositionState> positions_;  // capacity max_positions
  lending_detail::ReservedVector<std::uint32_t> versions_;   // per position, bumped on every change
  lending_detail::PositionIndex index_;
  lending_detail::ReservedVector<PositionId> complex_;  // positions with debt not in the pair index
  // The complex positions for positions_below: sorted by health factor at a
  // snapshot of every slot's price x index. A position unchanged since has
  // health now >= its snapshot health x g, where g = the smallest move of a
  // collateral side (price x supply index, now / snapshot) over the largest
  // move of a debt side (price x borrow index): a query stops at the first
  // snapshot health that g proves safe, then checks the positions changed
  // since. Rebuilt by a query (O(M log M)) when there is none, when too many
  // positions changed, or when g fell below 1/2. A cache, so mutable.
  struct ComplexEntry {
    double health = 0.0;
    PositionId position = 0;
    std::uint32_t version = 0;
  };
  struct ComplexSnapshot {
    bool valid = false;
    std::uint32_t generation = 1;
    std::array<double, max_lending_assets> collateral_side{};
    std::array<double, max_lending_assets> debt_side{};
    lending_detail::ReservedVector<ComplexEntry> sorted;  // ascending health; capacity max_positions
    lending_detail::ReservedVector<PositionId> changed;   // complex positions changed since; capacity changed_capacity
    std::size_t changed_capacity = 0;
  };
  mutable ComplexSnapshot complex_snapshot_;
  void rebuild_complex_snapshot(const SlotIndices& indices, std::span<const double> prices) const;
  lending_detail::ReservedVector<Auction> auctions_;    // capacity max_auctions
  lending_detail::ReservedVector<AuctionBook> auction_books_;
  lending_detail::ReservedVector<AuctionId> active_auctions_;
};

}  // namespace defisim::markets
