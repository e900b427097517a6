#pragma once
// A GMX v1 style perpetual pool (`gmx_glp`): one multi-asset pool (e.g. ETH,
// BTC, USDC) backs a share token (GLP) and is the counterparty of every
// leveraged position. Sources: gmx-io/gmx-contracts, contracts/core/Vault.sol
// (increasePosition, _decreasePosition, _reduceCollateral, liquidatePosition,
// updateCumulativeFundingRate, getNextFundingRate, getDelta,
// getNextAveragePrice, getNextGlobalShortAveragePrice, buyUSDG, sellUSDG),
// VaultUtils.sol (validateLiquidation, getFundingFee, getPositionFee) and
// GlpManager.sol (getAum, _addLiquidity, _removeLiquidity).
//
// Positions open and close at the oracle price (no spread, no price impact).
// A long on X posts X as collateral and reserves X (its largest profit is
// paid in X); a short on X posts a stablecoin and reserves the stablecoin.
// Collateral and size are in numeraire (USD) inside a position, as in GMX.
//
// Per pool asset the market keeps GMX's books:
//   pool_amount      tokens that belong to the pool (GLP), incl. longs'
//                    collateral ("treat the deposited collateral as part of
//                    the pool")
//   reserved_amount  tokens set aside to pay open positions' profits
//                    (size / price at each increase); <= pool_amount
//   guaranteed_usd   sum over longs on the asset of (size - collateral)
//   fee_reserves     tokens of fees kept outside the pool (the protocol's)
//   global shorts    size and the exact size-weighted harmonic average
//                    entry price of the shorts on the asset (the ShortsTracker
//                    fix of Vault.sol's decrease bookkeeping)
// AUM (GlpManager.getAum, one oracle price so min = max) is
//   sum over stables: pool_amount x price
//   sum over others:  guaranteed_usd + (pool_amount - reserved_amount) x price
//                     + (shorts' losses - shorts' profits)
// which is exactly the pool's tokens at market minus the traders' equity in
// the long positions (collateral + unrealised PnL), plus the shorts' losses.
// It is not floored at zero (GMX floors it): a negative AUM is reported.
// Pending borrow fees are not in AUM (as in GMX); they count when collected.
//
// Fees (position fee margin_fee x size delta, borrow fee, mint/burn fee) are
// collected in tokens of the collateral (or deposited) asset; lp_fee_share of
// them goes into pool_amount (GLP's share: in GMX 70% of fees is paid to GLP
// stakers as ETH rewards; here it compounds into the pool), the rest to
// fee_reserves. The liquidation fee (liquidation_fee_usd) is paid from the
// pool to the liquidator.
//
// PnL decomposition (perp.hpp PerpPoolPnl), cumulative since construction:
// every operation first marks the pool to the given prices (mark()):
//   delta_pnl  += pool_amount x (price - last price)                (every asset)
//   trader_pnl += (short_size_over_price - reserved_amount) x (price - last)
//                                                           (non-stable assets)
// then adds its own effect at those prices: fees += lp_fee_share x fees
// collected; a liquidation adds (equity left - fees collected - liquidation
// fee) to trader_pnl; mint and redeem add their value to net_deposits_usd().
// So, after mark(prices), aum(prices) == pnl().total() + net_deposits_usd()
// up to rounding (the genesis deposit is the first net deposit).
//
// Deliberate simplifications (documented in markets/README.md): no spread
// (min price = max price = oracle), no minProfitBasisPoints, no dynamic
// (weight-based) fees, no swaps, no maxGlobalShortSize, no cooldown; a
// liquidation collects fees only from the collateral held (GMX collects the
// full margin fee even when losses exceed the collateral). Stablecoin
// collateral of shorts is valued at the stable's oracle price in and out, as
// GMX does; if that price moves while a short is open, the market's token
// holdings drift from pool + fee reserves + short collateral (as GMX's
// balance drifts from its books).
//
// Nothing here allocates after construction or throws outside the
// constructor: a bad call returns a RevertReason and changes nothing.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "framework/core/transaction.hpp"
#include "framework/core/units.hpp"
#include "markets/open_ids.hpp"
#include "markets/perp.hpp"
#include "markets/reserved_vector.hpp"

