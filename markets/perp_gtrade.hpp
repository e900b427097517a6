#pragma once
// gTrade-style perpetual pool (Gains Network): one stablecoin vault is the
// counterparty of every trade on one pair.
//
// Trade math follows gTrade v6.1 GNSPairInfos (unchanged through v6.3.x,
// whose callbacks added the stablecoin vault used here):
//   price impact   impact = (open interest of the side + requested notional
//                  / 2) / one-percent depth of the side, in percent
//                  (getTradePriceImpactPure); a long opens at
//                  price x (1 + impact / 100), a short at price x (1 -
//                  impact / 100). Longs use the depth above, shorts below.
//                  Depth 0: no impact.
//   open fee       open_fee x collateral x leverage, taken from the
//                  collateral (handleDevGovFees on positionSizeDai x
//                  leverage); the trade keeps the rest as its collateral and
//                  adds collateral x leverage to its side's open interest.
//   rollover       accumulator per unit of collateral growing at
//                  rollover_fee_per_second; a trade owes (acc now - acc at
//                  open) x collateral (getTradeRolloverFeePure).
//   funding        over dt, longs pay (OI long - OI short) x
//                  funding_fee_per_second x dt in total (negative: they
//                  receive), spread over the long OI; shorts receive the same
//                  amount spread over the short OI (getPendingAccFundingFees).
//                  A trade owes (acc of its side now - at open) x its
//                  notional (getTradeFundingFeePure). With one side empty
//                  the other pays (or receives) alone: the vault is the other
//                  party.
//   profit         collateral x leverage x side x (price / open - 1), capped
//                  at max_gain x collateral (currentPercentProfit, MAX_GAIN_P
//                  = 900).
//   trade value    collateral + profit - rollover - funding; 0 if at most
//                  (1 - liquidation_loss) x collateral (LIQ_THRESHOLD_P = 90);
//                  otherwise minus the closing fee, floored at 0
//                  (getTradeValuePure).
//   liquidation    at a price at or beyond
//                  open -+ open x (liquidation_loss x collateral - rollover
//                  - funding) / (collateral x leverage)
//                  (getTradeLiquidationPricePure), the liquidator is paid
//                  liquidation_reward x collateral (v6.1's 5% bot reward)
//                  and the vault keeps the rest; the trader gets nothing.
//   exposure       a trade reverts when its side's open interest plus its
//                  requested notional would exceed max_open_interest_usd
//                  (withinExposureLimits), when its impact x leverage would
//                  exceed max_negative_pnl_on_open (maxNegativePnlOnOpenP,
//                  40%), or when its owner's open notional would exceed
//                  max_position_per_trader_usd.
// Settlement (v6.3 callbacks unregisterTrade): the collateral of an open
// trade is held by the market, not the vault; on close the closing fee is
// taken from it (vault_fee_share of it to the vault, the rest leaves as
// protocol fees), and the vault receives what is left minus the payout, or
// pays the difference when the payout is larger (sendAssets / receiveAssets).
//
// The vault is an ERC-4626 share token on its realised assets: share price =
// assets / shares. gTrade's gDAI instead holds the share price at
// 1 + rewards per share unless open and realised trader PnL leave it
// under-collateralised (accPnlPerTokenUsed, updated per epoch by an open-PnL
// oracle), with withdrawal epochs; this model has neither (see
// markets/README.md). marked_vault_assets() gives the vault's value if every
// open trade closed now, for studies that want open PnL marked.
//
// Units: prices in numeraire (the stablecoin, price 1) per token of the
// traded asset; collateral and vault amounts in stablecoin tokens; notionals
// in numeraire; time in seconds since the start of the path; fee rates per
// second (gTrade's per-block percent rates x 1e-10 / 100 / block time).
// Nothing here allocates after construction or throws outside the
// constructor: a bad call returns a RevertReason and changes nothing.
#include <cstddef>
#include <cstdint>
#include <limits>

#include "framework/core/transaction.hpp"
#include "framework/core/units.hpp"
#include "markets/open_ids.hpp"
#include "markets/perp.hpp"
#include "markets/reserved_vector.hpp"

