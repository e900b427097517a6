#include "framework/engine/config_loader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "agents/registry.hpp"
#include "framework/engine/config_perp.hpp"
#include "framework/engine/sweep_design.hpp"

namespace defisim::engine {

namespace {

using config::ConfigNode;
using config::KeySpec;

constexpr KeySpec root_keys[] = {
    {"experiment", "map", "", "run settings: name, seed, paths, blocks, block time, recording"},
    {"assets", "list of strings", "", "asset symbols, e.g. [ETH, USDC]; at least two, unique"},
    {"numeraire", "string", "", "the asset prices and values are measured in (its price is 1)"},
    {"chain", "map", "{}", "gas and block building"},
    {"price", "map", "", "the reference price process"},
    {"markets", "list of maps", "", "the markets, each with an `id` and a `type`"},
    {"oracles", "map asset -> map", "the reference price for every asset",
     "what protocols (lending markets) read for each asset: see oracles.<asset>"},
    {"agents", "list of maps", "[]", "the agents, each with a `type` (and an `id` if not unique)"},
    {"sweep", "map", "{}",
     "scenarios: `grid` (cartesian product), `list` of overrides, or a `latin_hypercube` or `sobol` design"},
};

constexpr KeySpec experiment_keys[] = {
    {"name", "string", "", "experiment name, stored in the results"},
    {"seed", "integer", "1", "random seed, in [0, 4294967295]; paths are keyed by (seed, path index)"},
    {"paths", "integer", "1000", "Monte Carlo paths per scenario (>= 1)"},
    {"blocks", "integer", "7200", "blocks per path (>= 1)"},
    {"block_time", "number", "12", "seconds per block (> 0)"},
    {"record", "map", "{every: 60, compression: 0}",
     "series sampling: {every: N blocks (>= 1)}; samples at blocks 0, N, 2N, ...; and how the results file stores them"},
    {"antithetic", "boolean", "false",
     "pair paths (2i, 2i+1) with negated price normals (and 1-u uniforms); needs an even path count"},
    {"batch_paths", "integer", "512", "paths in flight per write batch (memory is bounded by this)"},
    {"importance_sampling", "map", "{}",
     "draw paths from a tilted price process and weight them back (experiment.importance_sampling): more of the "
     "tail, same expectations"},
    {"check_conservation", "boolean", "false",
     "verify every block that each asset is conserved (slower; tests turn it on)"},
    {"skip_idle_agents", "boolean", "true",
     "do not call agents that declared themselves idle until their wake condition holds; "
     "results are bit-identical either way (false exists to check that)"},
};

constexpr KeySpec importance_keys[] = {
    {"shift_log_return", "map asset -> number", "",
     "per risky asset, how much the expected log return over the whole path is shifted (e.g. {ETH: -0.3} draws "
     "paths as if ETH drifted 30% lower in log); the normal shocks of the diffusion are tilted by a constant and each "
     "path's likelihood ratio is stored (sampling.likelihood_ratio) and weights every summary statistic. gbm and "
     "jump_diffusion (its diffusion part) only; not with antithetic"},
};

constexpr KeySpec record_keys[] = {
    {"every", "integer", "60", "blocks between series samples (>= 1)"},
    {"compression", "integer", "0",
     "deflate level of outcome and series datasets, 0-9 (0: stored raw; 1 saves ~30% on price-like series "
     "and costs more time than simulating them; applies to the whole file)"},
};

constexpr KeySpec chain_keys[] = {
    {"native_asset", "string", "ETH if listed", "asset gas is paid in"},
    {"gas_price_gwei", "number", "0", "base gas price, gwei per gas unit (>= 0)"},
    {"ordering", "string", "fifo",
     "block building: fifo (arrival order) | random (shuffled by the builder stream) | "
     "priority_fee (highest tip first, ties by arrival) | mev (priority_fee, plus searcher bundles placed "
     "around their targets, atomically, best bid per target) | private (arrival order; no public mempool, "
     "so no one can front-run)"},
    {"max_transactions_per_block", "integer", "256",
     "mempool capacity per block; more are dropped with a mempool_full receipt (>= 1)"},
    {"gas_process", "map", "constant", "the gas price as a process coupled to price drops: see chain.gas_process"},
};

constexpr KeySpec gas_process_keys[] = {
    {"model", "string", "spike",
     "spike: gas = min(cap, base + excess), excess decays with half_life and jumps by base x spike_per_percent_drop "
     "per 1% one-block log drop of `asset` (framework/core/gas_price.hpp) | constant"},
    {"asset", "string", "the native asset", "the asset whose price drops drive the spikes"},
    {"spike_per_percent_drop", "number", "1", "excess gas, in multiples of the base price, per 1% one-block drop (>= 0)"},
    {"half_life_seconds", "number", "600", "half-life of the excess (> 0)"},
    {"cap_gwei", "number", "unlimited", "the highest gas price, gwei (>= gas_price_gwei)"},
};

constexpr KeySpec oracle_keys[] = {
    {"type", "string", "",
     "reference | push (Chainlink: deviation threshold and heartbeat) | delayed | median (Maker medianizer of noisy "
     "sources, optionally delayed like the OSM) | pool_twap (Uniswap v2 TWAP of a pool: manipulable)"},
    {"deviation", "number", "0.005", "push: publish when the price moved by more than this fraction, in [0, 1)"},
    {"heartbeat_seconds", "number", "3600", "push: and at least this often (> 0)"},
    {"delay_blocks", "integer", "(delayed: required; median: 0)", "delayed, median: publish the price of this many blocks ago (0 to 1000000)"},
    {"sources", "integer", "5", "median: number of sources (1 to 101)"},
    {"noise", "number", "0.0", "median: each source's log-price error, a standard deviation (0 to 1)"},
    {"market", "string", "(required by pool_twap)", "pool_twap: the constant-product pool trading this asset"},
    {"window_seconds", "number", "1800", "pool_twap: the averaging window (at least one block; at most 1000000 blocks)"},
};

constexpr KeySpec price_keys[] = {
    {"process", "string", "gbm", "gbm | jump_diffusion | replay"},
    {"initial", "map asset -> number", "",
     "initial price of every non-numeraire asset, numeraire per token (> 0)"},
    {"volatility", "map asset -> number", "(required by gbm, jump_diffusion)",
     "gbm, jump_diffusion: annualised volatility of every non-numeraire asset (>= 0, <= 10)"},
    {"drift", "map asset -> number", "0 for each",
     "gbm, jump_diffusion: annualised drift mu (|mu| <= 100000); the median log move over T years is "
     "(mu - sigma^2/2) T, so a crash is a large drift: a 50% fall in one hour is mu = ln(0.5) x 8760 + sigma^2/2"},
    {"correlation", "list of lists", "identity",
     "gbm, jump_diffusion: correlation matrix over the non-numeraire assets in `assets` order; "
     "symmetric, unit diagonal, positive definite"},
    {"jumps", "map", "(required by jump_diffusion)",
     "jump_diffusion: {intensity_per_year: {asset: >= 0}, mean: {asset: log-jump mean}, "
     "stdev: {asset: >= 0}}"},
    {"replay", "map", "(required by replay)",
     "replay: {file: CSV path (relative to the config), bootstrap_block_length: blocks (0 = replay as is)}"},
};

constexpr KeySpec jumps_keys[] = {
    {"intensity_per_year", "map asset -> number", "", "jumps per year (>= 0)"},
    {"mean", "map asset -> number", "0 for each", "mean of the log jump size"},
    {"stdev", "map asset -> number", "0 for each", "standard deviation of the log jump size (>= 0)"},
};

constexpr KeySpec replay_keys[] = {
    {"file", "string", "",
     "CSV with a header naming every non-numeraire asset (other columns ignored) and one row per "
     "block of prices in numeraire (> 0)"},
    {"bootstrap_block_length", "integer", "0",
     "0: every path replays the file from its first row (needs blocks + 1 rows); L > 0: moving-block "
     "bootstrap of the log returns in blocks of L, starting at price.initial"},
};

constexpr KeySpec cpmm_keys[] = {
    {"id", "string", "", "market name, unique; used in agent configs, metrics, --set and sweeps"},
    {"type", "string", "", "cpmm"},
    {"pair", "list of 2 assets", "", "[X, Y]: the pool's assets; prices are quoted as Y per X"},
    {"reserves", "map asset -> number", "", "initial reserves of both assets, tokens (> 0)"},
    {"fee", "number", "0.003", "swap fee on the input, fraction in [0, 1)"},
};

constexpr KeySpec twamm_keys[] = {
    {"id", "string", "", "market name, unique; used in agent configs, metrics, --set and sweeps"},
    {"type", "string", "", "twamm"},
    {"pair", "list of 2 assets", "", "[X, Y]: the embedded pool's assets; prices are quoted as Y per X"},
    {"reserves", "map asset -> number", "", "initial reserves of the embedded pool, tokens (> 0)"},
    {"fee", "number", "0.003",
     "fee on the input of swaps and of long-term orders' virtual trades, fraction in [0, 1)"},
    {"order_interval_blocks", "integer", "300",
     "long-term orders start and expire only on multiples of this many blocks (>= 1; 300 = 1 hour of 12 s blocks)"},
    {"max_orders", "integer", "256", "long-term orders that can be placed over a path (storage reserved per path; 1 to 1000000)"},
};

constexpr KeySpec lending_keys[] = {
    {"id", "string", "", "market name, unique; used in agent configs, metrics, --set and sweeps"},
    {"type", "string", "", "lending"},
    {"rules", "string", "aave_v2",
     "aave_v2 | aave_v3 | compound_v2 | maker: when a position is liquidatable and what a liquidation does "
     "(markets/README.md, \"lending\")"},
    {"assets", "map asset -> map", "", "the listed assets and their risk parameters (see markets[] (type: lending).assets.<asset>)"},
    {"close_factor", "number", "0.5",
     "aave_v2, aave_v3, compound_v2: fraction of a position's debt in one asset a liquidation may repay, in (0, 1]"},
    {"full_liquidation_health_factor", "number", "0.95",
     "aave_v3: below this health factor the close factor is 100% (Aave v3 CLOSE_FACTOR_HF_THRESHOLD)"},
    {"liquidation_protocol_fee", "number", "0",
     "aave_v3: share of the liquidation bonus paid to the protocol's reserves, in [0, 1] (Aave v3 uses 0.1 on most assets)"},
    {"protocol_seize_share", "number", "0.028",
     "compound_v2: share of the seized collateral kept as reserves, in [0, 1) (Compound v2: 2.8%)"},
    {"auction", "map", "{}", "maker: the Dutch auction of a liquidated vault (see markets[] (type: lending).auction)"},
    {"max_positions", "integer", "100000",
     "positions that can be opened over a path, incl. the genesis supplier's (storage reserved per path; 1 to 10000000)"},
    {"max_auctions", "integer", "4096", "maker: auctions that can be started over a path (1 to 10000000)"},
};

constexpr KeySpec lending_asset_keys[] = {
    {"initial_supply", "number", "0", "tokens supplied at block 0 by the genesis supplier (the lenders), >= 0"},
    {"loan_to_value", "number", "0",
     "borrowing power as collateral: a borrow or withdrawal must keep sum(collateral x price x loan_to_value) >= "
     "debt value; in [0, 1]"},
    {"liquidation_threshold", "number", "loan_to_value",
     "weight in the health factor (aave), collateral factor for liquidation (compound_v2), 1 / liquidation ratio "
     "(maker); in [loan_to_value, 1]; 0: not collateral"},
    {"liquidation_ratio", "number", "(maker only)",
     "maker: the vault's liquidation ratio (e.g. 1.5), instead of liquidation_threshold = 1 / ratio"},
    {"liquidation_bonus", "number", "0",
     "aave: bonus to the liquidator; compound_v2: liquidation incentive - 1; maker: liquidation penalty (chop - 1); in [0, 1]"},
    {"reserve_factor", "number", "0.1", "share of the interest paid to the protocol's reserves, in [0, 1]"},
    {"supply_cap", "number", "unlimited", "tokens; total supply may not exceed it (> 0)"},
    {"borrow_cap", "number", "unlimited", "tokens; total debt may not exceed it (> 0)"},
    {"borrowable", "boolean", "true", "whether positions may borrow this asset"},
    {"rate", "map", "{}",
     "kinked borrow-rate curve, annualised: {base_rate: 0, slope_below_kink: 0.04, slope_above_kink: 0.75, "
     "optimal_utilisation: 0.8}; maker: the stability fee is base_rate with both slopes 0"},
};

constexpr KeySpec rate_keys[] = {
    {"base_rate", "number", "0", "borrow rate at zero utilisation, annualised (>= 0)"},
    {"slope_below_kink", "number", "0.04", "added to the rate from zero to optimal utilisation (>= 0)"},
    {"slope_above_kink", "number", "0.75", "added from optimal to full utilisation (>= 0)"},
    {"optimal_utilisation", "number", "0.8", "the kink, in (0, 1]"},
};

constexpr KeySpec auction_keys[] = {
    {"buf", "number", "1.2", "starting price = oracle price x buf (>= 1)"},
    {"decay", "string", "stairstep_exponential", "linear | stairstep_exponential | exponential (Maker abaci.sol)"},
    {"tau_seconds", "number", "3600", "linear: seconds for the price to reach zero (> 0)"},
    {"cut", "number", "0.99", "exponential kinds: price multiplier per step (per second for exponential), in (0, 1)"},
    {"step_seconds", "number", "90", "stairstep_exponential: seconds per step (> 0)"},
    {"tail_seconds", "number", "7200", "an auction older than this is stale (> 0)"},
    {"cusp", "number", "0.4", "an auction whose price fell below cusp x its starting price is stale, in [0, 1)"},
    {"reset", "boolean", "true",
     "true: keepers reset a stale auction to oracle x buf (clip.redo); false: a stale auction closes, its "
     "collateral left goes to the protocol and its debt left is bad debt"},
};

constexpr KeySpec sweep_keys[] = {
    {"grid", "map key -> list", "none",
     "one scenario per combination of the listed values (first key varies slowest)"},
    {"list", "list of maps key -> value", "none", "one scenario per entry"},
    {"latin_hypercube", "map", "none",
     "`points` scenarios over ranges of values, one in each of `points` equal strata of every range"},
    {"sobol", "map", "none", "`points` scenarios over ranges of values: the first points of the Sobol sequence"},
};

constexpr KeySpec latin_hypercube_keys[] = {
    {"points", "integer", "",
     "scenarios, in [1, 100000]; every range is cut into `points` equal strata (in log space with scale: log) and "
     "each stratum gets exactly one scenario, the strata of each key in a random order"},
    {"seed", "integer", "(experiment.seed)",
     "seed of the strata orders and positions, in [0, 4294967295]; the design is a function of (seed, points, "
     "ranges) only (Philox streams, the same on every machine)"},
    {"centered", "boolean", "false", "true: each scenario at its stratum's midpoint; false: at a uniform point in it"},
    {"ranges", "map key -> range", "",
     "the swept keys (dotted paths, as in grid) and their ranges: see sweep.<design>.ranges.<key>"},
};

constexpr KeySpec sobol_keys[] = {
    {"points", "integer", "",
     "scenarios, in [1, 100000]: points 0 .. points-1 of the unscrambled Sobol sequence (Joe and Kuo 2008 "
     "direction numbers, Gray-code order), point 0 being every range's low; with `points` a power of 2, each "
     "range's `points` equal intervals hold exactly one scenario"},
    {"ranges", "map key -> range", "",
     "the swept keys (dotted paths, as in grid) and their ranges, at most 32: see sweep.<design>.ranges.<key>"},
};

constexpr KeySpec sweep_range_keys[] = {
    {"low", "number", "", "the lowest value (inclusive)"},
    {"high", "number", "", "the highest value, > low (not reached, unless integer: true)"},
    {"scale", "string", "linear", "linear or log (log: the design is uniform in log(value); needs low > 0)"},
    {"integer", "boolean", "false",
     "true: integer values low, ..., high (both integers), each an equal share of the range: the integer part "
     "of the value the design gives on [low, high + 1)"},
};
constexpr std::string_view sweep_scale_names[] = {"linear", "log"};

constexpr std::string_view market_types[] = {"cpmm", "twamm", "lending", "gmx_glp", "gtrade_vault", "vamm"};
constexpr std::string_view oracle_type_names[] = {"reference", "push", "delayed", "median", "pool_twap"};
constexpr std::string_view gas_model_names[] = {"spike", "constant"};
constexpr std::string_view lending_rule_names[] = {"aave_v2", "aave_v3", "compound_v2", "maker"};
constexpr std::string_view decay_names[] = {"linear", "stairstep_exponential", "exponential"};
constexpr std::string_view process_names[] = {"gbm", "jump_diffusion", "replay"};
constexpr std::string_view ordering_names[] = {"fifo", "random", "priority_fee", "mev", "private"};

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

core::AssetIndex resolve_asset(const ConfigNode& node, const std::vector<std::string>& assets) {
  return static_cast<core::AssetIndex>(config::resolve_name(node, node.as_string(), assets, "asset"));
}

// A map asset -> number over exactly the risky assets (every one present unless
// a fallback is given); values checked by `check`.
template <typename Check>
Eigen::VectorXd per_asset(const ConfigNode& node, const ScenarioSpec& spec, bool required,
                          double fallback, Check check) {
  Eigen::VectorXd values = Eigen::VectorXd::Constant(static_cast<Eigen::Index>(spec.risky_assets.size()), fallback);
  std::vector<bool> seen(spec.risky_assets.size(), false);
  for (auto& [name, value] : node.entries()) {
    const auto asset_index = static_cast<core::AssetIndex>(config::resolve_name(value, name, spec.assets, "asset"));
    if (asset_index == spec.numeraire) {
      value.fail(fmt::format("'{}' is the numeraire: its price is 1 by definition", name));
    }
    const auto position = static_cast<std::size_t>(
        std::find(spec.risky_assets.begin(), spec.risky_assets.end(), asset_index) - spec.risky_assets.begin());
    values(static_cast<Eigen::Index>(position)) = check(value, value.as_number());
    seen[position] = true;
  }
  if (required) {
    for (std::size_t i = 0; i < seen.size(); ++i) {
      if (!seen[i]) node.fail(fmt::format("missing asset '{}' (every non-numeraire asset needs a value)",
                                          spec.assets[spec.risky_assets[i]]));
    }
  }
  return values;
}

void parse_experiment_section(const ConfigNode& node, ScenarioSpec& spec) {
  node.check_keys(experiment_keys);
  spec.name = node.child("name").as_string();
  if (spec.name.empty()) node.child("name").fail("must not be empty");
  spec.seed = static_cast<std::uint64_t>(node.integer_at_least("seed", 1, 0));
  if (spec.seed > 0xFFFFFFFFull) node.child("seed").fail(fmt::format("{} is out of range; valid: [0, 4294967295]", spec.seed));
  spec.paths = static_cast<std::uint64_t>(node.integer_at_least("paths", 1000, 1));
  if (spec.paths > 0xFFFFFFFFull) node.child("paths").fail("too many paths; at most 4294967295");
  spec.blocks = static_cast<std::uint64_t>(node.integer_at_least("blocks", 7200, 1));
  spec.block_time_seconds = node.number_in("block_time", 12.0, 0.0, false, 86400.0 * 365, true);
  if (node.has("record")) {
    const ConfigNode record = node.child("record");
    record.check_keys(record_keys);
    spec.record_every = static_cast<std::uint64_t>(record.integer_at_least("every", 60, 1));
    spec.record_compression = static_cast<int>(record.integer_at_least("compression", 0, 0));
    if (spec.record_compression > 9) {
      record.child("compression").fail(fmt::format("{} is not a deflate level; valid: 0 to 9", spec.record_compression));
    }
  }
  spec.antithetic = node.boolean("antithetic", false);
  if (spec.antithetic && spec.paths % 2 != 0) {
    node.child("paths").fail(fmt::format("antithetic pairs need an even number of paths, got {}", spec.paths));
  }
  spec.batch_paths = static_cast<std::uint64_t>(node.integer_at_least("batch_paths", 512, 1));
  spec.check_conservation = node.boolean("check_conservation", false);
  spec.skip_idle_agents = node.boolean("skip_idle_agents", true);
}

// After the price: the shift is per risky asset, and only a process with
// normal shocks can be tilted.
void parse_importance_sampling(const ConfigNode& experiment, ScenarioSpec& spec) {
  if (!experiment.has("importance_sampling")) return;
  const ConfigNode node = experiment.child("importance_sampling");
  node.check_keys(importance_keys);
  if (std::holds_alternative<core::ReplayParams>(spec.price)) {
    node.fail("importance sampling tilts the normal shocks of a gbm or jump_diffusion price; a replay has none");
  }
  if (spec.antithetic) {
    node.fail("importance sampling and antithetic pairs cannot be combined (the pair's mirror is not a draw of the "
              "tilted process); set antithetic: false");
  }
  spec.importance_shift_log_return = per_asset(node.child("shift_log_return"), spec, false, 0.0,
                                               [](const ConfigNode& value, double shift) {
                                                 return value.in_range(shift, -20.0, true, 20.0, true);
                                               });
}

void parse_assets(const ConfigNode& root, ScenarioSpec& spec) {
  const ConfigNode assets = root.child("assets");
  for (const ConfigNode& asset : assets.elements()) {
    std::string name = asset.as_string();
    if (name.empty()) asset.fail("asset names must not be empty");
    if (std::find(spec.assets.begin(), spec.assets.end(), name) != spec.assets.end()) {
      asset.fail(fmt::format("asset '{}' is listed twice", name));
    }
    spec.assets.push_back(std::move(name));
  }
  if (spec.assets.size() < 2) assets.fail("at least two assets are needed (a risky asset and a numeraire)");
  if (spec.assets.size() > 1000) assets.fail("at most 1000 assets");
  spec.numeraire = resolve_asset(root.child("numeraire"), spec.assets);
  for (std::size_t i = 0; i < spec.assets.size(); ++i) {
    if (i != spec.numeraire) spec.risky_assets.push_back(static_cast<core::AssetIndex>(i));
  }
}

void parse_chain(const ConfigNode& root, ScenarioSpec& spec) {
  const bool present = root.has("chain");
  const ConfigNode chain = present ? root.child("chain") : root;
  if (present) chain.check_keys(chain_keys);
  if (present && chain.has("native_asset")) {
    spec.native_asset = resolve_asset(chain.child("native_asset"), spec.assets);
  } else {
    const auto eth = std::find(spec.assets.begin(), spec.assets.end(), "ETH");
    if (eth == spec.assets.end()) {
      (present ? chain : root).fail("no ETH among the assets: set chain.native_asset to the asset gas is paid in");
    }
    spec.native_asset = static_cast<core::AssetIndex>(eth - spec.assets.begin());
  }
  if (!present) return;
  spec.gas_price_gwei = chain.number_in("gas_price_gwei", 0.0, 0.0, true, 1e7, true);
  if (chain.has("ordering")) {
    const std::string ordering = chain.child("ordering").one_of(chain.child("ordering").as_string(), ordering_names);
    spec.ordering = ordering == "fifo"           ? Ordering::fifo
                    : ordering == "random"       ? Ordering::random
                    : ordering == "priority_fee" ? Ordering::priority_fee
                    : ordering == "mev"          ? Ordering::mev
                                                 : Ordering::private_;
  }
  spec.max_transactions_per_block =
      static_cast<std::uint32_t>(chain.integer_in("max_transactions_per_block", 256, 1, 1000000));
  spec.gas_process = core::ConstantGasParams{spec.gas_price_gwei};
  spec.gas_process_asset = spec.native_asset;
  if (chain.has("gas_process")) {
    const ConfigNode gas = chain.child("gas_process");
    gas.check_keys(gas_process_keys);
    const std::string model = gas.has("model") ? gas.child("model").one_of(gas.child("model").as_string(), gas_model_names) : "spike";
    if (model == "constant") return;
    if (!(spec.gas_price_gwei > 0.0)) gas.fail("a spike process multiplies the base price: set chain.gas_price_gwei > 0");
    core::SpikeGasParams spike;
    spike.base_gwei = spec.gas_price_gwei;
    spike.spike_per_percent_drop = gas.number_in("spike_per_percent_drop", 1.0, 0.0, true, 1e6, true);
    spike.half_life_seconds = gas.number_in("half_life_seconds", 600.0, 0.0, false, INFINITY, true);
    spike.cap_gwei = gas.number_in("cap_gwei", INFINITY, spec.gas_price_gwei, true, INFINITY, true);
    if (gas.has("asset")) spec.gas_process_asset = resolve_asset(gas.child("asset"), spec.assets);
    if (spec.gas_process_asset == spec.numeraire) {
      (gas.has("asset") ? gas.child("asset") : gas).fail("the numeraire's price never drops: choose a risky asset with `asset`");
    }
    spec.gas_process = spike;
  }
}

// After the markets: a pool_twap oracle names a pool.
void parse_oracles(const ConfigNode& root, ScenarioSpec& spec) {
  spec.oracles.assign(spec.assets.size(), core::ReferenceOracleParams{});
  spec.oracle_pools.assign(spec.assets.size(), core::no_market);
  if (!root.has("oracles")) return;
  for (auto& [name, node] : root.child("oracles").entries()) {
    const auto asset = static_cast<core::AssetIndex>(config::resolve_name(node, name, spec.assets, "asset"));
    if (asset == spec.numeraire) node.fail(fmt::format("'{}' is the numeraire: its price is 1 by definition", name));
    node.check_keys(oracle_keys);
    const std::string type = node.child("type").one_of(node.child("type").as_string(), oracle_type_names);
    auto allow_only = [&](std::initializer_list<std::string_view> keys) {
      for (auto& [key, value] : node.entries()) {
        if (key != "type" && std::find(keys.begin(), keys.end(), key) == keys.end()) {
          value.fail(fmt::format("not used by a {} oracle", type));
        }
      }
    };
    auto delay = [&](std::int64_t fallback) {
      const std::int64_t blocks = node.integer_in("delay_blocks", fallback, 0, 1000000);
      return static_cast<std::uint64_t>(blocks);
    };
    if (type == "reference") {
      allow_only({});
    } else if (type == "push") {
      allow_only({"deviation", "heartbeat_seconds"});
      spec.oracles[asset] = core::PushOracleParams{node.number_in("deviation", 0.005, 0.0, true, 1.0, false),
                                                   node.number_in("heartbeat_seconds", 3600.0, 0.0, false, INFINITY, true)};
    } else if (type == "delayed") {
      allow_only({"delay_blocks"});
      node.child("delay_blocks");  // required
      spec.oracles[asset] = core::DelayedOracleParams{delay(1)};
    } else if (type == "median") {
      allow_only({"sources", "noise", "delay_blocks"});
      const std::int64_t sources = node.integer_in("sources", 5, 1, 101);
      spec.oracles[asset] = core::MedianOracleParams{static_cast<std::size_t>(sources),
                                                     node.number_in("noise", 0.0, 0.0, true, 1.0, true), delay(0)};
    } else {
      allow_only({"market", "window_seconds"});
      const ConfigNode market = node.child("market");
      const auto index = static_cast<core::MarketIndex>(config::resolve_name(market, market.as_string(), spec.market_ids, "market"));
      const markets::CpmmParams* pool = markets::constant_product_params(spec.markets[index]);
      if (pool == nullptr || (pool->asset_x != asset && pool->asset_y != asset)) {
        market.fail(fmt::format("a pool_twap oracle of {} needs a constant-product pool trading {}", name, name));
      }
      const double window = node.number_in("window_seconds", 1800.0, spec.block_time_seconds, true, INFINITY, false);
      const double blocks = std::round(window / spec.block_time_seconds);
      if (blocks > 1000000) node.child("window_seconds").fail("at most 1000000 blocks");
      spec.oracles[asset] = core::PoolTwapOracleParams{static_cast<std::uint64_t>(blocks)};
      spec.oracle_pools[asset] = index;
    }
    try {
      core::validate(spec.oracles[asset]);
    } catch (const std::invalid_argument& error) {
      node.fail(error.what());
    }
  }
}

std::shared_ptr<const std::vector<Eigen::VectorXd>> read_replay_csv(const ConfigNode& file_node,
                                                                      const std::string& path,
                                                                      const ScenarioSpec& spec,
                                                                      Eigen::VectorXd& first_prices) {
  std::ifstream stream(path);
  if (!stream) file_node.fail(fmt::format("cannot open price file '{}'", path));
  std::string line;
  if (!std::getline(stream, line)) file_node.fail(fmt::format("'{}' is empty: expected a header row", path));
  auto split = [](const std::string& text) {
    std::vector<std::string> fields;
    std::stringstream fields_stream(text);
    std::string field;
    while (std::getline(fields_stream, field, ',')) {
      field.erase(0, field.find_first_not_of(" \t\r"));
      field.erase(field.find_last_not_of(" \t\r") + 1);
      fields.push_back(field);
    }
    return fields;
  };
  const std::vector<std::string> header = split(line);
  std::vector<std::size_t> column_of(spec.risky_assets.size());
  for (std::size_t i = 0; i < spec.risky_assets.size(); ++i) {
    const std::string& asset = spec.assets[spec.risky_assets[i]];
    const auto it = std::find(header.begin(), header.end(), asset);
    if (it == header.end()) {
      file_node.fail(fmt::format("{}:1: no column '{}' in the header (columns: {})", path, asset, join_names(header)));
    }
    column_of[i] = static_cast<std::size_t>(it - header.begin());
  }
  std::vector<Eigen::VectorXd> log_prices;
  std::size_t row = 1;
  while (std::getline(stream, line)) {
    ++row;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::vector<std::string> fields = split(line);
    Eigen::VectorXd logs(static_cast<Eigen::Index>(spec.risky_assets.size()));
    for (std::size_t i = 0; i < column_of.size(); ++i) {
      double price = NAN;
      const std::string field = column_of[i] < fields.size() ? fields[column_of[i]] : "";
      try {
        std::size_t used = 0;
        price = std::stod(field, &used);
        if (used != field.size()) price = NAN;
      } catch (const std::exception&) {
        price = NAN;
      }
      if (!(price > 0.0) || !std::isfinite(price)) {
        file_node.fail(fmt::format("{}:{}: column '{}': expected a positive price, got '{}'", path, row,
                                   header[column_of[i]], field));
      }
      logs(static_cast<Eigen::Index>(i)) = std::log(price);
    }
    log_prices.push_back(logs);
  }
  if (log_prices.size() < 2) file_node.fail(fmt::format("'{}' needs at least two rows of prices", path));
  first_prices = log_prices.front().array().exp();
  auto returns = std::make_shared<std::vector<Eigen::VectorXd>>();
  for (std::size_t t = 0; t + 1 < log_prices.size(); ++t) returns->push_back(log_prices[t + 1] - log_prices[t]);
  return returns;
}

void parse_price(const ConfigNode& root, ScenarioSpec& spec, const std::string& config_dir) {
  const ConfigNode price = root.child("price");
  price.check_keys(price_keys);
  const std::string process =
      price.has("process") ? price.child("process").one_of(price.child("process").as_string(), process_names) : "gbm";
  spec.initial_prices = per_asset(price.child("initial"), spec, true, 0.0, [](const ConfigNode& n, double v) {
    return n.in_range(v, 0.0, false, INFINITY, false);
  });
  const auto n = static_cast<Eigen::Index>(spec.risky_assets.size());
  auto require_absent = [&](std::string_view key, const char* why) {
    if (price.has(key)) price.child(key).fail(fmt::format("not used by process '{}': {}", process, why));
  };
  if (process == "replay") {
    require_absent("volatility", "a replay takes its moves from the data");
    require_absent("drift", "a replay takes its moves from the data");
    require_absent("correlation", "a replay takes its moves from the data");
    require_absent("jumps", "only jump_diffusion has jumps");
    const ConfigNode replay = price.child("replay");
    replay.check_keys(replay_keys);
    const ConfigNode file = replay.child("file");
    std::filesystem::path path = file.as_string();
    if (path.is_relative()) path = std::filesystem::path(config_dir) / path;
    core::ReplayParams params;
    params.bootstrap_block_length = static_cast<std::uint64_t>(replay.integer_at_least("bootstrap_block_length", 0, 0));
    Eigen::VectorXd first_prices;
    params.log_returns = read_replay_csv(file, path.lexically_normal().string(), spec, first_prices);
    if (params.bootstrap_block_length == 0) {
      if (params.log_returns->size() < spec.blocks) {
        file.fail(fmt::format("'{}' has {} rows; replaying {} blocks needs {} (or set bootstrap_block_length)",
                              path.string(), params.log_returns->size() + 1, spec.blocks, spec.blocks + 1));
      }
      // Replaying as is starts at the data's first prices, which must agree with price.initial.
      for (Eigen::Index i = 0; i < n; ++i) {
        if (std::fabs(first_prices(i) / spec.initial_prices(i) - 1.0) > 1e-9) {
          price.child("initial").fail(fmt::format(
              "price.initial of {} is {} but the replayed file starts at {}; make them equal",
              spec.assets[spec.risky_assets[static_cast<std::size_t>(i)]], spec.initial_prices(i), first_prices(i)));
        }
      }
    } else if (params.bootstrap_block_length > params.log_returns->size()) {
      replay.child("bootstrap_block_length").fail(fmt::format(
          "{} is longer than the {} returns in the file", params.bootstrap_block_length, params.log_returns->size()));
    }
    spec.price = params;
    return;
  }
  require_absent("replay", "only the replay process reads a file");
  core::GbmParams gbm;
  gbm.volatility = per_asset(price.child("volatility"), spec, true, 0.0, [](const ConfigNode& node, double v) {
    return node.in_range(v, 0.0, true, 10.0, true);
  });
  gbm.drift = price.has("drift") ? per_asset(price.child("drift"), spec, false, 0.0, [](const ConfigNode& node, double v) {
    return node.in_range(v, -1e5, true, 1e5, true);
  }) : Eigen::VectorXd::Zero(n);
  gbm.correlation = Eigen::MatrixXd::Identity(n, n);
  if (price.has("correlation")) {
    const ConfigNode correlation = price.child("correlation");
    if (correlation.size() != static_cast<std::size_t>(n)) {
      correlation.fail(fmt::format("expected a {}x{} matrix (one row per non-numeraire asset), got {} rows", n, n,
                                   correlation.size()));
    }
    for (Eigen::Index i = 0; i < n; ++i) {
      const ConfigNode row = correlation.element(static_cast<std::size_t>(i));
      if (row.size() != static_cast<std::size_t>(n)) row.fail(fmt::format("expected {} entries, got {}", n, row.size()));
      for (Eigen::Index j = 0; j < n; ++j) {
        const ConfigNode entry = row.element(static_cast<std::size_t>(j));
        gbm.correlation(i, j) = entry.in_range(entry.as_number(), -1.0, true, 1.0, true);
      }
    }
    try {
      core::correlation_cholesky(gbm.correlation);
    } catch (const std::invalid_argument& error) {
      correlation.fail(error.what());
    }
  }
  if (process == "gbm") {
    require_absent("jumps", "only jump_diffusion has jumps");
    spec.price = gbm;
    return;
  }
  core::JumpDiffusionParams jump;
  jump.diffusion = gbm;
  const ConfigNode jumps = price.child("jumps");
  jumps.check_keys(jumps_keys);
  jump.jump_intensity_per_year = per_asset(jumps.child("intensity_per_year"), spec, true, 0.0,
                                           [](const ConfigNode& node, double v) { return node.in_range(v, 0.0, true, 1e6, true); });
  jump.jump_mean = jumps.has("mean") ? per_asset(jumps.child("mean"), spec, false, 0.0, [](const ConfigNode& node, double v) {
    return node.in_range(v, -5.0, true, 5.0, true);
  }) : Eigen::VectorXd::Zero(n);
  jump.jump_stdev = jumps.has("stdev") ? per_asset(jumps.child("stdev"), spec, false, 0.0, [](const ConfigNode& node, double v) {
    return node.in_range(v, 0.0, true, 5.0, true);
  }) : Eigen::VectorXd::Zero(n);
  spec.price = jump;
}

markets::InterestRateCurve parse_rate(const ConfigNode& node) {
  node.check_keys(rate_keys);
  markets::InterestRateCurve rate;
  rate.base_rate = node.number_in("base_rate", 0.0, 0.0, true, 100.0, true);
  rate.slope_below_kink = node.number_in("slope_below_kink", 0.04, 0.0, true, 100.0, true);
  rate.slope_above_kink = node.number_in("slope_above_kink", 0.75, 0.0, true, 100.0, true);
  rate.optimal_utilisation = node.number_in("optimal_utilisation", 0.8, 0.0, false, 1.0, true);
  return rate;
}

markets::LendingParams parse_lending(const ConfigNode& market, const ScenarioSpec& spec) {
  markets::LendingParams params;
  if (market.has("rules")) {
    const std::string rules = market.child("rules").one_of(market.child("rules").as_string(), lending_rule_names);
    params.rules = rules == "aave_v2"       ? markets::LendingRules::aave_v2
                   : rules == "aave_v3"     ? markets::LendingRules::aave_v3
                   : rules == "compound_v2" ? markets::LendingRules::compound_v2
                                            : markets::LendingRules::maker;
  }
  const bool maker = params.rules == markets::LendingRules::maker;
  const ConfigNode assets = market.child("assets");
  if (!assets.is_map() || assets.entries().empty()) assets.fail("expected a map asset -> parameters, with at least one asset");
  if (assets.entries().size() > markets::max_lending_assets) {
    assets.fail(fmt::format("a lending market lists at most {} assets", markets::max_lending_assets));
  }
  for (auto& [name, node] : assets.entries()) {
    node.check_keys(lending_asset_keys);
    markets::LendingAssetParams asset;
    asset.asset = static_cast<core::AssetIndex>(config::resolve_name(node, name, spec.assets, "asset"));
    asset.initial_supply = node.number_in("initial_supply", 0.0, 0.0, true, INFINITY, false);
    asset.loan_to_value = node.number_in("loan_to_value", 0.0, 0.0, true, 1.0, true);
    if (node.has("liquidation_ratio")) {
      if (!maker) node.child("liquidation_ratio").fail("only maker vaults have a liquidation ratio; use liquidation_threshold");
      if (node.has("liquidation_threshold")) {
        node.child("liquidation_ratio").fail("give liquidation_ratio or liquidation_threshold, not both");
      }
      const ConfigNode ratio = node.child("liquidation_ratio");
      asset.liquidation_threshold = 1.0 / ratio.in_range(ratio.as_number(), 1.0, false, 100.0, true);
      if (!node.has("loan_to_value")) asset.loan_to_value = asset.liquidation_threshold;
    } else {
      asset.liquidation_threshold = node.number_in("liquidation_threshold", asset.loan_to_value, 0.0, true, 1.0, true);
    }
    if (asset.liquidation_threshold < asset.loan_to_value) {
      node.fail(fmt::format("liquidation_threshold {} is below loan_to_value {}: a position could borrow straight "
                            "into liquidation",
                            asset.liquidation_threshold, asset.loan_to_value));
    }
    asset.liquidation_bonus = node.number_in("liquidation_bonus", 0.0, 0.0, true, 1.0, true);
    // Aave v2 LendingPoolConfigurator.configureReserveAsCollateral requires
    // liquidationThreshold x liquidationBonus <= 100%.
    const bool aave = params.rules == markets::LendingRules::aave_v2 || params.rules == markets::LendingRules::aave_v3;
    if (aave && asset.liquidation_threshold * (1.0 + asset.liquidation_bonus) > 1.0) {
      node.fail(fmt::format("liquidation_threshold x (1 + liquidation_bonus) = {} exceeds 1: every liquidation would "
                            "leave the position less healthy (Aave requires it to be below 1)",
                            asset.liquidation_threshold * (1.0 + asset.liquidation_bonus)));
    }
    asset.reserve_factor = node.number_in("reserve_factor", 0.1, 0.0, true, 1.0, true);
    asset.supply_cap = node.number_in("supply_cap", INFINITY, 0.0, false, INFINITY, true);
    asset.borrow_cap = node.number_in("borrow_cap", INFINITY, 0.0, false, INFINITY, true);
    asset.borrowable = node.boolean("borrowable", true);
    if (node.has("rate")) asset.rate = parse_rate(node.child("rate"));
    for (const markets::LendingAssetParams& other : params.assets) {
      if (other.asset == asset.asset) node.fail(fmt::format("asset '{}' is listed twice", name));
    }
    params.assets.push_back(asset);
  }
  params.close_factor = market.number_in("close_factor", 0.5, 0.0, false, 1.0, true);
  params.full_liquidation_health_factor = market.number_in("full_liquidation_health_factor", 0.95, 0.0, false, 1.0, true);
  params.liquidation_protocol_fee = market.number_in("liquidation_protocol_fee", 0.0, 0.0, true, 1.0, true);
  params.protocol_seize_share = market.number_in("protocol_seize_share", 0.028, 0.0, true, 1.0, false);
  const std::int64_t max_positions = market.integer_in("max_positions", 100000, 1, 10000000);
  params.max_positions = static_cast<std::uint32_t>(max_positions);
  const std::int64_t max_auctions = market.integer_in("max_auctions", 4096, 1, 10000000);
  params.max_auctions = static_cast<std::uint32_t>(max_auctions);
  if (market.has("auction")) {
    const ConfigNode auction = market.child("auction");
    if (!maker) auction.fail("only maker vaults are liquidated by auction; remove `auction` or set rules: maker");
    auction.check_keys(auction_keys);
    markets::AuctionParams& params_auction = params.auction;
    params_auction.buf = auction.number_in("buf", 1.2, 1.0, true, 100.0, true);
    if (auction.has("decay")) {
      const std::string decay = auction.child("decay").one_of(auction.child("decay").as_string(), decay_names);
      params_auction.decay = decay == "linear"                  ? markets::AuctionDecay::linear
                             : decay == "stairstep_exponential" ? markets::AuctionDecay::stairstep_exponential
                                                                : markets::AuctionDecay::exponential;
    }
    params_auction.tau_seconds = auction.number_in("tau_seconds", 3600.0, 0.0, false, INFINITY, false);
    params_auction.cut = auction.number_in("cut", 0.99, 0.0, false, 1.0, false);
    params_auction.step_seconds = auction.number_in("step_seconds", 90.0, 0.0, false, INFINITY, false);
    params_auction.tail_seconds = auction.number_in("tail_seconds", 7200.0, 0.0, false, INFINITY, false);
    params_auction.cusp = auction.number_in("cusp", 0.4, 0.0, true, 1.0, false);
    params_auction.reset = auction.boolean("reset", true);
  }
  if (maker) {
    std::size_t collateral = 0, debt = 0;
    for (const markets::LendingAssetParams& asset : params.assets) {
      collateral += asset.liquidation_threshold > 0.0 ? 1 : 0;
      debt += asset.borrowable ? 1 : 0;
    }
    if (debt != 1) assets.fail("a maker market mints one stablecoin: exactly one asset must be borrowable (set borrowable: false on the collateral)");
    if (collateral == 0) assets.fail("a maker market needs a collateral asset (liquidation_ratio)");
  }
  return params;
}

void parse_markets(const ConfigNode& root, ScenarioSpec& spec) {
  const ConfigNode markets = root.child("markets");
  if (markets.size() == 0) markets.fail("at least one market is needed");
  for (const ConfigNode& market : markets.elements()) {
    if (!market.is_map()) market.fail("expected a map with `id` and `type`");
    const ConfigNode type_node = market.child("type");
    const std::string type = type_node.one_of(type_node.as_string(), market_types);
    market.check_keys(type == "twamm"                ? std::span<const KeySpec>(twamm_keys)
                      : type == "lending"            ? std::span<const KeySpec>(lending_keys)
                      : is_perp_market_type(type)    ? perp_market_keys(type)
                                                     : std::span<const KeySpec>(cpmm_keys));
    std::string id = market.child("id").as_string();
    if (id.empty() || id.find_first_of(".[]= ") != std::string::npos) {
      market.child("id").fail("ids must be non-empty and contain no '.', '[', ']', '=' or spaces");
    }
    if (std::find(spec.market_ids.begin(), spec.market_ids.end(), id) != spec.market_ids.end()) {
      market.child("id").fail(fmt::format("market id '{}' is used twice", id));
    }
    if (is_perp_market_type(type)) {
      spec.markets.emplace_back(parse_perp_market(market, type, spec));
      spec.market_ids.push_back(std::move(id));
      continue;
    }
    if (type == "lending") {
      spec.markets.emplace_back(parse_lending(market, spec));
      spec.market_ids.push_back(std::move(id));
      continue;
    }
    markets::CpmmParams params;
    const ConfigNode pair = market.child("pair");
    if (pair.size() != 2) pair.fail(fmt::format("a {} pair has exactly 2 assets, got {}", type, pair.size()));
    params.asset_x = resolve_asset(pair.element(0), spec.assets);
    params.asset_y = resolve_asset(pair.element(1), spec.assets);
    if (params.asset_x == params.asset_y) pair.fail("the two assets of a pair must differ");
    const ConfigNode reserves = market.child("reserves");
    bool have_x = false, have_y = false;
    for (auto& [name, value] : reserves.entries()) {
      const auto it = std::find(spec.assets.begin(), spec.assets.end(), name);
      const auto index = it == spec.assets.end() ? core::AssetIndex(0xFFFF) : static_cast<core::AssetIndex>(it - spec.assets.begin());
      if (index != params.asset_x && index != params.asset_y) {
        value.fail(fmt::format("'{}' is not in this pool's pair [{}, {}]", name, spec.assets[params.asset_x],
                               spec.assets[params.asset_y]));
      }
      const double amount = value.in_range(value.as_number(), 0.0, false, INFINITY, false);
      if (index == params.asset_x) {
        params.reserve_x = amount;
        have_x = true;
      } else {
        params.reserve_y = amount;
        have_y = true;
      }
    }
    if (!have_x || !have_y) {
      reserves.fail(fmt::format("missing reserve of '{}'", spec.assets[!have_x ? params.asset_x : params.asset_y]));
    }
    params.fee = market.number_in("fee", 0.003, 0.0, true, 1.0, false);
    spec.market_ids.push_back(std::move(id));
    if (type == "twamm") {
      markets::TwammParams twamm;
      twamm.pool = params;
      twamm.order_interval_blocks = static_cast<std::uint64_t>(market.integer_at_least("order_interval_blocks", 300, 1));
      twamm.max_orders = static_cast<std::uint32_t>(market.integer_in("max_orders", 256, 1, 1000000));
      spec.markets.emplace_back(twamm);
    } else {
      spec.markets.emplace_back(params);
    }
  }
}

void parse_agents(const ConfigNode& root, ScenarioSpec& spec) {
  if (!root.has("agents")) return;
  agents::WorldNames names;
  names.assets = spec.assets;
  names.numeraire = spec.numeraire;
  names.native_asset = spec.native_asset;
  names.market_ids = spec.market_ids;
  names.markets = spec.markets;
  names.initial_prices = spec.initial_prices_by_asset();
  names.base_gas_price_gwei = spec.gas_price_gwei;

  std::vector<std::string_view> type_names;
  for (const auto& type : agents::agent_types()) type_names.push_back(type.type);
  const ConfigNode agent_list = root.child("agents");
  for (const ConfigNode& agent : agent_list.elements()) {
    if (!agent.is_map()) agent.fail("expected a map with a `type`");
    const ConfigNode type_node = agent.child("type");
    const std::string type = type_node.one_of(type_node.as_string(), type_names);
    const agents::AgentType& agent_type = *agents::find_agent_type(type);
    std::vector<KeySpec> keys(agents::common_agent_keys().begin(), agents::common_agent_keys().end());
    keys.insert(keys.end(), agent_type.keys.begin(), agent_type.keys.end());
    agent.check_keys(keys);
    std::string id = agent.string("id", type);
    if (id.empty() || id.find_first_of(".[]= ") != std::string::npos) {
      (agent.has("id") ? agent.child("id") : agent).fail("ids must be non-empty and contain no '.', '[', ']', '=' or spaces");
    }
    for (const AgentSpec& other : spec.agents) {
      if (other.id == id) {
        (agent.has("id") ? agent.child("id") : agent)
            .fail(fmt::format("agent id '{}' is used twice; give each agent a unique `id`", id));
      }
    }
    if (std::find(spec.market_ids.begin(), spec.market_ids.end(), id) != spec.market_ids.end() || id == "chain" ||
        id == "reference") {
      (agent.has("id") ? agent.child("id") : agent)
          .fail(fmt::format("agent id '{}' clashes with a market id or a reserved name (chain, reference)", id));
    }
    spec.agents.push_back({std::move(id), type, agent_type.parse(agent, names)});
  }
  if (spec.agents.size() > 60000) agent_list.fail("at most 60000 agents");
}

std::shared_ptr<const ScenarioSpec> parse_scenario(const YAML::Node& root_yaml,
                                                   std::shared_ptr<const config::Origins> origins,
                                                   const std::string& config_dir) {
  const ConfigNode root(root_yaml, "", origins);
  root.check_keys(root_keys);
  auto spec = std::make_shared<ScenarioSpec>();
  parse_experiment_section(root.child("experiment"), *spec);
  parse_assets(root, *spec);
  parse_chain(root, *spec);
  parse_price(root, *spec, config_dir);
  parse_importance_sampling(root.child("experiment"), *spec);
  parse_markets(root, *spec);
  parse_oracles(root, *spec);
  parse_agents(root, *spec);
  return spec;
}

std::string emit(const YAML::Node& node) {
  YAML::Emitter emitter;
  emitter << node;
  return emitter.c_str();
}

// A scenario's overrides: key -> value node (a grid point, a list entry or a
// design's point), and where it is written in the file (for a design, its range).
struct SweepOverride {
  std::string key;
  YAML::Node value;
  YAML::Mark where;
};
using Overrides = std::vector<SweepOverride>;

constexpr std::size_t max_sweep_scenarios = 100000;

// experiment.seed, checked as parse_experiment_section does (1 if absent; a
// missing experiment section is reported when the scenario is parsed).
std::uint64_t experiment_seed(const ConfigNode& root) {
  if (!root.has("experiment") || !root.child("experiment").is_map()) return 1;
  const ConfigNode experiment = root.child("experiment");
  const auto seed = static_cast<std::uint64_t>(experiment.integer_at_least("seed", 1, 0));
  if (seed > 0xFFFFFFFFull) experiment.child("seed").fail(fmt::format("{} is out of range; valid: [0, 4294967295]", seed));
  return seed;
}

struct NamedRange {
  std::string key;
  sweep_design::Range range;
  YAML::Mark where;
};

// sweep.<design>.ranges: key -> {low, high, scale, integer}.
std::vector<NamedRange> parse_sweep_ranges(const ConfigNode& ranges) {
  std::vector<NamedRange> out;
  for (auto& [key, node] : ranges.entries()) {
    if (key.rfind("experiment", 0) == 0) node.fail("experiment settings cannot be swept");
    for (const NamedRange& other : out) {
      if (other.key == key) node.fail("key given twice in the same map");
    }
    if (!node.is_map()) node.fail(fmt::format("expected a range {{low: ..., high: ...}}, got {}", emit(node.yaml())));
    node.check_keys(sweep_range_keys);
    NamedRange named{key, {}, node.yaml().Mark()};
    sweep_design::Range& range = named.range;
    range.integer = node.boolean("integer", false);
    const ConfigNode low = node.child("low");
    const ConfigNode high = node.child("high");
    range.low = low.as_number();
    range.high = high.as_number();
    if (range.integer) {
      for (const auto& [bound, value] : {std::pair{&low, range.low}, std::pair{&high, range.high}}) {
        if (value != std::floor(value) || std::fabs(value) > 9.0e15) {
          bound->fail(fmt::format("{} is not an integer; integer: true needs integer low and high", value));
        }
      }
    }
    if (!(range.high > range.low)) {
      high.fail(fmt::format("{} is out of range; valid: high > low ({})", range.high, range.low));
    }
    if (!std::isfinite(range.high - range.low)) high.fail("the range is too wide: high - low must be finite");
    if (node.has("scale")) {
      const ConfigNode scale = node.child("scale");
      range.log_scale = scale.one_of(scale.as_string(), sweep_scale_names) == "log";
    }
    if (range.log_scale && !(range.low > 0.0)) {
      low.fail(fmt::format("{} is out of range; scale: log needs low > 0", range.low));
    }
    out.push_back(std::move(named));
  }
  if (out.empty()) ranges.fail("a design needs at least one range, e.g. ranges: {markets.pool.fee: {low: 0.001, high: 0.01}}");
  return out;
}

// sweep.latin_hypercube or sweep.sobol: one scenario per point of the design,
// each range's value written as YAML text that reads back exactly.
std::vector<Overrides> expand_design(const ConfigNode& design, bool is_sobol, const ConfigNode& root) {
  design.check_keys(is_sobol ? std::span<const KeySpec>(sobol_keys) : std::span<const KeySpec>(latin_hypercube_keys));
  const ConfigNode points_node = design.child("points");
  const std::int64_t points = points_node.at_least(points_node.as_integer(), 1);
  if (points > static_cast<std::int64_t>(max_sweep_scenarios)) {
    points_node.fail(fmt::format("{} scenarios is too many (at most {})", points, max_sweep_scenarios));
  }
  const std::vector<NamedRange> ranges = parse_sweep_ranges(design.child("ranges"));
  const auto n = static_cast<std::size_t>(points);
  sweep_design::UnitDesign unit;
  if (is_sobol) {
    if (ranges.size() > sweep_design::sobol_max_dimensions) {
      design.child("ranges").fail(fmt::format(
          "{} ranges; the Sobol direction numbers here cover {} dimensions, so at most {} keys (use "
          "latin_hypercube for more)", ranges.size(), sweep_design::sobol_max_dimensions,
          sweep_design::sobol_max_dimensions));
    }
    unit = sweep_design::sobol(n, ranges.size());
  } else {
    std::uint64_t seed = 0;
    if (design.has("seed")) {
      seed = static_cast<std::uint64_t>(design.integer_at_least("seed", 0, 0));
      if (seed > 0xFFFFFFFFull) design.child("seed").fail(fmt::format("{} is out of range; valid: [0, 4294967295]", seed));
    } else {
      seed = experiment_seed(root);
    }
    unit = sweep_design::latin_hypercube(n, ranges.size(), seed, design.boolean("centered", false));
  }
  std::vector<Overrides> scenarios(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < ranges.size(); ++j) {
      const NamedRange& named = ranges[j];
      const double value = sweep_design::map_to_range(unit.at(i, j), named.range);
      scenarios[i].push_back({named.key, YAML::Node(sweep_design::value_text(value, named.range.integer)), named.where});
    }
  }
  return scenarios;
}

std::vector<Overrides> expand_sweep(const ConfigNode& sweep, const ConfigNode& root) {
  sweep.check_keys(sweep_keys);
  const int designs = int{sweep.has("grid")} + int{sweep.has("list")} + int{sweep.has("latin_hypercube")} +
                      int{sweep.has("sobol")};
  if (designs != 1) sweep.fail("give exactly one of `grid`, `list`, `latin_hypercube` or `sobol`");
  std::vector<Overrides> scenarios;
  if (sweep.has("latin_hypercube")) return expand_design(sweep.child("latin_hypercube"), false, root);
  if (sweep.has("sobol")) return expand_design(sweep.child("sobol"), true, root);
  if (sweep.has("grid")) {
    scenarios.push_back({});
    for (auto& [key, values] : sweep.child("grid").entries()) {
      if (key.rfind("experiment", 0) == 0) values.fail("experiment settings cannot be swept");
      if (values.size() == 0) values.fail("a grid axis needs at least one value");
      std::vector<Overrides> next;
      for (const Overrides& partial : scenarios) {
        for (std::size_t i = 0; i < values.size(); ++i) {
          Overrides extended = partial;
          extended.push_back({key, values.yaml()[i], values.yaml()[i].Mark()});
          next.push_back(std::move(extended));
        }
      }
      scenarios = std::move(next);
    }
  } else {
    for (const ConfigNode& entry : sweep.child("list").elements()) {
      Overrides overrides;
      for (auto& [key, value] : entry.entries()) {
        if (key.rfind("experiment", 0) == 0) value.fail("experiment settings cannot be swept");
        overrides.push_back({key, value.yaml(), value.yaml().Mark()});
      }
      scenarios.push_back(std::move(overrides));
    }
    if (scenarios.empty()) sweep.child("list").fail("a sweep list needs at least one entry");
  }
  if (scenarios.size() > max_sweep_scenarios) {
    sweep.fail(fmt::format("{} scenarios is too many (at most {})", scenarios.size(), max_sweep_scenarios));
  }
  return scenarios;
}

YAML::Node parse_yaml(const std::string& text, const std::string& source_name) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& error) {
    throw core::ConfigError("<yaml syntax>",
                            core::SourceLocation{source_name, error.mark.line + 1, error.mark.column + 1}, error.msg);
  }
}

