#pragma once
// Shared fixtures of the lending market's tests (tests/markets/test_lending_*.cpp).
// Assets: ETH = 1, USDC = 2, WBTC = 3 (index 0 unused, so a wrong index shows).
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "markets/lending.hpp"

namespace lending_test {

using defisim::core::AgentIndex;
using defisim::core::AssetIndex;
using defisim::core::RevertReason;
using defisim::markets::Auction;
using defisim::markets::AuctionDecay;
using defisim::markets::InterestRateCurve;
using defisim::markets::Lending;
using defisim::markets::LendingAssetParams;
using defisim::markets::LendingParams;
using defisim::markets::LendingResult;
using defisim::markets::LendingRules;
using defisim::markets::LiquidationResult;
using defisim::markets::PositionId;
using defisim::markets::TakeResult;

constexpr AssetIndex eth = 1;
constexpr AssetIndex usdc = 2;
constexpr AssetIndex wbtc = 3;
constexpr AssetIndex unlisted = 5;
constexpr AgentIndex venue = 0;
constexpr AgentIndex alice = 1;
constexpr AgentIndex bob = 2;
constexpr double year_seconds = defisim::core::seconds_per_year;
constexpr double inf = std::numeric_limits<double>::infinity();

inline InterestRateCurve flat_rate(double rate) {
  InterestRateCurve curve;
  curve.base_rate = rate;
  curve.slope_below_kink = 0.0;
  curve.slope_above_kink = 0.0;
  return curve;
}

inline LendingAssetParams asset_params(AssetIndex asset, double initial_supply, double loan_to_value,
                                       double liquidation_threshold, double liquidation_bonus,
                                       InterestRateCurve rate = flat_rate(0.0), double reserve_factor = 0.1) {
  LendingAssetParams params;
  params.asset = asset;
  params.initial_supply = initial_supply;
  params.loan_to_value = loan_to_value;
  params.liquidation_threshold = liquidation_threshold;
  params.liquidation_bonus = liquidation_bonus;
  params.reserve_factor = reserve_factor;
  params.rate = rate;
  return params;
}

// Aave v2 mainnet-like parameters (WETH: LTV 80%, threshold 82.5%, bonus 5%;
// USDC: threshold 85%), no interest unless a test sets a curve.
inline LendingParams aave_params(LendingRules rules = LendingRules::aave_v2) {
  LendingParams params;
  params.rules = rules;
  params.assets = {asset_params(eth, 0.0, 0.8, 0.825, 0.05), asset_params(usdc, 1'000'000.0, 0.8, 0.85, 0.05)};
  params.max_positions = 64;
  return params;
}

// Compound v2: cETH collateral factor 75%, liquidationIncentive 1.08,
// closeFactor 0.5, protocolSeizeShare 2.8%.
inline LendingParams compound_params() {
  LendingParams params;
  params.rules = LendingRules::compound_v2;
  params.assets = {asset_params(eth, 0.0, 0.75, 0.75, 0.08), asset_params(usdc, 1'000'000.0, 0.75, 0.75, 0.08)};
  params.close_factor = 0.5;
  params.protocol_seize_share = 0.028;
  params.max_positions = 64;
  return params;
}

// Maker ETH-A: liquidation ratio 150% (threshold 1/1.5), chop 1.13; DAI
// (asset usdc here) is the only borrowable asset. Clipper: buf 1.2,
// stairstep cut 0.99 every 90 s, tail 7200 s, cusp 0.4.
inline LendingParams maker_params() {
  LendingParams params;
  params.rules = LendingRules::maker;
  LendingAssetParams collateral = asset_params(eth, 0.0, 1.0 / 1.5, 1.0 / 1.5, 0.13);
  collateral.borrowable = false;
  LendingAssetParams dai = asset_params(usdc, 1'000'000.0, 0.0, 0.0, 0.0);
  params.assets = {collateral, dai};
  params.auction.buf = 1.2;
  params.auction.decay = AuctionDecay::stairstep_exponential;
  params.auction.cut = 0.99;
  params.auction.step_seconds = 90.0;
  params.auction.tail_seconds = 7200.0;
  params.auction.cusp = 0.4;
  params.max_positions = 64;
  params.max_auctions = 16;
  return params;
}

// Prices indexed by AssetIndex: {unused, ETH, USDC, WBTC, unused, unused}.
inline std::vector<double> prices_at(double eth_price, double usdc_price = 1.0, double wbtc_price = 30'000.0) {
  return {0.0, eth_price, usdc_price, wbtc_price, 0.0, 0.0};
}

inline bool relatively_close(double actual, double expected, double tolerance) {
  return std::abs(actual - expected) <= tolerance * std::max(1.0, std::abs(expected));
}

// The tokens that crossed the market's boundary, per asset, as the engine
// would move them (README "lending": "Token flows").
struct Ledger {
  std::array<double, 6> in{};
  std::array<double, 6> out{};
  double net(AssetIndex asset) const { return in[asset] - out[asset]; }
};

// Accounting identity of one asset: cash + debt + auction debt - supply - reserves.
inline double identity_gap(const Lending& market, AssetIndex asset, double now_seconds) {
  return market.cash(asset) + market.total_debt(asset, now_seconds) + market.auction_debt(asset) -
         market.total_supply(asset, now_seconds) - market.reserves(asset, now_seconds);
}

}  // namespace lending_test