namespace defisim::markets {

inline constexpr std::size_t max_gmx_assets = 8;
using GmxPositionId = std::uint32_t;

struct GmxAssetParams {
  core::AssetIndex asset = 0;
  double initial_pool_amount = 0.0;  // tokens deposited by the genesis LP (no fee)
  bool is_stable = false;            // stables back shorts; others are longed and shorted
  bool shortable = true;             // non-stables only (Vault.shortableTokens)
};

struct GmxParams {
  std::vector<GmxAssetParams> assets;  // 1 .. max_gmx_assets, distinct
  double margin_fee = 0.001;  // of size delta, on increase and decrease (marginFeeBasisPoints 10)
  double max_leverage =
      50.0;  // size / (collateral - losses) above it: liquidatable (maxLeverage 50x)
  double liquidation_fee_usd = 5.0;  // paid from the pool to the liquidator (liquidationFeeUsd)
  // Borrow fee ("funding" in GMX v1): per whole interval, the collateral
  // asset's cumulative rate grows by factor x reserved / pool (getNextFundingRate).
  // GMX's docs: 0.01% per hour at full utilisation; Vault.sol's default
  // interval is 8 hours.
  double funding_interval_seconds = 3600.0;
  double funding_rate_factor = 0.0001;         // non-stable collateral (longs)
  double stable_funding_rate_factor = 0.0001;  // stable collateral (shorts)
  double mint_burn_fee = 0.003;                // GLP mint and redeem (mintBurnFeeBasisPoints 30)
  double lp_fee_share = 0.7;             // of every fee, into the pool; the rest to fee_reserves
  std::uint32_t max_positions = 100000;  // positions ever opened (storage reserved up front)
};

struct GmxPosition {
  core::AgentIndex owner = core::no_agent;
  PerpSide side = PerpSide::long_;
  core::AssetIndex index_asset = 0;
  core::AssetIndex collateral_asset = 0;
  double size_usd = 0.0;
  double collateral_usd = 0.0;
  double average_price = 0.0;  // size-weighted harmonic mean of entry prices (getNextAveragePrice)
  double entry_funding_rate = 0.0;  // the collateral asset's cumulative rate at the last change
  double reserve_amount = 0.0;      // tokens of the collateral asset reserved
  double realised_pnl_usd = 0.0;    // profit (+) or loss (-) realised so far, before fees
  bool open = false;
};

enum class GmxLiquidationState : std::uint8_t {
  healthy,       // 0 in validateLiquidation
  liquidatable,  // 1: losses exceed collateral, or what is left is below fees + liquidation fee
  max_leverage_exceeded,  // 2: closed for its owner (no liquidation fee), as liquidatePosition does
};

struct GmxTradeResult {
  core::RevertReason revert_reason = core::RevertReason::none;
  GmxPositionId position = 0;
  core::AssetIndex collateral_asset = 0;
  double collateral_in = 0.0;     // tokens taken from the owner
  double amount_out = 0.0;        // tokens of the collateral asset paid to the owner
  double position_fee_usd = 0.0;  // margin_fee x size delta
  double borrow_fee_usd = 0.0;    // size x (cumulative rate - entry rate)
  double realised_pnl_usd = 0.0;  // of this decrease, before fees
  bool closed = false;
  bool succeeded() const { return revert_reason == core::RevertReason::none; }
};

struct GmxLiquidationResult {
  core::RevertReason revert_reason = core::RevertReason::none;
  GmxLiquidationState state = GmxLiquidationState::healthy;
  core::AssetIndex collateral_asset = 0;
  double liquidator_fee = 0.0;  // tokens of the collateral asset paid to the liquidator
  double owner_out = 0.0;       // max_leverage_exceeded: tokens paid to the position's owner
  double fees_usd = 0.0;        // margin and borrow fees collected
  double bad_debt_usd = 0.0;    // losses beyond the collateral, borne by the pool
  bool succeeded() const { return revert_reason == core::RevertReason::none; }
};

struct GmxLiquidityResult {
  core::RevertReason revert_reason = core::RevertReason::none;
  double shares = 0.0;  // minted (add) or burnt (remove)
  double amount = 0.0;  // tokens taken (add) or paid out (remove)
  double fee = 0.0;     // tokens of mint/burn fee
  bool succeeded() const { return revert_reason == core::RevertReason::none; }
};

class GmxPool {
 public:
  // The genesis LP deposits every asset's initial_pool_amount and receives
  // aum(prices) shares (1 share = 1 numeraire, as GLP's first mint of USDG
  // value). Throws std::invalid_argument on bad parameters or prices.
  GmxPool(const GmxParams& params, std::span<const double> prices);

