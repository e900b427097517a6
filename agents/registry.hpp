#pragma once
// The registry of agent types, keyed by the YAML `type`.
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agents/agent.hpp"
#include "framework/config/node.hpp"
#include "markets/market.hpp"

namespace defisim::agents {

// The names an agent's config may refer to, and what they resolve to.
struct WorldNames {
  std::vector<std::string> assets;
  core::AssetIndex numeraire = 0;
  core::AssetIndex native_asset = 0;
  std::vector<std::string> market_ids;
  std::vector<markets::MarketParams> markets;
  std::vector<double> initial_prices;  // numeraire per token at block 0, per asset
  double base_gas_price_gwei = 0.0;

  // Resolve or fail on `node` with the valid names listed.
  core::AssetIndex asset(const config::ConfigNode& node) const;
  core::MarketIndex market(const config::ConfigNode& node) const;

  // An agent's `markets` list of constant-product pools (a cpmm, or a
  // twamm's embedded pool), or every such pool when the key is absent;
  // `agent_type` names the agent in errors.
  std::vector<core::MarketIndex> pool_markets(const config::ConfigNode& agent, std::string_view agent_type) const;

  // The token a trading program sells (its `sell` key, one of the pool's
  // pair; `market` is the node that chose the pool) and the one it buys.
  struct TradeSides {
    core::AssetIndex sell = 0;
    core::AssetIndex buy = 0;
  };
  TradeSides trade_sides(const config::ConfigNode& sell, const markets::CpmmParams& pool,
                         const config::ConfigNode& market) const;
};

struct AgentType {
  std::string_view type;
  std::string_view description;
  // Keys of this type's config map, besides `type` and `id` (which every agent has).
  std::span<const config::KeySpec> keys;
  std::function<std::shared_ptr<const AgentParams>(const config::ConfigNode&, const WorldNames&)> parse;
  // Keys of nested maps (e.g. noise_trader's size_numeraire), for the docs.
  struct Subsection {
    std::string_view key;
    std::span<const config::KeySpec> keys;
  };
  std::vector<Subsection> subsections = {};
};

// Every built-in agent type, in documentation order.
std::span<const AgentType> agent_types();
// nullptr if unknown.
const AgentType* find_agent_type(std::string_view type);

// Keys every agent has.
std::span<const config::KeySpec> common_agent_keys();

}  // namespace defisim::agents