namespace defisim::markets {

struct GtradeParams {
  core::AssetIndex collateral_asset = 0;     // the vault's stablecoin (the numeraire)
  core::AssetIndex traded_asset = 1;         // the pair's base asset, priced by the oracle
  double one_percent_depth_above_usd = 0.0;  // longs' impact; 0: none
  double one_percent_depth_below_usd = 0.0;  // shorts' impact; 0: none
  double funding_fee_per_second = 0.0;       // fraction of the OI imbalance paid per second
  double rollover_fee_per_second = 0.0;      // fraction of collateral paid per second
  double max_open_interest_usd = std::numeric_limits<double>::infinity();  // per side
  double max_position_per_trader_usd =
      std::numeric_limits<double>::infinity();  // open notional of one owner
  double max_negative_pnl_on_open = 0.4;        // impact x leverage above this reverts (slippage)
  double max_gain = 9.0;                        // profit cap, fraction of collateral (+900%)
  double liquidation_loss = 0.9;                // liquidated at a value of (1 - this) x collateral
  double liquidation_reward = 0.05;             // fraction of collateral to the liquidator
  double open_fee = 0.0008;                     // fraction of collateral x leverage
  double close_fee = 0.0008;                    // fraction of collateral x leverage
  double vault_fee_share = 1.0;  // of open and close fees; the rest leaves as protocol fees
  double min_leverage = 1.0;
  double max_leverage = 150.0;
  double initial_vault_assets = 0.0;  // from a genesis LP, who receives as many shares
  std::uint32_t max_trades = 100000;  // trades ever opened (storage reserved up front)
};

using GtradeTradeId = std::uint32_t;

struct GtradeTrade {
  core::AgentIndex owner = core::no_agent;
  PerpSide side = PerpSide::long_;
  bool open = false;
  double collateral = 0.0;  // tokens, after the open fee
  double leverage = 0.0;
  double notional_usd = 0.0;  // collateral x leverage: its open interest and funding base
  double open_price = 0.0;    // oracle price with impact
  double acc_rollover_at_open = 0.0;  // per unit of collateral
  double acc_funding_at_open = 0.0;   // per unit of notional, of its side
};

struct GtradeOpenResult {
  core::RevertReason revert_reason = core::RevertReason::none;
  GtradeTradeId trade = 0;
  double open_price = 0.0;
  double price_impact = 0.0;  // fraction (gTrade's priceImpactP / 100)
  double collateral = 0.0;    // kept by the trade, after the fee
  double notional_usd = 0.0;
  double open_fee = 0.0;  // taken from the collateral paid in
  bool succeeded() const { return revert_reason == core::RevertReason::none; }
};

struct GtradeCloseResult {
  core::RevertReason revert_reason = core::RevertReason::none;
  double payout = 0.0;             // tokens to the trader
  double liquidator_reward = 0.0;  // tokens to the liquidator (liquidate only)
  double closing_fee = 0.0;        // close only
  double rollover_fee = 0.0;       // owed by the trade at close
  double funding_fee = 0.0;        // owed (negative: received)
  double profit = 0.0;             // price profit after the cap, tokens
  double vault_change = 0.0;       // change of the vault's assets
  bool succeeded() const { return revert_reason == core::RevertReason::none; }
};

struct GtradeVaultResult {
  core::RevertReason revert_reason = core::RevertReason::none;
  double assets = 0.0;  // deposited or paid out
  double shares = 0.0;  // minted or burnt
  bool succeeded() const { return revert_reason == core::RevertReason::none; }
};

class GtradeVault {
 public:
  // Throws std::invalid_argument on bad parameters.
  explicit GtradeVault(const GtradeParams& params);

  const GtradeParams& params() const { return params_; }

  // ---- vault
  double vault_assets() const { return vault_assets_; }
  double total_shares() const { return total_shares_; }
  double share_price() const;  // assets / shares; 1 with no shares
  // Vault assets plus, for each open trade, what closing it at `price` now
  // would add (collateral less payout and the protocol's fee share).
  double marked_vault_assets(double price, double now_seconds) const;
  double marked_share_price(double price, double now_seconds) const;
  // The share price at a given marked value (from marked_vault_assets: one
  // walk of the open trades serves both).
  double share_price_at(double marked_vault_assets) const {
    return total_shares_ > 0.0 ? marked_vault_assets / total_shares_ : 1.0;
  }
  GtradeVaultResult deposit(double assets);
  GtradeVaultResult redeem(double shares);

  // ---- trades
  GtradeOpenResult open_trade(core::AgentIndex owner, PerpSide side, double collateral,
                              double leverage, double price, double now_seconds,
                              double worst_price = 0.0);
  // Closes at the oracle price (no impact on close, as gTrade v6).
  GtradeCloseResult close_trade(GtradeTradeId trade, core::AgentIndex owner, double price,
                                double now_seconds);
  // Reverts `healthy` unless the price is at or beyond the liquidation price.
  GtradeCloseResult liquidate(GtradeTradeId trade, double price, double now_seconds);

