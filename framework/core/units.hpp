#pragma once
// Indices and units shared by every part of defisim.
//
// Units are part of names throughout the code base: amounts are in tokens
// (`amount_in`, `reserve_x`), prices in numeraire per token (`price`), rates
// annualised (`volatility`, `drift`), time in seconds (`block_time_seconds`)
// or blocks (`blocks`). Gas prices are in gwei of the native asset.
#include <cstdint>

namespace defisim::core {

// Names in a config are resolved to these indices when a world is built; the
// per-block path never looks anything up by name.
using AssetIndex = std::uint16_t;
using MarketIndex = std::uint16_t;
using AgentIndex = std::uint16_t;
using BlockNumber = std::uint64_t;
using PathIndex = std::uint64_t;

inline constexpr AgentIndex no_agent = 0xFFFF;
inline constexpr MarketIndex no_market = 0xFFFF;

// A year of 365 days: annualised rates and volatilities use this convention.
inline constexpr double seconds_per_year = 365.0 * 24.0 * 3600.0;
// 1 gwei = 1e-9 of the native asset.
inline constexpr double native_per_gwei = 1e-9;

}  // namespace defisim::core