// The config tree after the --set overrides, with the replay file made
// absolute so the embedded config reproduces the run from anywhere. Parsed
// afresh each time (not YAML::Clone'd, which loses line and column marks).
YAML::Node resolved_tree(const std::string& text, const std::string& source_name, const std::string& config_dir,
                         const LoadOptions& options, config::Origins& origins) {
  YAML::Node root = parse_yaml(text, source_name);
  if (!root.IsMap()) {
    throw core::ConfigError("<root>", core::SourceLocation{source_name, 1, 1},
                            "expected a map with keys experiment, assets, numeraire, price, markets, agents");
  }
  for (std::size_t i = 0; i < options.assignments.size(); ++i) {
    const std::string& assignment = options.assignments[i];
    auto [key, value] = config::parse_assignment(assignment);
    const std::string origin = i < options.origins.size() && !options.origins[i].empty()
                                   ? options.origins[i]
                                   : "--set " + assignment;
    config::apply_override(root, key, value, origin);
    origins.overrides[key] = origin;
  }
  if (root["price"] && root["price"].IsMap() && root["price"]["replay"] && root["price"]["replay"].IsMap() &&
      root["price"]["replay"]["file"] && root["price"]["replay"]["file"].IsScalar()) {
    std::filesystem::path file = root["price"]["replay"]["file"].Scalar();
    if (file.is_relative()) {
      root["price"]["replay"]["file"] =
          std::filesystem::absolute(std::filesystem::path(config_dir) / file).lexically_normal().string();
    }
  }
  return root;
}

