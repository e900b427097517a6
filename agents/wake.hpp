#pragma once
// An idle agent's promise to the engine: "until one of these conditions
// holds, my act() would submit nothing and change none of my state". The
// engine then skips the agent's act() — no virtual call, no View read — and
// checks the conditions inline each block, which is what makes a block in
// which nothing happens cheap (most blocks of most workloads: an arbitrageur
// inside its no-trade band, an LP that only deposits at the start).
//
// The promise must cover everything act() reads:
//   - reference prices      -> price_bands (wake when a price leaves its band)
//   - public market state   -> watched markets (wake when a market's state changes)
//   - the public mempool    -> wake_on_mempool (wake if anything is pending at its turn)
//   - block number and time -> wake_block (act again at that block at the latest)
// Not covered by any condition: the base gas price (the engine lets no agent
// sleep while a gas process moves it) and the oracle prices (which, with an
// oracle configured, move on their own schedule): an agent whose act() reads
// oracle prices must not sleep while what it would do depends on them. The
// View's other fields are constant over a path.
//
// Results are bit-identical with and without skipping
// (`experiment.skip_idle_agents`); tests/engine/test_idle_agents.cpp runs both
// and compares every dataset. So a band must be conservative: drawn strictly
// inside the region where act() provably does nothing.
#include <array>
#include <cstdint>
#include <limits>

#include "framework/core/units.hpp"

namespace defisim::agents {

// Open interval of an asset's reference price, numeraire per token. A price
// equal to either end, or NaN, wakes the agent.
struct PriceBand {
  core::AssetIndex asset = 0;
  double low = 0.0;
  double high = 0.0;
};

struct WakeConditions {
  static constexpr std::size_t max_price_bands = 8;
  static constexpr std::size_t max_watched_markets = 8;
  static constexpr core::BlockNumber never = std::numeric_limits<core::BlockNumber>::max();

  core::BlockNumber wake_block = never;
  std::array<PriceBand, max_price_bands> price_bands{};
  std::uint32_t price_band_count = 0;
  std::array<core::MarketIndex, max_watched_markets> watched_markets{};
  std::uint32_t watched_market_count = 0;
  bool wake_on_mempool = false;

  // Narrows the band of `asset` (intersecting with any band already set for
  // it). False when the fixed capacity is exhausted: the agent must then stay
  // awake.
  bool restrict_price(core::AssetIndex asset, double low, double high) {
    for (std::uint32_t i = 0; i < price_band_count; ++i) {
      PriceBand& band = price_bands[i];
      if (band.asset == asset) {
        band.low = low > band.low ? low : band.low;
        band.high = high < band.high ? high : band.high;
        return true;
      }
    }
    if (price_band_count == max_price_bands) return false;
    price_bands[price_band_count++] = {asset, low, high};
    return true;
  }
  bool watch_market(core::MarketIndex market) {
    for (std::uint32_t i = 0; i < watched_market_count; ++i) {
      if (watched_markets[i] == market) return true;
    }
    if (watched_market_count == max_watched_markets) return false;
    watched_markets[watched_market_count++] = market;
    return true;
  }
};

}  // namespace defisim::agents
