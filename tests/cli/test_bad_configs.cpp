// Bad configs: each is a small YAML written to a scratch directory and put
// through both engine::load_experiment (the typed error: key, location,
// message) and the real binary (`defisim run bad.yaml -o OUT.h5`: exit code 2,
// the same message on stderr, and no results file or partial file left).
//
// Tests tagged [regression] pin defects these tests found (fixed in a7f4c56):
// error locations, repeated keys, null required keys, malformed --set indices.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "framework/core/errors.hpp"
#include "framework/engine/config_loader.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using defisim::core::ConfigError;
using defisim::core::InputError;

using defisim::test_support::ProcessResult;
using defisim::test_support::run_defisim;
using defisim::test_support::TempDir;

// ------------------------------------------------------------ the cases

// A valid experiment; each case changes one thing in it.
const std::string base_config =
    "experiment:\n"
    "  name: bad\n"
    "  seed: 7\n"
    "  paths: 4\n"
    "  blocks: 10\n"
    "assets: [ETH, USDC]\n"
    "numeraire: USDC\n"
    "price:\n"
    "  process: gbm\n"
    "  initial: {ETH: 2000}\n"
    "  volatility: {ETH: 0.8}\n"
    "markets:\n"
    "  - id: pool\n"
    "    type: cpmm\n"
    "    pair: [ETH, USDC]\n"
    "    reserves: {ETH: 1000, USDC: 2000000}\n"
    "    fee: 0.003\n"
    "agents:\n"
    "  - {id: arb, type: arbitrageur, markets: [pool]}\n"
    "  - {id: lp, type: lp, market: pool, deposit_numeraire: 10000}\n";

const std::string gbm_price =
    "  process: gbm\n"
    "  initial: {ETH: 2000}\n"
    "  volatility: {ETH: 0.8}\n";

// `text` with the one occurrence of `from` replaced by `to`.
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  REQUIRE(text.find(from, at + 1) == std::string::npos);
  return text.replace(at, from.size(), to);
}

std::string with(const std::string& from, const std::string& to) { return replaced(base_config, from, to); }

// The base with a replay price process reading prices.csv.
std::string replay_config() {
  return with(gbm_price,
              "  process: replay\n"
              "  initial: {ETH: 2000}\n"
              "  replay: {file: prices.csv}\n");
}

struct BadConfig {
  std::string yaml;
  std::vector<std::pair<std::string, std::string>> files = {};  // name -> content, next to bad.yaml
  std::vector<std::string> sets = {};                           // --set assignments
  std::string key;     // the ConfigError's key()
  std::string phrase;  // in the message
  // Where: the first occurrence of `at` in the YAML (its first character), or
  // an explicit line and column, or (for --set and sweeps) an origin instead
  // of the file.
  std::string at = {};
  int line = 0;
  int column = 0;
  std::string origin = {};
};