// A --set of a key the sweep also sets would be overridden in every scenario,
// silently: refuse it, naming both (one key, or one a prefix of the other).
void check_overrides_not_swept(const YAML::Node& root, const LoadOptions& options) {
  const YAML::Node sweep = root["sweep"];
  if (!sweep || !sweep.IsMap()) return;
  std::vector<std::pair<std::string, std::string>> swept;  // key, where in the sweep
  if (sweep["grid"] && sweep["grid"].IsMap()) {
    for (const auto& entry : sweep["grid"]) swept.emplace_back(entry.first.Scalar(), "sweep.grid");
  }
  if (sweep["list"] && sweep["list"].IsSequence()) {
    for (std::size_t k = 0; k < sweep["list"].size(); ++k) {
      if (!sweep["list"][k].IsMap()) continue;
      for (const auto& entry : sweep["list"][k]) {
        swept.emplace_back(entry.first.Scalar(), fmt::format("sweep.list[{}]", k));
      }
    }
  }
  for (const char* design : {"latin_hypercube", "sobol"}) {
    if (!sweep[design] || !sweep[design].IsMap()) continue;
    const YAML::Node ranges = sweep[design]["ranges"];
    if (!ranges || !ranges.IsMap()) continue;
    for (const auto& entry : ranges) swept.emplace_back(entry.first.Scalar(), fmt::format("sweep.{}.ranges", design));
  }
  auto covers = [](const std::string& outer, const std::string& inner) {
    return inner == outer || (inner.size() > outer.size() && inner.compare(0, outer.size(), outer) == 0 &&
                              (inner[outer.size()] == '.' || inner[outer.size()] == '['));
  };
  for (std::size_t i = 0; i < options.assignments.size(); ++i) {
    const std::string key = config::parse_assignment(options.assignments[i]).first;
    if (key.rfind("sweep", 0) == 0) continue;
    for (const auto& [swept_key, where] : swept) {
      if (!covers(key, swept_key) && !covers(swept_key, key)) continue;
      const std::string origin = i < options.origins.size() && !options.origins[i].empty()
                                     ? options.origins[i]
                                     : "--set " + options.assignments[i];
      const std::string example = where.rfind("sweep.grid", 0) == 0 || where.rfind("sweep.list", 0) == 0
                                      ? fmt::format("--set sweep.grid.{}=[...]", swept_key)
                                      : fmt::format("--set {}.{}={{low: ..., high: ...}}", where, swept_key);
      throw core::ConfigError(key, core::SourceLocation{origin, 0, 0},
                              fmt::format("'{}' is also set by {} ('{}'), which overrides it in every scenario; "
                                          "change the sweep instead, e.g. {}",
                                          key, where, swept_key, example));
    }
  }
}

