#pragma once
// What the trading programs (twap_trader, twamm_trader) share: the market
// they trade, the token they sell for which, how much, from which block,
// the window their execution is measured over (agents/execution_tracker.hpp),
// and their transactions' gas and channel. Their params derive from it, and
// parse_trading_program reads its keys, so each program keeps only what is
// its own.
#include <cstdint>
#include <string>
#include <vector>

#include "agents/execution_tracker.hpp"
#include "agents/registry.hpp"

namespace defisim::agents {

struct TradingProgram {
  core::MarketIndex market = 0;
  core::AssetIndex sell = 0;
  core::AssetIndex buy = 1;
  std::string sell_symbol, buy_symbol;  // for metric units
  double amount = 0.0;                  // tokens of `sell`
  std::uint64_t start_block = 1;
  std::uint64_t window_blocks = 1;
  std::uint32_t gas_used = 0;
  bool private_channel = false;
  core::AssetIndex native_asset = 0;

  ExecutionTracker make_tracker() const {
    return ExecutionTracker(sell, buy, start_block, start_block + window_blocks, amount);
  }
  std::vector<output::MetricInfo> execution_metrics() const {
    return ExecutionTracker::outcome_metrics(sell_symbol, buy_symbol);
  }
};

// Reads `sell` (one of `pool`'s pair; `market_node` chose the pool), `amount`,
// `start_block`, `window_blocks` (default `default_window_blocks`), `gas_used`
// (default `default_gas_used`) and `private_channel` into `program`, for a
// program on `market`, which the caller resolved and checked (each program
// accepts its own kinds of market).
void parse_trading_program(const config::ConfigNode& node, const WorldNames& names, core::MarketIndex market,
                           const config::ConfigNode& market_node, const markets::CpmmParams& pool,
                           std::uint64_t default_window_blocks, std::uint32_t default_gas_used,
                           TradingProgram& program);

}  // namespace defisim::agents