  std::size_t trade_count() const { return trades_.size(); }  // ever opened
  std::size_t open_trade_count() const { return open_ids_.size(); }
  GtradeTradeId open_trade_id(std::size_t slot) const { return open_ids_[slot]; }
  bool is_open(GtradeTradeId trade) const { return trade < trades_.size() && trades_[trade].open; }
  const GtradeTrade& trade(GtradeTradeId trade) const { return trades_[trade]; }
  double open_interest_usd(PerpSide side) const;
  double collateral_held() const { return collateral_held_; }  // of open trades
  double trader_open_notional_usd(core::AgentIndex owner) const;

  // Pure queries on an open trade, projected to now_seconds.
  double price_impact(PerpSide side, double notional_usd) const;  // fraction
  double pending_rollover_fee(GtradeTradeId trade, double now_seconds) const;
  double pending_funding_fee(GtradeTradeId trade, double now_seconds) const;
  double liquidation_price(GtradeTradeId trade, double now_seconds) const;
  bool liquidatable(GtradeTradeId trade, double price, double now_seconds) const;
  // What closing now would pay the trader.
  double trade_payout(GtradeTradeId trade, double price, double now_seconds) const;

  // Funding and rollover accumulators (projected).
  double acc_funding_per_notional(PerpSide side, double now_seconds) const;
  double acc_rollover_per_collateral(double now_seconds) const;
  double last_update_seconds() const { return last_update_seconds_; }

  // ---- accounting (cumulative, stablecoin tokens)
  const PerpPoolPnl& pool_pnl() const { return pnl_; }  // the vault's
  double deposited() const { return deposited_; }       // incl. initial_vault_assets
  double redeemed() const { return redeemed_; }
  double collateral_paid_in() const { return collateral_paid_in_; }  // before open fees
  double paid_to_traders() const { return paid_to_traders_; }
  double paid_to_liquidators() const { return paid_to_liquidators_; }
  double protocol_fees() const { return protocol_fees_; }  // fees not kept by the vault
  double rollover_fees() const { return rollover_fees_; }  // charged at settlement
  double funding_fees() const { return funding_fees_; }    // net, charged at settlement

 private:
  struct Accumulators {
    double funding_long = 0.0;
    double funding_short = 0.0;
    double rollover = 0.0;
    double funding(PerpSide side) const {
      return side == PerpSide::long_ ? funding_long : funding_short;
    }
  };
  // What closing a trade now would do (close_trade, and the open trades'
  // marked value).
  struct Settlement {
    double payout = 0.0;
    double closing_fee = 0.0;
    double rollover_fee = 0.0;
    double funding_fee = 0.0;
    double profit = 0.0;
    double vault_fee = 0.0;     // the vault's share of the closing fee
    double vault_change = 0.0;  // vault fee + collateral - closing fee - payout
  };

  Accumulators projected(double now_seconds) const;
  bool valid_time(double now_seconds) const;
  double funding_of(const GtradeTrade& trade, const Accumulators& acc) const;
  double rollover_of(const GtradeTrade& trade, const Accumulators& acc) const;
  double liquidation_price_with(const GtradeTrade& trade, double rollover, double funding) const;
  Settlement settle(const GtradeTrade& trade, double price, const Accumulators& acc) const;
  void remove_open(GtradeTradeId trade);

  GtradeParams params_;
  ReservedVector<GtradeTrade> trades_;
  OpenIds open_ids_;
  Accumulators acc_;
  double last_update_seconds_ = 0.0;
  double open_interest_long_usd_ = 0.0;
  double open_interest_short_usd_ = 0.0;
  // Open trades per side, so a side's open interest returns to exactly 0
  // when its last trade closes.
  std::uint32_t open_longs_ = 0;
  std::uint32_t open_shorts_ = 0;
  double collateral_held_ = 0.0;
  double vault_assets_ = 0.0;
  double total_shares_ = 0.0;
  PerpPoolPnl pnl_;
  double deposited_ = 0.0;
  double redeemed_ = 0.0;
  double collateral_paid_in_ = 0.0;
  double paid_to_traders_ = 0.0;
  double paid_to_liquidators_ = 0.0;
  double protocol_fees_ = 0.0;
  double rollover_fees_ = 0.0;
  double funding_fees_ = 0.0;
};

}  // namespace defisim::markets
