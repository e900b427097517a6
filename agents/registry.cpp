#include "agents/registry.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "agents/arbitrageur.hpp"
#include "agents/lp.hpp"
#include "agents/noise_trader.hpp"

namespace defisim::agents {

namespace {

std::string listing(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

template <typename Names>
std::size_t resolve(const config::ConfigNode& node, const Names& names, const char* what) {
  const std::string name = node.as_string();
  const auto it = std::find(names.begin(), names.end(), name);
  if (it != names.end()) return static_cast<std::size_t>(it - names.begin());
  std::vector<std::string_view> candidates(names.begin(), names.end());
  const std::string suggestion = config::nearest(name, candidates);
  node.fail(fmt::format("unknown {} '{}'{}; known: {}", what, name,
                        suggestion.empty() ? "" : fmt::format(" (did you mean '{}'?)", suggestion),
                        listing(names)));
}

constexpr config::KeySpec common_keys[] = {
    {"type", "string", "", "the agent type (see the sections below)"},
    {"id", "string", "the type",
     "name used in metric names (\"<id>.profit\"), --set and sweep keys; must be unique"},
};

}  // namespace

core::AssetIndex WorldNames::asset(const config::ConfigNode& node) const {
  return static_cast<core::AssetIndex>(resolve(node, assets, "asset"));
}

core::MarketIndex WorldNames::market(const config::ConfigNode& node) const {
  return static_cast<core::MarketIndex>(resolve(node, market_ids, "market"));
}

std::span<const config::KeySpec> common_agent_keys() { return common_keys; }

std::span<const AgentType> agent_types() {
  static const AgentType types[] = {
      arbitrageur_type(),
      noise_trader_type(),
      lp_type(),
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