// 1-based line and column of the first character of `marker` in `text`.
std::pair<int, int> locate(const std::string& text, const std::string& marker) {
  const std::size_t at = text.find(marker);
  REQUIRE(at != std::string::npos);
  int line = 1, column = 1;
  for (std::size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

std::pair<int, int> expected_line_column(const BadConfig& bad) {
  if (!bad.at.empty()) return locate(bad.yaml, bad.at);
  return {bad.line, bad.column};
}

// Every case, by name (also used by the location test).
const std::vector<std::pair<std::string, BadConfig>>& cases() {
  static const std::vector<std::pair<std::string, BadConfig>> all = {
      {"unknown top-level key",
       {.yaml = with("markets:\n", "markts:\n"), .key = "markts",
        .phrase = "unknown key; did you mean 'markets'? (valid keys here: experiment, assets, numeraire, chain, "
                  "price, markets, oracles, agents, sweep)",
        .at = "markts:"}},
      {"unknown key in a market",
       {.yaml = with("    fee: 0.003\n", "    fe: 0.003\n"), .key = "markets.pool.fe",
        .phrase = "unknown key; did you mean 'fee'? (valid keys here: id, type, pair, reserves, fee)",
        .at = "fe: 0.003"}},
      {"wrong type",
       {.yaml = with("  paths: 4\n", "  paths: many\n"), .key = "experiment.paths",
        .phrase = "expected an integer, got 'many'", .at = "many"}},
      {"negative reserve",
       {.yaml = with("{ETH: 1000,", "{ETH: -1000,"), .key = "markets.pool.reserves.ETH",
        .phrase = "-1000 is out of range; valid: (0, inf)", .at = "-1000"}},
      {"fee of 1",
       {.yaml = with("fee: 0.003", "fee: 1.0"), .key = "markets.pool.fee",
        .phrase = "1 is out of range; valid: [0, 1)", .at = "1.0"}},
      {"inconsistent 3x3 correlation",
       {.yaml = replaced(with(gbm_price,
                              "  process: gbm\n"
                              "  initial: {ETH: 2000, BTC: 30000, SOL: 100}\n"
                              "  volatility: {ETH: 0.8, BTC: 0.6, SOL: 1.0}\n"
                              "  correlation: [[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1]]\n"),
                         "assets: [ETH, USDC]", "assets: [ETH, BTC, SOL, USDC]"),
        .key = "price.correlation", .phrase = "correlation matrix is not positive definite", .at = "[[1, 0.9"}},
      {"singular 2x2 correlation",
       {.yaml = replaced(with(gbm_price,
                              "  process: gbm\n"
                              "  initial: {ETH: 2000, BTC: 30000}\n"
                              "  volatility: {ETH: 0.8, BTC: 0.6}\n"
                              "  correlation: [[1, 1], [1, 1]]\n"),
                         "assets: [ETH, USDC]", "assets: [ETH, BTC, USDC]"),
        .key = "price.correlation", .phrase = "correlation matrix is not positive definite", .at = "[[1, 1]"}},
      {"missing asset in price.initial",
       {.yaml = replaced(with("  volatility: {ETH: 0.8}\n", "  volatility: {ETH: 0.8, BTC: 0.6}\n"),
                         "assets: [ETH, USDC]", "assets: [ETH, BTC, USDC]"),
        .key = "price.initial",
        .phrase = "missing asset 'BTC' (every non-numeraire asset needs a value)", .at = "{ETH: 2000}"}},
      {"unknown asset in a pair",
       {.yaml = with("pair: [ETH, USDC]", "pair: [ETH, USDT]"), .key = "markets.pool.pair[1]",
        .phrase = "unknown asset 'USDT' (did you mean 'USDC'?); known: ETH, USDC", .at = "USDT"}},
      {"duplicate market id",
       {.yaml = with("    fee: 0.003\n",
                     "    fee: 0.003\n"
                     "  - {id: pool, type: cpmm, pair: [ETH, USDC], reserves: {ETH: 1, USDC: 2000}}\n"),
        .key = "markets.pool.id", .phrase = "market id 'pool' is used twice", .at = "pool, type: cpmm"}},
      {"unknown agent type",
       {.yaml = with("type: arbitrageur", "type: arbitrager"), .key = "agents.arb.type",
        .phrase = "'arbitrager' is not valid; did you mean 'arbitrageur'? (valid: arbitrageur, ",
        .at = "arbitrager"}},
      {"agent refers to an unknown market (list)",
       {.yaml = with("markets: [pool]", "markets: [pools]"), .key = "agents.arb.markets[0]",
        .phrase = "unknown market 'pools' (did you mean 'pool'?); known: pool", .at = "pools]"}},
      {"agent refers to an unknown market",
       {.yaml = with("market: pool,", "market: mypool,"), .key = "agents.lp.market",
        .phrase = "unknown market 'mypool' (did you mean 'pool'?); known: pool", .at = "mypool"}},
      {"replay CSV with a non-numeric price",
       {.yaml = replay_config(), .files = {{"prices.csv", "block,ETH\n0,2000\n1,2001\n2,abc\n3,2003\n"}},
        .key = "price.replay.file", .phrase = "prices.csv:4: column 'ETH': expected a positive price, got 'abc'",
        .at = "prices.csv"}},
      {"replay CSV with a negative price",
       {.yaml = replay_config(), .files = {{"prices.csv", "block,ETH\n0,2000\n1,-5\n"}},
        .key = "price.replay.file", .phrase = "prices.csv:3: column 'ETH': expected a positive price, got '-5'",
        .at = "prices.csv"}},
      {"replay CSV without the asset's column",
       {.yaml = replay_config(), .files = {{"prices.csv", "block,BTC\n0,2000\n1,2001\n"}},
        .key = "price.replay.file", .phrase = "prices.csv:1: no column 'ETH' in the header (columns: block, BTC)",
        .at = "prices.csv"}},
      {"replay CSV with one row",
       {.yaml = replay_config(), .files = {{"prices.csv", "block,ETH\n0,2000\n"}}, .key = "price.replay.file",
        .phrase = "prices.csv' needs at least two rows of prices", .at = "prices.csv"}},
      {"replay CSV shorter than the run",
       {.yaml = replay_config(), .files = {{"prices.csv", "block,ETH\n0,2000\n1,2001\n2,2002\n"}},
        .key = "price.replay.file",
        .phrase = "prices.csv' has 3 rows; replaying 10 blocks needs 11 (or set bootstrap_block_length)",
        .at = "prices.csv"}},
      {"replay CSV missing",
       {.yaml = replay_config(), .key = "price.replay.file", .phrase = "cannot open price file", .at = "prices.csv"}},
      {"YAML syntax error: indentation",
       {.yaml = with("  paths: 4\n", "   paths: 4\n"), .key = "<yaml syntax>", .phrase = "illegal map value",
        .line = 4, .column = 9}},
      {"YAML syntax error: unclosed list",
       {.yaml = with("assets: [ETH, USDC]\n", "assets: [ETH, USDC\n"), .key = "<yaml syntax>",
        .phrase = "end of sequence flow not found", .line = 7, .column = 10}},
      {"--set with an unknown list element",
       {.yaml = base_config, .sets = {"markets.pol.fee=0.1"}, .key = "markets.pol.fee",
        .phrase = "'markets' has no element with id 'pol'; ids: pool", .origin = "--set markets.pol.fee=0.1"}},
      {"--set with an unknown map key on the way",
       {.yaml = base_config, .sets = {"experiment.nope.x=1"}, .key = "experiment.nope",
        .phrase = "unknown key; did you mean 'name'?", .origin = "--set experiment.nope.x=1"}},
      {"--set of an unknown last key",
       {.yaml = base_config, .sets = {"markets.pool.fie=0.1"}, .key = "markets.pool.fie",
        .phrase = "unknown key; did you mean 'fee'?", .origin = "--set markets.pool.fie=0.1"}},
      {"--set of a bad value",
       {.yaml = base_config, .sets = {"experiment.paths=3", "markets.pool.fee=2"}, .key = "markets.pool.fee",
        .phrase = "2 is out of range; valid: [0, 1)", .origin = "--set markets.pool.fee=2"}},
      {"antithetic with an odd path count",
       {.yaml = with("  paths: 4\n", "  paths: 5\n  antithetic: true\n"), .key = "experiment.paths",
        .phrase = "antithetic pairs need an even number of paths, got 5", .at = "5\n  antithetic"}},
      {"seed above 2^32 - 1",
       {.yaml = with("seed: 7", "seed: 4294967296"), .key = "experiment.seed",
        .phrase = "4294967296 is out of range; valid: [0, 4294967295]", .at = "4294967296"}},
      {"negative seed",
       {.yaml = with("seed: 7", "seed: -1"), .key = "experiment.seed", .phrase = "-1 is too small; must be at least 0",
        .at = "-1"}},
      {"sweep of an unknown key",
       {.yaml = base_config + "sweep:\n  grid:\n    markets.pool.fees: [0.001, 0.003]\n", .key = "markets.pool.fees",
        .phrase = "unknown key; did you mean 'fee'?", .at = "0.001, 0.003]",
        .origin = "sweep scenario 0 (markets.pool.fees=0.001, {at})"}},
      {"sweep of an unknown section",
       {.yaml = base_config + "sweep:\n  list:\n    - {nope.fee: 0.001}\n", .key = "nope",
        .phrase = "unknown key; valid keys here: experiment", .at = "0.001}",
        .origin = "sweep scenario 0 (nope.fee=0.001, {at})"}},
      {"sweep of an experiment setting",
       {.yaml = base_config + "sweep:\n  grid:\n    experiment.paths: [2, 4]\n", .key = "sweep.grid.experiment.paths",
        .phrase = "experiment settings cannot be swept", .at = "[2, 4]"}},

      {"uniform slippage tolerance with high below low",
       {.yaml = with("agents:\n", "agents:\n  - {id: noise, type: noise_trader, market: pool, "
                                   "slippage_tolerance: {dist: uniform, low: 0.02, high: 0.01}}\n"),
        .key = "agents.noise.slippage_tolerance.high", .phrase = "0.01 is out of range; valid: [0.02, 1)",
        .at = "0.01}}"}},
      {"empirical slippage tolerance of 1",
       {.yaml = with("agents:\n", "agents:\n  - {id: noise, type: noise_trader, market: pool, "
                                   "slippage_tolerance: {dist: empirical, values: [0.01, 1.0]}}\n"),
        .key = "agents.noise.slippage_tolerance.values[1]", .phrase = "valid: [0, 1)", .at = "1.0]"}},
      {"unknown block ordering",
       {.yaml = with("numeraire: USDC\n", "numeraire: USDC\nchain: {ordering: mevv}\n"), .key = "chain.ordering",
        .phrase = "did you mean 'mev'?", .at = "mevv"}},

      {"market type typo",
       {.yaml = with("    type: cpmm\n", "    type: twam\n"), .key = "markets.pool.type",
        .phrase = "'twam' is not valid; did you mean 'twamm'? (valid: cpmm, twamm, lending, gmx_glp, gtrade_vault, vamm)", .at = "twam\n"}},
      {"twamm with an order interval of 0",
       {.yaml = with("    type: cpmm\n", "    type: twamm\n    order_interval_blocks: 0\n"),
        .key = "markets.pool.order_interval_blocks", .phrase = "0 is too small; must be at least 1", .at = "0\n    pair"}},
      {"twamm_trader on a cpmm market",
       {.yaml = with("agents:\n", "agents:\n  - {id: buyer, type: twamm_trader, market: pool, sell: USDC, amount: 1000, "
                                   "duration_blocks: 10}\n"),
        .key = "agents.buyer.market", .phrase = "the twamm_trader places long-term orders on twamm markets only",
        .at = "pool, sell"}},

      // Lending, oracles and gas (issue 4).
      {"lending threshold below loan-to-value",
       {.yaml = with("agents:\n", "  - id: bank\n    type: lending\n    assets:\n      ETH: {loan_to_value: 0.8, "
                                   "liquidation_threshold: 0.7}\n      USDC: {initial_supply: 1000000}\nagents:\n"),
        .key = "markets.bank.assets.ETH", .phrase = "liquidation_threshold 0.7 is below loan_to_value 0.8", .at = "{loan_to_value: 0.8"}},
      {"lending bonus that makes liquidations unhealthy",
       {.yaml = with("agents:\n", "  - id: bank\n    type: lending\n    assets:\n      ETH: {loan_to_value: 0.8, "
                                   "liquidation_threshold: 0.95, liquidation_bonus: 0.1}\n      USDC: {initial_supply: 1000000}\nagents:\n"),
        .key = "markets.bank.assets.ETH", .phrase = "exceeds 1: every liquidation would leave the position less healthy",
        .at = "{loan_to_value: 0.8"}},
      {"lending rules typo",
       {.yaml = with("agents:\n", "  - id: bank\n    type: lending\n    rules: aave_v4\n    assets:\n      USDC: {initial_supply: 1}\nagents:\n"),
        .key = "markets.bank.rules", .phrase = "(valid: aave_v2, aave_v3, compound_v2, maker)", .at = "aave_v4"}},
      {"maker auction on an aave market",
       {.yaml = with("agents:\n", "  - id: bank\n    type: lending\n    auction: {buf: 1.2}\n    assets:\n      USDC: {initial_supply: 1}\nagents:\n"),
        .key = "markets.bank.auction", .phrase = "only maker vaults are liquidated by auction", .at = "{buf: 1.2}"}},
      {"borrower population larger than the market",
       {.yaml = with("agents:\n", "  - id: bank\n    type: lending\n    max_positions: 10\n    assets:\n      ETH: {loan_to_value: 0.8}\n"
                                   "      USDC: {initial_supply: 1000000}\nagents:\n  - {id: b, type: borrower, market: bank, positions: 50, "
                                   "collateral: {ETH: 1}}\n"),
        .key = "agents.b.positions", .phrase = "50 positions do not fit the market's max_positions (10", .at = "50, collateral"}},
      {"borrower collateral that is not collateral",
       {.yaml = with("agents:\n", "  - id: bank\n    type: lending\n    assets:\n      ETH: {loan_to_value: 0}\n"
                                   "      USDC: {initial_supply: 1000000}\nagents:\n  - {id: b, type: borrower, market: bank, "
                                   "collateral: {ETH: 1}}\n"),
        .key = "agents.b.collateral.ETH", .phrase = "'ETH' is not collateral on this market", .at = "1}}"}},
      {"vamm maintenance margin above its initial margin",
       {.yaml = with("agents:\n", "  - {id: perp, type: vamm, base: ETH, quote_reserve: 1000000, initial_insurance_fund: 1000, "
                                   "maintenance_margin_ratio: 0.2}\nagents:\n"),
        .key = "markets.perp", .phrase = "maintenance_margin_ratio must be in (0, initial_margin_ratio]",
        .at = "{id: perp"}},
      {"gmx pool without a stablecoin",
       {.yaml = with("agents:\n", "  - {id: glp, type: gmx_glp, assets: {ETH: {initial_pool_amount: 10}}}\nagents:\n"),
        .key = "markets.glp.assets", .phrase = "needs a stablecoin (stable: true)", .at = "{ETH: {initial_pool_amount"}},
      {"gtrade vault trading its own collateral",
       {.yaml = with("agents:\n", "  - {id: gdai, type: gtrade_vault, traded_asset: USDC}\nagents:\n"),
        .key = "markets.gdai.traded_asset", .phrase = "must differ from the collateral", .at = "USDC}"}},
      {"perp_lp on a vamm",
       {.yaml = with("agents:\n", "  - {id: perp, type: vamm, base: ETH, quote_reserve: 1000000, initial_insurance_fund: 1000}\n"
                                   "agents:\n  - {id: fund, type: perp_lp, market: perp}\n"),
        .key = "agents.fund.market", .phrase = "is a vamm: its insurance fund has no shares", .at = "perp}"}},
      {"perp_trader on a pool",
       {.yaml = with("agents:\n", "agents:\n  - {id: traders, type: perp_trader, market: pool}\n"),
        .key = "agents.traders.market", .phrase = "the perp_trader trades a perpetual pool", .at = "pool}"}},
      {"liquidator on a pool",
       {.yaml = with("agents:\n", "agents:\n  - {id: keeper, type: liquidator, market: pool, capital: {USDC: 1}}\n"),
        .key = "agents.keeper.market", .phrase = "'pool' is not a lending market", .at = "pool, capital"}},
      {"liquidator selling on a lending market",
       {.yaml = with("agents:\n", "  - id: bank\n    type: lending\n    assets:\n      ETH: {loan_to_value: 0.8}\n"
                                   "      USDC: {initial_supply: 1000000}\nagents:\n  - {id: keeper, type: liquidator, market: bank, "
                                   "capital: {USDC: 1}, sale: market, sale_market: bank}\n"),
        .key = "agents.keeper.sale_market", .phrase = "not a constant-product pool", .at = "bank}"}},
      {"pool twap oracle on a pool without the asset",
       {.yaml = with("agents:\n", "  - id: bank\n    type: lending\n    assets:\n      USDC: {initial_supply: 1}\n"
                                   "oracles:\n  ETH: {type: pool_twap, market: bank}\nagents:\n"),
        .key = "oracles.ETH.market", .phrase = "needs a constant-product pool trading ETH", .at = "bank}"}},
      {"push oracle with a median key",
       {.yaml = with("agents:\n", "oracles:\n  ETH: {type: push, sources: 3}\nagents:\n"),
        .key = "oracles.ETH.sources", .phrase = "not used by a push oracle", .at = "3}"}},
      {"gas spike without a base price",
       {.yaml = with("price:\n", "chain: {gas_process: {spike_per_percent_drop: 2}}\nprice:\n"),
        .key = "chain.gas_process", .phrase = "set chain.gas_price_gwei > 0", .at = "{spike_per_percent_drop"}},

      {"--set of a key the sweep also sets",
       {.yaml = base_config + "sweep:\n  grid:\n    markets.pool.fee: [0.001, 0.003]\n",
        .sets = {"markets.pool.fee=0.01"}, .key = "markets.pool.fee",
        .phrase = "'markets.pool.fee' is also set by sweep.grid ('markets.pool.fee'), which overrides it in every "
                  "scenario",
        .origin = "--set markets.pool.fee=0.01"}},

      // ---- Regressions: these were accepted (or not an input error) before a7f4c56.
      {"duplicate key",
       {.yaml = with("    fee: 0.003\n", "    fee: 0.003\n    fee: 0.9\n"), .key = "markets.pool.fee",
        .phrase = "twice", .at = "fee: 0.9"}},
      {"null required key",
       {.yaml = with("deposit_numeraire: 10000", "deposit_numeraire: ~"), .key = "agents.lp",
        .phrase = "missing required key 'deposit_numeraire'", .at = "{id: lp"}},
      {"--set with a malformed index",
       {.yaml = base_config, .sets = {"markets[x].fee=0.1"}, .key = "markets[x].fee", .phrase = "'[x]' is not a list index",
        .origin = "--set markets[x].fee=0.1"}},
  };
  return all;
}

const BadConfig& find_case(const std::string& name) {
  for (const auto& [case_name, bad] : cases()) {
    if (case_name == name) return bad;
  }
  FAIL("no case named " << name);
  throw std::logic_error("unreachable");
}

// The origin with "{at}" replaced by where `.at` is in the file: a swept value's
// error names its scenario and the value's file:line:column.
std::string expected_origin(const BadConfig& bad, const std::string& path) {
  const std::string placeholder = "{at}";
  const std::size_t at = bad.origin.find(placeholder);
  if (at == std::string::npos) return bad.origin;
  const auto [line, column] = expected_line_column(bad);
  return bad.origin.substr(0, at) + path + ":" + std::to_string(line) + ":" + std::to_string(column) +
         bad.origin.substr(at + placeholder.size());
}

std::string expected_location_prefix(const BadConfig& bad, const std::string& path) {
  if (!bad.origin.empty()) return expected_origin(bad, path);
  const auto [line, column] = expected_line_column(bad);
  return path + ":" + std::to_string(line) + ":" + std::to_string(column);
}

// Both load_experiment and the binary reject `bad` with its key and phrase,
// located in the file (or at the --set/sweep origin); the binary exits 2 and
// leaves no results. With `check_line_column`, the line and column too.
void check_rejected(const BadConfig& bad, bool check_line_column) {
  const TempDir dir;
  const std::string path = dir.write("bad.yaml", bad.yaml);
  for (const auto& [name, content] : bad.files) dir.write(name, content);
  defisim::engine::LoadOptions options;
  options.assignments = bad.sets;
  INFO("config:\n" << bad.yaml);

  std::string message;
  try {
    defisim::engine::load_experiment(path, options);
    FAIL_CHECK("load_experiment accepted the config");
  } catch (const ConfigError& error) {
    message = error.what();
    INFO("message: " << message);
    CHECK(error.key() == bad.key);
    CHECK_THAT(message, Catch::Matchers::Contains(bad.phrase));
    CHECK_THAT(message, Catch::Matchers::Contains("'" + bad.key + "'"));
    if (bad.origin.empty()) {
      CHECK(error.location().file == path);
      CHECK(error.location().line > 0);
      if (check_line_column) {
        const auto [line, column] = expected_line_column(bad);
        CHECK(error.location().line == line);
        CHECK(error.location().column == column);
      }
    } else {
      CHECK(error.location().file == expected_origin(bad, path));
      CHECK(error.location().line == 0);
    }
  } catch (const std::exception& error) {
    FAIL_CHECK("expected a ConfigError, got: " << error.what());
  }

  std::vector<std::string> args{"run", path, "-o", (dir.path / "OUT.h5").string(), "--quiet"};
  for (const std::string& assignment : bad.sets) {
    args.push_back("--set");
    args.push_back(assignment);
  }
  const ProcessResult result = run_defisim(args, dir.path);
  INFO("stderr: " << result.err);
  CHECK(result.exited);
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.err, Catch::Matchers::Contains("'" + bad.key + "'"));
  CHECK_THAT(result.err, Catch::Matchers::Contains(bad.phrase));
  CHECK_THAT(result.err, Catch::Matchers::StartsWith(bad.origin.empty() ? path + ":" : expected_origin(bad, path) + ": error: "));
  if (!message.empty()) CHECK_THAT(result.err, Catch::Matchers::Contains(message));
  if (check_line_column) {
    CHECK_THAT(result.err, Catch::Matchers::StartsWith(expected_location_prefix(bad, path) + ": error: '" + bad.key + "'"));
  }
  CHECK_FALSE(fs::exists(dir.path / "OUT.h5"));
  CHECK_FALSE(fs::exists(dir.path / "OUT.h5.partial"));
  CHECK_FALSE(fs::exists(dir.path / "results"));
}

void check_case(const std::string& name) {
  const BadConfig& bad = find_case(name);
  // YAML syntax errors come from the parser with their marks: check the line
  // and column here too. The others are checked by the location test below.
  check_rejected(bad, bad.key == "<yaml syntax>");
}

}  // namespace

