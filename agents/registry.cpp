#include "agents/registry.hpp"

#include <fmt/format.h>

#include "agents/arbitrageur.hpp"
#include "agents/borrower.hpp"
#include "agents/liquidator.hpp"
#include "agents/lp.hpp"
#include "agents/noise_trader.hpp"
#include "agents/perp_arbitrageur.hpp"
#include "agents/perp_keeper.hpp"
#include "agents/perp_lp.hpp"
#include "agents/perp_trader.hpp"
#include "agents/sandwich_attacker.hpp"
#include "agents/twamm_front_runner.hpp"
#include "agents/twamm_trader.hpp"
#include "agents/twap_trader.hpp"

namespace defisim::agents {

namespace {

constexpr config::KeySpec common_keys[] = {
    {"type", "string", "", "the agent type (see the sections below)"},
    {"id", "string", "the type",
     "name used in metric names (\"<id>.profit\"), --set and sweep keys; must be unique"},
};

}  // namespace

core::AssetIndex WorldNames::asset(const config::ConfigNode& node) const {
  return static_cast<core::AssetIndex>(config::resolve_name(node, node.as_string(), assets, "asset"));
}

core::MarketIndex WorldNames::market(const config::ConfigNode& node) const {
  return static_cast<core::MarketIndex>(config::resolve_name(node, node.as_string(), market_ids, "market"));
}

std::vector<core::MarketIndex> WorldNames::pool_markets(const config::ConfigNode& agent,
                                                        std::string_view agent_type) const {
  std::vector<core::MarketIndex> pools;
  if (agent.has("markets")) {
    for (const config::ConfigNode& market : agent.child("markets").elements()) {
      const core::MarketIndex index = this->market(market);
      if (markets::constant_product_params(markets[index]) == nullptr) {
        market.fail(fmt::format("the {} trades constant-product pools only (cpmm, or a twamm's embedded pool)",
                                agent_type));
      }
      pools.push_back(index);
    }
  } else {
    for (std::size_t i = 0; i < markets.size(); ++i) {
      if (markets::constant_product_params(markets[i]) != nullptr) pools.push_back(static_cast<core::MarketIndex>(i));
    }
  }
  if (pools.empty()) agent.fail(fmt::format("the {} has no constant-product pool to trade", agent_type));
  return pools;
}

WorldNames::TradeSides WorldNames::trade_sides(const config::ConfigNode& sell, const markets::CpmmParams& pool,
                                               const config::ConfigNode& market) const {
  const core::AssetIndex sold = asset(sell);
  if (sold != pool.asset_x && sold != pool.asset_y) {
    sell.fail(fmt::format("'{}' is not traded by market '{}'", assets[sold], market.as_string()));
  }
  return {sold, sold == pool.asset_x ? pool.asset_y : pool.asset_x};
}

std::span<const config::KeySpec> common_agent_keys() { return common_keys; }

std::span<const AgentType> agent_types() {
  static const AgentType types[] = {
      arbitrageur_type(),
      sandwich_attacker_type(),
      noise_trader_type(),
      lp_type(),
      twap_trader_type(),
      twamm_trader_type(),
      twamm_front_runner_type(),
      borrower_type(),
      liquidator_type(),
      perp_trader_type(),
      perp_arbitrageur_type(),
      perp_lp_type(),
      perp_keeper_type(),
  };
  return types;
}

const AgentType* find_agent_type(std::string_view type) {
  for (const AgentType& candidate : agent_types()) {
    if (candidate.type == type) return &candidate;
  }
  return nullptr;
}

}  // namespace defisim::agents
