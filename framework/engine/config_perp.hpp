#pragma once
// The `markets[]` entries of the perpetual pools (types gmx_glp,
// gtrade_vault, vamm): their keys, documented in `defisim config-reference`,
// and their parsing into the markets' parameters.
#include <span>
#include <string_view>
#include <vector>

#include "framework/config/node.hpp"
#include "framework/engine/experiment_spec.hpp"

namespace defisim::engine {

inline constexpr std::string_view perp_market_types[] = {"gmx_glp", "gtrade_vault", "vamm"};
bool is_perp_market_type(std::string_view type);

// The keys of a perp market type (and of its nested maps, for the docs).
std::span<const config::KeySpec> perp_market_keys(std::string_view type);
struct PerpConfigSection {
  std::string_view path;
  std::string_view description;
  std::span<const config::KeySpec> keys;
};
std::vector<PerpConfigSection> perp_config_sections();

// Parses one market of a perp type; the assets and initial prices of `spec`
// must be parsed. Fails on the node with what would be valid.
markets::MarketParams parse_perp_market(const config::ConfigNode& market, std::string_view type,
                                        const ScenarioSpec& spec);

}  // namespace defisim::engine