TEST_CASE("bad configs: the base config of the cases is valid", "[cli][bad_config]") {
  const TempDir dir;
  const std::string path = dir.write("base.yaml", base_config);
  CHECK_NOTHROW(defisim::engine::load_experiment(path));
  const ProcessResult result = run_defisim({"validate", path}, dir.path);
  CHECK(result.exit_code == 0);
  // Every case's YAML differs from the base (the replacements happened).
  for (const auto& [name, bad] : cases()) {
    INFO(name);
    if (bad.sets.empty()) CHECK(bad.yaml != base_config);
  }
}

TEST_CASE("bad config: unknown top-level key suggests the nearest", "[cli][bad_config]") {
  check_case("unknown top-level key");
}
TEST_CASE("bad config: unknown key in a market suggests 'fee'", "[cli][bad_config]") {
  check_case("unknown key in a market");
}
TEST_CASE("bad config: a word where an integer belongs", "[cli][bad_config]") { check_case("wrong type"); }
TEST_CASE("bad config: negative reserve", "[cli][bad_config]") { check_case("negative reserve"); }
TEST_CASE("bad config: fee of 1.0", "[cli][bad_config]") { check_case("fee of 1"); }
TEST_CASE("bad config: correlation not positive definite (3 assets)", "[cli][bad_config]") {
  check_case("inconsistent 3x3 correlation");
}
TEST_CASE("bad config: correlation of all ones (2 assets)", "[cli][bad_config]") { check_case("singular 2x2 correlation"); }
TEST_CASE("bad config: missing asset in price.initial", "[cli][bad_config]") {
  check_case("missing asset in price.initial");
}
TEST_CASE("bad config: unknown asset in a pair", "[cli][bad_config]") { check_case("unknown asset in a pair"); }
TEST_CASE("bad config: duplicate market id", "[cli][bad_config]") { check_case("duplicate market id"); }
TEST_CASE("bad config: unknown agent type suggests the nearest", "[cli][bad_config]") {
  check_case("unknown agent type");
}
TEST_CASE("bad config: agent refers to an unknown market", "[cli][bad_config]") {
  check_case("agent refers to an unknown market (list)");
  check_case("agent refers to an unknown market");
}
TEST_CASE("bad config: replay CSV with a non-numeric or negative price", "[cli][bad_config]") {
  check_case("replay CSV with a non-numeric price");
  check_case("replay CSV with a negative price");
}
TEST_CASE("bad config: replay CSV without the asset's column", "[cli][bad_config]") {
  check_case("replay CSV without the asset's column");
}
TEST_CASE("bad config: replay CSV with too few rows", "[cli][bad_config]") {
  check_case("replay CSV with one row");
  check_case("replay CSV shorter than the run");
}
TEST_CASE("bad config: replay CSV missing", "[cli][bad_config]") { check_case("replay CSV missing"); }
TEST_CASE("bad config: YAML syntax errors have line and column", "[cli][bad_config]") {
  check_case("YAML syntax error: indentation");
  check_case("YAML syntax error: unclosed list");
}
TEST_CASE("bad config: --set with an unknown path names the --set", "[cli][bad_config]") {
  check_case("--set with an unknown list element");
  check_case("--set with an unknown map key on the way");
  check_case("--set of an unknown last key");
  check_case("--set of a bad value");
}
TEST_CASE("bad config: noise trader slippage tolerance distributions are range-checked", "[cli][bad_config]") {
  check_case("uniform slippage tolerance with high below low");
  check_case("empirical slippage tolerance of 1");
}
TEST_CASE("bad config: twamm markets and their traders are checked", "[cli][bad_config]") {
  check_case("market type typo");
  check_case("twamm with an order interval of 0");
  check_case("twamm_trader on a cpmm market");
}
TEST_CASE("bad config: lending markets, borrowers, liquidators, oracles and gas are checked", "[cli][bad_config]") {
  check_case("lending threshold below loan-to-value");
  check_case("lending bonus that makes liquidations unhealthy");
  check_case("lending rules typo");
  check_case("maker auction on an aave market");
  check_case("borrower population larger than the market");
  check_case("borrower collateral that is not collateral");
  check_case("liquidator on a pool");
  check_case("liquidator selling on a lending market");
  check_case("pool twap oracle on a pool without the asset");
  check_case("push oracle with a median key");
  check_case("gas spike without a base price");
}
TEST_CASE("bad config: perpetual pools and their agents are checked", "[cli][bad_config]") {
  check_case("vamm maintenance margin above its initial margin");
  check_case("gmx pool without a stablecoin");
  check_case("gtrade vault trading its own collateral");
  check_case("perp_lp on a vamm");
  check_case("perp_trader on a pool");
}
TEST_CASE("bad config: a --set that the sweep would silently override is refused", "[cli][bad_config]") {
  check_case("--set of a key the sweep also sets");
}
TEST_CASE("bad config: unknown block ordering suggests the nearest", "[cli][bad_config]") {
  check_case("unknown block ordering");
}
TEST_CASE("bad config: antithetic with an odd number of paths", "[cli][bad_config]") {
  check_case("antithetic with an odd path count");
}
TEST_CASE("bad config: seed out of range", "[cli][bad_config]") {
  check_case("seed above 2^32 - 1");
  check_case("negative seed");
}
TEST_CASE("bad config: sweep on an unknown key names the sweep scenario", "[cli][bad_config]") {
  check_case("sweep of an unknown key");
  check_case("sweep of an unknown section");
  check_case("sweep of an experiment setting");
}