Experiment load(const std::string& text, const std::string& source_name, const std::string& config_dir,
                const LoadOptions& options) {
  auto origins = std::make_shared<config::Origins>();
  origins->file = source_name;
  const YAML::Node root = resolved_tree(text, source_name, config_dir, options, *origins);
  check_overrides_not_swept(root, options);

  Experiment experiment;
  experiment.config_path = source_name;
  experiment.resolved_yaml = emit(root);

  std::vector<Overrides> sweep_points{{}};
  const bool has_sweep = root["sweep"] && !root["sweep"].IsNull();
  if (has_sweep) sweep_points = expand_sweep(ConfigNode(root["sweep"], "sweep", origins), ConfigNode(root, "", origins));
  for (std::size_t k = 0; k < sweep_points.size(); ++k) {
    config::Origins scenario_origins_value;
    scenario_origins_value.file = source_name;
    YAML::Node scenario_root = resolved_tree(text, source_name, config_dir, options, scenario_origins_value);
    if (has_sweep) scenario_root.remove("sweep");
    Scenario scenario;
    scenario.index = k;
    for (const auto& [key, value, mark] : sweep_points[k]) {
      // Name the scenario, and where in the file the swept value is written.
      const std::string origin =
          mark.line >= 0 ? fmt::format("sweep scenario {} ({}={}, {}:{}:{})", k, key, emit(value), source_name,
                                       mark.line + 1, mark.column + 1)
                         : fmt::format("sweep scenario {} ({}={})", k, key, emit(value));
      config::apply_override(scenario_root, key, value, origin);
      scenario_origins_value.overrides[key] = origin;
      scenario.parameters.emplace_back(key, emit(value));
    }
    scenario.spec = parse_scenario(scenario_root, std::make_shared<config::Origins>(scenario_origins_value),
                                   config_dir);
    experiment.scenarios.push_back(std::move(scenario));
  }
  return experiment;
}

}  // namespace