  const GmxParams& params() const { return params_; }
  std::size_t asset_count() const { return asset_count_; }
  core::AssetIndex asset(std::size_t slot) const { return assets_[slot]; }
  bool lists(core::AssetIndex asset) const { return slot_of(asset) < asset_count_; }
  bool is_stable(core::AssetIndex asset) const;

  // ---- pool books (0 for assets not listed)
  double pool_amount(core::AssetIndex asset) const;
  double reserved_amount(core::AssetIndex asset) const;
  double guaranteed_usd(core::AssetIndex asset) const;
  double fee_reserves(core::AssetIndex asset) const;
  double short_collateral_usd(core::AssetIndex asset) const;  // stables: shorts' collateral held
  double holdings(core::AssetIndex asset) const;              // tokens the market holds
  double global_short_size(core::AssetIndex asset) const;     // index asset
  double global_short_average_price(core::AssetIndex asset) const;  // 0 without shorts
  double utilisation(core::AssetIndex asset) const;  // reserved / pool (getUtilisation)
  // The asset's cumulative borrow rate projected to now (not written).
  double cumulative_funding_rate(core::AssetIndex asset, double now_seconds) const;
  double total_supply() const { return total_supply_; }
  // GlpManager.getAum with one price per asset; prices must be valid.
  double aum(std::span<const double> prices) const;
  double share_price(std::span<const double> prices) const;  // aum / supply; 1 when no shares

  // ---- positions
  std::size_t position_count() const { return positions_.size(); }
  const GmxPosition& position(GmxPositionId id) const { return positions_[id]; }
  // The open positions, in no particular (but deterministic) order.
  std::size_t open_position_count() const { return open_positions_.size(); }
  GmxPositionId open_position_id(std::size_t slot) const { return open_positions_[slot]; }
  double position_pnl_usd(GmxPositionId id,
                          std::span<const double> prices) const;      // getDelta, signed
  double borrow_fee_usd(GmxPositionId id, double now_seconds) const;  // getFundingFee, pending
  GmxLiquidationState liquidation_state(GmxPositionId id, std::span<const double> prices,
                                        double now_seconds) const;

  // ---- PnL of the pool (see the header comment)
  const PerpPoolPnl& pnl() const { return pnl_; }
  double net_deposits_usd() const { return net_deposits_usd_; }
  // Marks the books to `prices` (PnL decomposition only; AUM itself is a
  // function of the prices). Reverts invalid_amount on a bad price.
  core::RevertReason mark(std::span<const double> prices);

  // ---- operations. Each checks everything first, then marks to `prices`,
  // brings the touched collateral asset's borrow rate up to now, and acts.
  // The engine moves the tokens (collateral_in, amount_out, ...) between the
  // wallets and the market.

  // A new position: `collateral_amount` tokens of collateral_asset and size
  // `size_delta_usd`. Longs: collateral_asset == index_asset (non-stable);
  // shorts: a stable collateral_asset, a shortable non-stable index_asset.
  GmxTradeResult open_position(core::AgentIndex owner, PerpSide side, core::AssetIndex index_asset,
                               core::AssetIndex collateral_asset, double collateral_amount,
                               double size_delta_usd, std::span<const double> prices,
                               double now_seconds);
  // increasePosition on an open position (either amount may be 0, not both).
  GmxTradeResult increase_position(GmxPositionId id, core::AgentIndex owner,
                                   double collateral_amount, double size_delta_usd,
                                   std::span<const double> prices, double now_seconds);
  // decreasePosition: withdraws collateral_delta_usd and closes size_delta_usd
  // (the whole size closes the position and pays out all its collateral).
  GmxTradeResult decrease_position(GmxPositionId id, core::AgentIndex owner,
                                   double collateral_delta_usd, double size_delta_usd,
                                   std::span<const double> prices, double now_seconds);
  GmxTradeResult close_position(GmxPositionId id, core::AgentIndex owner,
                                std::span<const double> prices, double now_seconds);
  // liquidatePosition: reverts `healthy` unless liquidation_state != healthy.
  GmxLiquidationResult liquidate(GmxPositionId id, std::span<const double> prices,
                                 double now_seconds);