TEST_CASE("bad config: the command-line overrides are checked too", "[cli][bad_config]") {
  const TempDir dir;
  const std::string path = dir.write("ok.yaml", base_config);
  const std::string out = (dir.path / "OUT.h5").string();
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{"--paths", "0"}, {"--paths", "-3"}, {"--seed", "4294967296"}, {"--seed", "-1"},
        {"--blocks", "zero"}, {"--set", "experiment.paths"}, {"--set", "agents.arb.gas_used=[1"}, {"--bogus"}}) {
    std::vector<std::string> args{"run", path, "-o", out, "--quiet"};
    args.insert(args.end(), extra.begin(), extra.end());
    const ProcessResult result = run_defisim(args, dir.path);
    INFO(extra.front() << " " << extra.back() << "\nstderr: " << result.err);
    CHECK(result.exit_code == 2);
    CHECK_FALSE(result.err.empty());
    CHECK_FALSE(fs::exists(out));
    CHECK_FALSE(fs::exists(out + ".partial"));
  }
  // With --paths the antithetic error names the override it came from.
  const std::string antithetic = dir.write("anti.yaml", with("  paths: 4\n", "  paths: 4\n  antithetic: true\n"));
  const ProcessResult result = run_defisim({"run", antithetic, "-o", out, "--paths", "5"}, dir.path);
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.err, Catch::Matchers::Contains("'experiment.paths': antithetic pairs need an even number of paths, got 5"));
  CHECK_FALSE(fs::exists(out));
}

