#include "agents/registry.hpp"

#include "agents/arbitrageur.hpp"
#include "agents/lp.hpp"
#include "agents/noise_trader.hpp"
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