Experiment load_experiment(const std::string& config_path, const LoadOptions& options) {
  std::ifstream stream(config_path);
  if (!stream) throw core::InputError(fmt::format("{}: error: cannot open config file", config_path));
  std::stringstream text;
  text << stream.rdbuf();
  const std::string dir = std::filesystem::path(config_path).parent_path().string();
  return load(text.str(), config_path, dir.empty() ? "." : dir, options);
}

Experiment load_experiment_text(const std::string& yaml_text, const std::string& source_name,
                                const LoadOptions& options) {
  return load(yaml_text, source_name, ".", options);
}

std::vector<ConfigSection> config_sections() {
  std::vector<ConfigSection> sections = {
      {"(top level)", "The sections of an experiment file.", root_keys},
      {"experiment", "How many paths of how many blocks, and what is recorded.", experiment_keys},
      {"experiment.record", "Series sampling.", record_keys},
      {"experiment.importance_sampling",
       "Importance sampling by exponential tilting of the price shocks, for tails (bad debt, insolvency) that plain "
       "Monte Carlo sees rarely.",
       importance_keys},
      {"chain", "Gas and block building.", chain_keys},
      {"chain.gas_process", "The base gas price as a process coupled to price drops (the congestion of a crash).",
       gas_process_keys},
      {"oracles.<asset>", "The oracle protocols read for an asset (framework/core/oracle.hpp).", oracle_keys},
      {"price", "The reference price process (the deep off-chain market).", price_keys},
      {"price.jumps", "Merton jumps (process: jump_diffusion).", jumps_keys},
      {"price.replay", "Historical replay (process: replay).", replay_keys},
      {"markets[] (type: cpmm)", "Uniswap v2 constant-product pool.", cpmm_keys},
      {"markets[] (type: twamm)",
       "Paradigm's TWAMM: an embedded Uniswap v2 pool (swaps, liquidity, arbitrage as a cpmm) plus two "
       "long-term order pools whose virtual trades execute between blocks in closed form (markets/README.md).",
       twamm_keys},
      {"markets[] (type: lending)",
       "A lending market: asset pools with kinked interest-rate curves and positions with collateral and debt, "
       "liquidated by the rules of Aave v2, Aave v3, Compound v2 or Maker (vault auctions). Protocols read the "
       "oracle prices (section `oracles`). markets/README.md derives every rule.",
       lending_keys},
      {"markets[] (type: lending).assets.<asset>", "Risk parameters of one listed asset.", lending_asset_keys},
      {"markets[] (type: lending).assets.<asset>.rate", "The kinked borrow-rate curve (Aave v2 "
       "DefaultReserveInterestRateStrategy, Compound v2 JumpRateModelV2).", rate_keys},
      {"markets[] (type: lending).auction", "Maker Liquidations 2.0 (clip.sol, abaci.sol).", auction_keys},
      {"sweep", "Scenarios. Keys are dotted paths as in --set: markets.<id>.<key>, agents.<id>.<key>, "
                "price.volatility.<asset>, ... Every scenario uses the same random numbers on path i "
                "(common random numbers).",
       sweep_keys},
      {"sweep.latin_hypercube",
       "A Latin hypercube design (McKay, Beckman and Conover 1979) over ranges of values: every key's range is cut "
       "into `points` equal strata and each scenario takes a different stratum of every key.",
       latin_hypercube_keys},
      {"sweep.sobol",
       "A Sobol quasi-random design over ranges of values (framework/engine/sweep_design.hpp): deterministic, "
       "no seed; fills the ranges evenly, best with `points` a power of 2.",
       sobol_keys},
      {"sweep.<design>.ranges.<key>",
       "The range of one swept key of a latin_hypercube or sobol design. Values are written into the scenario's "
       "parameters (and applied) as the shortest decimal text that reads back as the same number.",
       sweep_range_keys},
  };
  // The perpetual pools' sections go after lending's, before `sweep`.
  const auto sweep = std::find_if(sections.begin(), sections.end(), [](const ConfigSection& s) { return s.path == "sweep"; });
  std::vector<ConfigSection> perp;
  for (const PerpConfigSection& section : perp_config_sections()) {
    perp.push_back({std::string(section.path), std::string(section.description), section.keys});
  }
  sections.insert(sweep, perp.begin(), perp.end());
  sections.push_back({"agents[] (every type)", "Keys every agent has.", agents::common_agent_keys()});
  for (const agents::AgentType& type : agents::agent_types()) {
    sections.push_back({fmt::format("agents[] (type: {})", type.type), std::string(type.description), type.keys});
    for (const auto& subsection : type.subsections) {
      sections.push_back({fmt::format("agents[] (type: {}).{}", type.type, subsection.key),
                          fmt::format("The `{}` map of a {}.", subsection.key, type.type), subsection.keys});
    }
  }
  return sections;
}

std::string config_reference_markdown() {
  std::string out =
      "# Configuration reference\n\n"
      "Generated by `defisim config-reference`; `tests/cli/test_config_reference.cpp` fails if this file and the code disagree.\n"
      "Units: amounts in tokens, prices in numeraire per token, rates annualised, time in seconds or blocks,\n"
      "gas prices in gwei. A key without a default is required.\n";
  for (const ConfigSection& section : config_sections()) {
    out += fmt::format("\n## `{}`\n\n{}\n\n| key | type | default | meaning |\n|---|---|---|---|\n", section.path,
                       section.description);
    for (const KeySpec& key : section.keys) {
      out += fmt::format("| `{}` | {} | {} | {} |\n", key.name, key.type,
                         key.required()                 ? std::string("**required**")
                         : key.default_text.front() == '(' ? std::string(key.default_text)
                                                           : fmt::format("`{}`", key.default_text), key.description);
    }
  }
  return out;
}

}  // namespace defisim::engine