  // GLP mint: deposit `amount` tokens of `asset`; shares = amount x price x
  // (1 - mint_burn_fee) x supply / aum (aum before the deposit).
  GmxLiquidityResult add_liquidity(core::AssetIndex asset, double amount,
                                   std::span<const double> prices, double now_seconds);
  // GLP redeem: burn `shares` for (shares x aum / supply) / price x (1 - fee)
  // tokens of asset_out.
  GmxLiquidityResult remove_liquidity(double shares, core::AssetIndex asset_out,
                                      std::span<const double> prices, double now_seconds);

 private:
  struct Funding {
    double cumulative = 0.0;
    double last_time = 0.0;
  };
  struct LiquidationCheck {
    GmxLiquidationState state = GmxLiquidationState::healthy;
    double margin_fees_usd = 0.0;  // position fee on the whole size + borrow fee
    double pnl_usd = 0.0;
    double remaining_usd = 0.0;  // collateral + min(pnl, 0): < 0 when losses exceed it
  };

  std::size_t slot_of(core::AssetIndex asset) const;
  // A per-asset book's entry, 0 for an asset the pool does not list.
  double book(const std::array<double, max_gmx_assets>& entries, core::AssetIndex asset) const;
  bool prices_valid(std::span<const double> prices) const;
  Funding projected_funding(std::size_t slot, double now_seconds) const;
  double funding_factor(std::size_t slot) const;
  // validateLiquidation for p's side and assets with the given size,
  // collateral and average price (a position as it is, or as an operation
  // would leave it), owing `borrow_fee_usd`.
  LiquidationCheck check_liquidation(const GmxPosition& p, double size_usd, double collateral_usd,
                                     double average_price, double borrow_fee_usd,
                                     std::span<const double> prices) const;
  void mark_unchecked(std::span<const double> prices);
  void collect_fee(std::size_t slot, double fee_tokens, double price);
  // Takes a position that has just closed (decrease or liquidation) off the
  // open list and releases its books.
  void retire(GmxPositionId id);
  GmxTradeResult increase(GmxPositionId id, bool is_new, core::AgentIndex owner, PerpSide side,
                          core::AssetIndex index_asset, core::AssetIndex collateral_asset,
                          double collateral_amount, double size_delta_usd,
                          std::span<const double> prices, double now_seconds);
  GmxTradeResult decrease(GmxPositionId id, double collateral_delta_usd, double size_delta_usd,
                          std::span<const double> prices, double now_seconds, bool check_owner,
                          core::AgentIndex owner);

  GmxParams params_;
  std::size_t asset_count_ = 0;
  std::array<core::AssetIndex, max_gmx_assets> assets_{};
  std::array<bool, max_gmx_assets> stable_{};
  std::array<bool, max_gmx_assets> shortable_{};
  std::array<double, max_gmx_assets> pool_{};
  std::array<double, max_gmx_assets> reserved_{};
  std::array<double, max_gmx_assets> guaranteed_{};
  std::array<double, max_gmx_assets> fee_reserves_{};
  std::array<double, max_gmx_assets> short_collateral_{};  // USD, by stable collateral asset
  std::array<double, max_gmx_assets> holdings_{};
  std::array<double, max_gmx_assets> short_size_{};             // by index asset
  std::array<double, max_gmx_assets> short_size_over_price_{};  // sum of size / average price
  // Open positions per slot, so books that must return to zero do so exactly
  // (not to a rounding residue) when the last position closes.
  std::array<std::uint32_t, max_gmx_assets> open_by_collateral_{};
  std::array<std::uint32_t, max_gmx_assets> shorts_by_index_{};
  std::array<Funding, max_gmx_assets> funding_{};
  std::array<double, max_gmx_assets> marked_price_{};
  double total_supply_ = 0.0;
  PerpPoolPnl pnl_;
  double net_deposits_usd_ = 0.0;
  ReservedVector<GmxPosition> positions_;  // capacity max_positions
  OpenIds open_positions_;
};

}  // namespace defisim::markets