// Regression: every ConfigError found while parsing a scenario used to report
// line 1, column 1, because engine::load() parsed YAML::Clone()s of the tree and
// yaml-cpp's Clone() drops source marks. This checks the line and column of
// every case above that is located in the file.
TEST_CASE("bad config: every config error points at the offending line and column",
          "[cli][bad_config][regression]") {
  for (const auto& [name, bad] : cases()) {
    if (!bad.origin.empty()) continue;
    const TempDir dir;
    const std::string path = dir.write("bad.yaml", bad.yaml);
    for (const auto& [file, content] : bad.files) dir.write(file, content);
    const auto [line, column] = expected_line_column(bad);
    INFO(name << ": expected " << path << ":" << line << ":" << column);
    try {
      defisim::engine::load_experiment(path);
      FAIL_CHECK("not rejected");
    } catch (const ConfigError& error) {
      INFO("got " << error.what());
      CHECK(error.location().line == line);
      CHECK(error.location().column == column);
    }
    const ProcessResult result = run_defisim({"validate", path}, dir.path);
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err, Catch::Matchers::StartsWith(expected_location_prefix(bad, path) + ": error: '" + bad.key + "'"));
  }
}

// Regression: a key given twice in one map was accepted and one of the values
// silently won. It is an error at the second occurrence.
TEST_CASE("bad config: a key given twice in one map is rejected", "[cli][bad_config][regression]") {
  check_rejected(find_case("duplicate key"), true);
}

// Regression: a required key with a null value (`deposit_numeraire: ~`, or
// `deposit_numeraire:` with nothing after it) passed check_keys and then read as
// absent (the LP deposited 0). It is "missing required key".
TEST_CASE("bad config: a required key with no value is rejected", "[cli][bad_config][regression]") {
  check_rejected(find_case("null required key"), true);
}

// Regression: `--set markets[x].fee=0.1` reached std::stoul unchecked and the
// CLI printed "internal error: stoul" with exit 1. It is bad input (exit 2)
// naming the --set.
TEST_CASE("bad config: --set with a malformed list index is bad input", "[cli][bad_config][regression]") {
  check_rejected(find_case("--set with a malformed index"), false);
}
