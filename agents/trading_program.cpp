#include "agents/trading_program.hpp"

#include <cmath>

namespace defisim::agents {

void parse_trading_program(const config::ConfigNode& node, const WorldNames& names, core::MarketIndex market,
                           const config::ConfigNode& market_node, const markets::CpmmParams& pool,
                           std::uint64_t default_window_blocks, std::uint32_t default_gas_used,
                           TradingProgram& program) {
  program.market = market;
  const WorldNames::TradeSides sides = names.trade_sides(node.child("sell"), pool, market_node);
  program.sell = sides.sell;
  program.buy = sides.buy;
  program.sell_symbol = names.assets[program.sell];
  program.buy_symbol = names.assets[program.buy];
  program.amount = node.number_in("amount", 0.0, 0.0, false, INFINITY, false);
  program.start_block = static_cast<std::uint64_t>(node.integer_at_least("start_block", 1, 1));
  program.window_blocks = node.has("window_blocks")
                              ? static_cast<std::uint64_t>(node.integer_at_least("window_blocks", 1, 1))
                              : default_window_blocks;
  program.gas_used = static_cast<std::uint32_t>(
      node.integer_at_least("gas_used", static_cast<std::int64_t>(default_gas_used), 0));
  program.private_channel = node.boolean("private_channel", false);
  program.native_asset = names.native_asset;
}

}  // namespace defisim::agents
