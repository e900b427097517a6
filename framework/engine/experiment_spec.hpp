#pragma once
// The validated, immutable description of an experiment: what the YAML
// becomes after every key has been checked and every name resolved to an
// index. A World is built from a ScenarioSpec; nothing here changes per path.
#include <Eigen/Dense>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "agents/agent.hpp"
#include "framework/core/gas_price.hpp"
#include "framework/core/oracle.hpp"
#include "framework/core/price_process.hpp"
#include "framework/core/transaction.hpp"
#include "framework/core/units.hpp"
#include "markets/market.hpp"

namespace defisim::engine {

using Ordering = core::Ordering;

struct AgentSpec {
  std::string id;
  std::string type;
  std::shared_ptr<const agents::AgentParams> params;
};

using PriceParams = std::variant<core::GbmParams, core::JumpDiffusionParams, core::ReplayParams>;

struct ScenarioSpec {
  // experiment
  std::string name;
  std::uint64_t seed = 1;
  std::uint64_t paths = 1000;
  std::uint64_t blocks = 7200;
  double block_time_seconds = 12.0;
  std::uint64_t record_every = 60;
  int record_compression = 0;  // deflate level of the results file, file-wide (the first scenario's)
  bool antithetic = false;
  bool check_conservation = false;
  bool skip_idle_agents = true;
  std::uint64_t batch_paths = 512;
  // Importance sampling (experiment.importance_sampling): per risky asset,
  // the shift of the expected log return over the whole path under which
  // paths are drawn; empty: plain Monte Carlo.
  Eigen::VectorXd importance_shift_log_return;
  bool importance_sampling() const { return importance_shift_log_return.size() > 0; }
  // assets and chain
  std::vector<std::string> assets;
  core::AssetIndex numeraire = 0;
  core::AssetIndex native_asset = 0;
  double gas_price_gwei = 0.0;
  Ordering ordering = Ordering::fifo;
  std::uint32_t max_transactions_per_block = 256;
  // The base gas price per block (gas_price_gwei when constant), driven by
  // the reference price of gas_process_asset.
  core::GasPriceParams gas_process = core::ConstantGasParams{};
  core::AssetIndex gas_process_asset = 0;
  // What protocols read, per asset (the reference when not configured);
  // oracle_pools[asset]: the pool a pool_twap oracle averages.
  std::vector<core::OracleParams> oracles;
  std::vector<core::MarketIndex> oracle_pools;
  bool has_oracles() const {
    for (const core::OracleParams& oracle : oracles) {
      if (!std::holds_alternative<core::ReferenceOracleParams>(oracle)) return true;
    }
    return false;
  }
  bool has_gas_process() const { return !std::holds_alternative<core::ConstantGasParams>(gas_process); }
  // price: risky_assets[i] is the asset whose log price is state component i
  std::vector<core::AssetIndex> risky_assets;
  Eigen::VectorXd initial_prices;  // per risky asset, numeraire per token
  // Numeraire per token at block 0 for every asset (the numeraire's is 1).
  std::vector<double> initial_prices_by_asset() const {
    std::vector<double> prices(assets.size(), 1.0);
    for (std::size_t i = 0; i < risky_assets.size(); ++i) {
      prices[risky_assets[i]] = initial_prices(static_cast<Eigen::Index>(i));
    }
    return prices;
  }
  PriceParams price;
  // markets and agents, in config order (indices are positions here)
  std::vector<std::string> market_ids;
  std::vector<markets::MarketParams> markets;
  std::vector<AgentSpec> agents;
};

struct Scenario {
  std::size_t index = 0;
  std::vector<std::pair<std::string, std::string>> parameters;  // swept key -> value (YAML text)
  std::shared_ptr<const ScenarioSpec> spec;
};

struct Experiment {
  std::string config_path;
  std::string resolved_yaml;  // after --set; `defisim run` of it reproduces the results
  std::vector<Scenario> scenarios;
  const ScenarioSpec& base() const { return *scenarios.front().spec; }
};

}  // namespace defisim::engine
