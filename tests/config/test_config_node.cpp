// Unit tests of config::ConfigNode and its helpers (framework/config/node.hpp):
// the nearest-key hints, key checks, type and range errors with their key
// paths and locations, element naming, --set overrides and their parsing.
#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "framework/config/node.hpp"
#include "framework/core/errors.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using defisim::config::ConfigNode;
using defisim::config::KeySpec;
using defisim::config::Origins;
using defisim::core::ConfigError;
using defisim::core::InputError;
using Catch::Matchers::Contains;

std::shared_ptr<const Origins> origins(std::string file = "test.yaml",
                                       std::map<std::string, std::string> overrides = {}) {
  auto out = std::make_shared<Origins>();
  out->file = std::move(file);
  out->overrides = std::move(overrides);
  return out;
}

// The root of `text` as a ConfigNode named like a file's root.
ConfigNode root_of(const std::string& text, std::shared_ptr<const Origins> from = origins()) {
  return ConfigNode(YAML::Load(text), "", std::move(from));
}

// Runs `action`, which must throw a ConfigError, and returns it.
template <typename Action>
ConfigError config_error(Action&& action) {
  try {
    action();
  } catch (const ConfigError& error) {
    return error;
  } catch (const std::exception& error) {
    FAIL("expected a ConfigError, got another exception: " << error.what());
  }
  FAIL("expected a ConfigError, nothing was thrown");
  throw std::logic_error("unreachable");
}

constexpr KeySpec market_keys[] = {
    {"id", "string", "", "market name"},
    {"type", "string", "", "cpmm"},
    {"pair", "list of 2 assets", "", "the pool's assets"},
    {"reserves", "map asset -> number", "", "initial reserves"},
    {"fee", "number", "0.003", "swap fee, fraction in [0, 1)"},
};

constexpr KeySpec experiment_keys[] = {
    {"name", "string", "", "experiment name, stored in the results"},
    {"paths", "integer", "1000", "paths (>= 1)"},
    {"antithetic", "boolean", "false", "pair paths"},
};

using defisim::test_support::TempDir;

}  // namespace

// ---------------------------------------------------------------- nearest

TEST_CASE("edit_distance is the Levenshtein distance", "[config][node]") {
  using defisim::config::edit_distance;
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("fee", "fee") == 0);
  CHECK(edit_distance("abc", "") == 3);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("fe", "fee") == 1);         // insertion
  CHECK(edit_distance("feee", "fee") == 1);       // deletion
  CHECK(edit_distance("fie", "fee") == 1);        // substitution
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("markts", "markets") == 1);
  CHECK(edit_distance("flaw", "lawn") == 2);
  CHECK(edit_distance("sitting", "kitten") == edit_distance("kitten", "sitting"));
}

TEST_CASE("nearest suggests only what a typo could explain", "[config][node]") {
  using defisim::config::nearest;
  constexpr std::string_view top[] = {"experiment", "assets", "numeraire", "chain",
                                      "price",      "markets", "agents",   "sweep"};
  CHECK(nearest("markts", top) == "markets");
  CHECK(nearest("experiments", top) == "experiment");
  CHECK(nearest("agent", top) == "agents");
  CHECK(nearest("prise", top) == "price");
  constexpr std::string_view market[] = {"id", "type", "pair", "reserves", "fee"};
  CHECK(nearest("fe", market) == "fee");
  CHECK(nearest("reserve", market) == "reserves");
  CHECK(nearest("tpye", market) == "type");  // a transposition is 2 edits: still within 2
  // Nothing close: no suggestion rather than a misleading one.
  CHECK(nearest("volatility", market).empty());
  CHECK(nearest("zzzzzz", top).empty());
  constexpr std::string_view none[] = {"x"};
  CHECK(nearest("abcdef", std::span<const std::string_view>(none, 0)).empty());
  // The allowance is a third of the word, at least 2 edits.
  constexpr std::string_view long_word[] = {"abcdefghijkl"};
  CHECK(nearest("abcdefghiXYZ", long_word) == "abcdefghijkl");   // 3 edits, 12 / 3 = 4 allowed
  CHECK(nearest("abcXYZWVijkl", long_word).empty());             // 5 edits: too many
  constexpr std::string_view short_word[] = {"ab"};
  CHECK(nearest("xy", short_word) == "ab");  // 2 edits, at least 2 allowed
}

// ---------------------------------------------------------------- check_keys

TEST_CASE("check_keys: an unknown key names its path and location and suggests the nearest key",
          "[config][node]") {
  const ConfigNode root = root_of(
      "markets:\n"
      "  - id: pool\n"
      "    type: cpmm\n"
      "    pair: [ETH, USDC]\n"
      "    reserves: {ETH: 1, USDC: 2}\n"
      "    fe: 0.003\n");
  const ConfigNode market = root.child("markets").element(0);
  REQUIRE(market.key_path() == "markets.pool");
  const ConfigError error = config_error([&] { market.check_keys(market_keys); });
  CHECK(error.key() == "markets.pool.fe");
  CHECK(error.location().file == "test.yaml");
  CHECK(error.location().line == 6);
  CHECK(error.location().column == 5);
  CHECK(error.problem() == "unknown key; did you mean 'fee'? (valid keys here: id, type, pair, reserves, fee)");
  CHECK(std::string(error.what()) ==
        "test.yaml:6:5: error: 'markets.pool.fe': unknown key; did you mean 'fee'? "
        "(valid keys here: id, type, pair, reserves, fee)");
}

TEST_CASE("check_keys: an unknown key with nothing close lists the valid keys", "[config][node]") {
  const ConfigNode root = root_of("experiment: {name: x, volatility: 3}\n");
  const ConfigError error = config_error([&] { root.child("experiment").check_keys(experiment_keys); });
  CHECK(error.key() == "experiment.volatility");
  CHECK(error.location().line == 1);
  CHECK(error.location().column == 23);
  CHECK(error.problem() == "unknown key; valid keys here: name, paths, antithetic");
}

TEST_CASE("check_keys: a missing required key is reported at the enclosing map", "[config][node]") {
  const ConfigNode root = root_of(
      "experiment:\n"
      "  paths: 10\n");
  const ConfigNode experiment = root.child("experiment");
  const ConfigError error = config_error([&] { experiment.check_keys(experiment_keys); });
  CHECK(error.key() == "experiment");
  CHECK(error.location().line == 2);
  CHECK(error.location().column == 3);
  CHECK(error.problem() == "missing required key 'name' (experiment name, stored in the results)");
}

TEST_CASE("check_keys: keys with defaults may be absent, known keys pass", "[config][node]") {
  const ConfigNode root = root_of("experiment: {name: x}\n");
  CHECK_NOTHROW(root.child("experiment").check_keys(experiment_keys));
  const ConfigNode full = root_of("experiment: {name: x, paths: 4, antithetic: true}\n");
  CHECK_NOTHROW(full.child("experiment").check_keys(experiment_keys));
}

TEST_CASE("check_keys: a non-map is rejected with what it is", "[config][node]") {
  const ConfigNode root = root_of("experiment: [1, 2]\nother: 5\n");
  ConfigError error = config_error([&] { root.child("experiment").check_keys(experiment_keys); });
  CHECK(error.key() == "experiment");
  CHECK(error.problem() == "expected a map of keys, got a list");
  error = config_error([&] { root.child("other").check_keys(experiment_keys); });
  CHECK(error.key() == "other");
  CHECK(error.problem() == "expected a map of keys, got 5");
  CHECK(error.location().line == 2);
  CHECK(error.location().column == 8);
}

// Regression: YAML lets a repeated key parse, and check_keys used not to notice,
// so `{fee: 0.003, fee: 0.9}` silently used one of the two values.
TEST_CASE("check_keys rejects a key given twice in one map", "[config][node][regression]") {
  const ConfigNode root = root_of(
      "markets:\n"
      "  - {id: pool, type: cpmm, pair: [ETH, USDC], reserves: {ETH: 1, USDC: 2}, fee: 0.003, fee: 0.9}\n");
  const ConfigNode market = root.child("markets").element(0);
  const ConfigError error = config_error([&] { market.check_keys(market_keys); });
  CHECK(error.key() == "markets.pool.fee");
  CHECK(error.location().line == 2);
  CHECK(error.location().column == 88);
  CHECK_THAT(error.problem(), Contains("twice") || Contains("duplicate"));
}

// Regression: `deposit_numeraire: ~` (or `name:` with no value) passed
// check_keys, and the keyed reads then returned their fallback.
TEST_CASE("check_keys treats a required key with a null value as missing", "[config][node][regression]") {
  const ConfigNode root = root_of("experiment: {name: ~, paths: 4}\n");
  const ConfigError error = config_error([&] { root.child("experiment").check_keys(experiment_keys); });
  CHECK(error.key() == "experiment");
  CHECK_THAT(error.problem(), Contains("missing required key 'name'"));
}

// ---------------------------------------------------------------- types

TEST_CASE("scalar reads name the expected type and what was found", "[config][node]") {
  const ConfigNode root = root_of(
      "experiment:\n"
      "  paths: many\n"
      "  seed: 1.5\n"
      "  block_time: abc\n"
      "  name: [a, b]\n"
      "  antithetic: maybe\n"
      "  huge: .inf\n"
      "  nan: .nan\n"
      "  record: {every: 1}\n");
  const ConfigNode experiment = root.child("experiment");
  ConfigError error = config_error([&] { experiment.child("paths").as_integer(); });
  CHECK(error.key() == "experiment.paths");
  CHECK(error.problem() == "expected an integer, got 'many'");
  CHECK(error.location().line == 2);
  CHECK(error.location().column == 10);

  error = config_error([&] { experiment.child("seed").as_integer(); });
  CHECK(error.problem() == "expected an integer, got '1.5'");
  error = config_error([&] { experiment.child("block_time").as_number(); });
  CHECK(error.key() == "experiment.block_time");
  CHECK(error.problem() == "expected a number, got 'abc'");
  error = config_error([&] { experiment.child("name").as_string(); });
  CHECK(error.problem() == "expected a string, got a list");
  error = config_error([&] { experiment.child("name").as_number(); });
  CHECK(error.problem() == "expected a number, got a list");
  error = config_error([&] { experiment.child("record").as_integer(); });
  CHECK(error.problem() == "expected an integer, got a map");
  error = config_error([&] { experiment.child("antithetic").as_bool(); });
  CHECK(error.problem() == "expected true or false, got 'maybe'");
  error = config_error([&] { experiment.child("huge").as_number(); });
  CHECK(error.problem() == "expected a finite number, got '.inf'");
  error = config_error([&] { experiment.child("nan").as_number(); });
  CHECK(error.problem() == "expected a finite number, got '.nan'");
}

TEST_CASE("scalar reads accept what people write", "[config][node]") {
  const ConfigNode root = root_of("{a: 1e6, b: 10000.0, c: -3, d: 0.25, e: true, f: false, g: hello, h: 7}\n");
  CHECK(root.child("a").as_integer() == 1000000);
  CHECK(root.child("b").as_integer() == 10000);
  CHECK(root.child("c").as_integer() == -3);
  CHECK(root.child("d").as_number() == 0.25);
  CHECK(root.child("h").as_number() == 7.0);
  CHECK(root.child("e").as_bool());
  CHECK_FALSE(root.child("f").as_bool());
  CHECK(root.child("g").as_string() == "hello");
  CHECK(root.child("h").as_string() == "7");
}

TEST_CASE("keyed reads fall back to the default only when the key is absent", "[config][node]") {
  const ConfigNode root = root_of("{fee: 0.01, paths: 8, name: x, antithetic: true}\n");
  CHECK(root.number("fee", 0.003) == 0.01);
  CHECK(root.number("other", 0.003) == 0.003);
  CHECK(root.integer("paths", 1000) == 8);
  CHECK(root.integer("blocks", 7200) == 7200);
  CHECK(root.string("name", "dflt") == "x");
  CHECK(root.string("id", "dflt") == "dflt");
  CHECK(root.boolean("antithetic", false));
  CHECK_FALSE(root.boolean("check", false));
  CHECK(root.has("fee"));
  CHECK_FALSE(root.has("other"));
}

TEST_CASE("child of a missing key fails at the parent with the key named", "[config][node]") {
  const ConfigNode root = root_of("price:\n  process: gbm\n");
  const ConfigError error = config_error([&] { root.child("price").child("initial"); });
  CHECK(error.key() == "price");
  CHECK(error.problem() == "missing required key 'initial'");
  CHECK(error.location().line == 2);
  const ConfigError not_map = config_error([&] { root.child("price").child("process").child("x"); });
  CHECK(not_map.key() == "price.process");
  CHECK(not_map.problem() == "expected a map, got gbm");
}

TEST_CASE("list access on a non-list fails naming what it is", "[config][node]") {
  const ConfigNode root = root_of("markets: {id: pool}\nassets: ETH\n");
  ConfigError error = config_error([&] { root.child("markets").elements(); });
  CHECK(error.key() == "markets");
  CHECK(error.problem() == "expected a list, got a map");
  error = config_error([&] { root.child("assets").size(); });
  CHECK(error.problem() == "expected a list, got ETH");
  error = config_error([&] { root.child("assets").entries(); });
  CHECK(error.problem() == "expected a map, got ETH");
}

// ---------------------------------------------------------------- ranges

TEST_CASE("in_range names the valid interval with its open and closed ends", "[config][node]") {
  const ConfigNode root = root_of("{fee: 1.0, reserve: -1000, vol: 11, rho: -1.5, zero: 0}\n");
  ConfigError error = config_error([&] {
    const ConfigNode fee = root.child("fee");
    fee.in_range(fee.as_number(), 0.0, true, 1.0, false);
  });
  CHECK(error.key() == "fee");
  CHECK(error.problem() == "1 is out of range; valid: [0, 1)");
  CHECK(error.location().column == 7);

  error = config_error([&] {
    const ConfigNode reserve = root.child("reserve");
    reserve.in_range(reserve.as_number(), 0.0, false, INFINITY, false);
  });
  CHECK(error.problem() == "-1000 is out of range; valid: (0, inf)");

  error = config_error([&] {
    const ConfigNode zero = root.child("zero");
    zero.in_range(zero.as_number(), 0.0, false, INFINITY, false);
  });
  CHECK(error.problem() == "0 is out of range; valid: (0, inf)");

  error = config_error([&] { root.number_in("vol", 0.0, 0.0, true, 10.0, true); });
  CHECK(error.key() == "vol");
  CHECK(error.problem() == "11 is out of range; valid: [0, 10]");

  error = config_error([&] { root.number_in("rho", 0.0, -1.0, true, 1.0, true); });
  CHECK(error.problem() == "-1.5 is out of range; valid: [-1, 1]");

  // Inclusive ends are inside; absent keys take the fallback unchecked.
  CHECK(root.in_range(0.0, 0.0, true, 1.0, false) == 0.0);
  CHECK(root.in_range(10.0, 0.0, true, 10.0, true) == 10.0);
  CHECK(root.number_in("absent", 0.003, 0.0, true, 1.0, false) == 0.003);
}

TEST_CASE("at_least and integer_at_least name the minimum", "[config][node]") {
  const ConfigNode root = root_of("{paths: 0, seed: -1, blocks: 5}\n");
  ConfigError error = config_error([&] { root.integer_at_least("paths", 1000, 1); });
  CHECK(error.key() == "paths");
  CHECK(error.problem() == "0 is too small; must be at least 1");
  error = config_error([&] { root.integer_at_least("seed", 1, 0); });
  CHECK(error.key() == "seed");
  CHECK(error.problem() == "-1 is too small; must be at least 0");
  CHECK(root.integer_at_least("blocks", 7200, 1) == 5);
  CHECK(root.integer_at_least("absent", 7200, 1) == 7200);
  CHECK(root.at_least(3, 3) == 3);
}

TEST_CASE("one_of suggests the nearest choice", "[config][node]") {
  constexpr std::string_view processes[] = {"gbm", "jump_diffusion", "replay"};
  const ConfigNode root = root_of("{process: gmb, other: brownian}\n");
  CHECK(root.one_of("replay", processes) == "replay");
  ConfigError error = config_error([&] { root.child("process").one_of("gmb", processes); });
  CHECK(error.key() == "process");
  CHECK(error.problem() == "'gmb' is not valid; did you mean 'gbm'? (valid: gbm, jump_diffusion, replay)");
  error = config_error([&] { root.child("other").one_of("brownian", processes); });
  CHECK(error.problem() == "'brownian' is not valid; valid: gbm, jump_diffusion, replay");
}

// ---------------------------------------------------------------- element paths

TEST_CASE("element_path names list elements by id, then type, else by index", "[config][node]") {
  using defisim::config::element_path;
  CHECK(element_path("markets", YAML::Load("{id: pool, type: cpmm}"), 0) == "markets.pool");
  CHECK(element_path("agents", YAML::Load("{type: lp}"), 3) == "agents.lp");
  CHECK(element_path("agents", YAML::Load("{id: '', type: lp}"), 3) == "agents.lp");
  CHECK(element_path("markets", YAML::Load("{fee: 0.1}"), 2) == "markets[2]");
  CHECK(element_path("markets", YAML::Load("{id: [a], fee: 0.1}"), 1) == "markets[1]");
  CHECK(element_path("assets", YAML::Load("ETH"), 0) == "assets[0]");
  CHECK(element_path("price.correlation", YAML::Load("[1, 0]"), 1) == "price.correlation[1]");
  CHECK(element_path("", YAML::Load("{id: x}"), 0) == ".x");
}

TEST_CASE("elements and their children carry the element's name in their key path", "[config][node]") {
  const ConfigNode root = root_of(
      "markets:\n"
      "  - {id: pool, fee: 0.1}\n"
      "  - {fee: 0.2}\n"
      "agents:\n"
      "  - {type: lp}\n"
      "  - {type: lp, id: lp2, markets: [pool, other]}\n");
  const auto markets = root.child("markets").elements();
  REQUIRE(markets.size() == 2);
  CHECK(markets[0].key_path() == "markets.pool");
  CHECK(markets[0].child("fee").key_path() == "markets.pool.fee");
  CHECK(markets[1].key_path() == "markets[1]");
  CHECK(markets[1].child("fee").key_path() == "markets[1].fee");
  const auto agents = root.child("agents").elements();
  CHECK(agents[0].key_path() == "agents.lp");
  CHECK(agents[1].key_path() == "agents.lp2");
  CHECK(agents[1].child("markets").element(1).key_path() == "agents.lp2.markets[1]");
  const auto entries = markets[0].entries();
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].first == "id");
  CHECK(entries[1].second.key_path() == "markets.pool.fee");
  const ConfigError error = config_error([&] { markets[1].child("fee").in_range(0.2, 0.0, true, 0.1, true); });
  CHECK(error.key() == "markets[1].fee");
  CHECK(error.location().line == 3);
  CHECK(error.location().column == 11);
}

// ---------------------------------------------------------------- locations

TEST_CASE("a location names the file, line and column, without a line only the file", "[config][node]") {
  CHECK(defisim::core::SourceLocation{"a.yaml", 3, 7}.to_string() == "a.yaml:3:7");
  CHECK(defisim::core::SourceLocation{"--set x=1", 0, 0}.to_string() == "--set x=1");
  const ConfigError error("markets.pool.fee", {"a.yaml", 3, 7}, "1 is out of range; valid: [0, 1)");
  CHECK(std::string(error.what()) == "a.yaml:3:7: error: 'markets.pool.fee': 1 is out of range; valid: [0, 1)");
  const ConfigError no_line("x.y", {"--set x.y=2", 0, 0}, "bad");
  CHECK(std::string(no_line.what()) == "--set x.y=2: error: 'x.y': bad");
  const ConfigNode root = root_of("{}");
  const ConfigError at_root = config_error([&] { root.fail("boom"); });
  CHECK(at_root.key() == "<root>");
}

TEST_CASE("a value overridden by --set or a sweep is located at the override", "[config][node]") {
  const auto from = origins("exp.yaml", {{"markets.pool.fee", "--set markets.pool.fee=2"},
                                         {"agents.arb", "sweep scenario 1 (agents.arb={})"}});
  const ConfigNode root = root_of(
      "markets:\n"
      "  - {id: pool, fee: 2, feex: 1}\n"
      "agents:\n"
      "  - {id: arb, gas_used: 5}\n"
      "  - {id: arb2, gas_used: 5}\n",
      from);
  const ConfigNode pool = root.child("markets").element(0);
  const auto fee = pool.child("fee").location();
  CHECK(fee.file == "--set markets.pool.fee=2");
  CHECK(fee.line == 0);
  CHECK(fee.to_string() == "--set markets.pool.fee=2");
  // A key that merely starts with the same letters is not under the override.
  const auto feex = pool.child("feex").location();
  CHECK(feex.file == "exp.yaml");
  CHECK(feex.line == 2);
  // Everything below an overridden key comes from the override.
  const auto agents = root.child("agents").elements();
  CHECK(agents[0].child("gas_used").location().file == "sweep scenario 1 (agents.arb={})");
  CHECK(agents[1].child("gas_used").location().file == "exp.yaml");
  CHECK(agents[1].child("gas_used").location().line == 5);
  // The pool itself is not overridden.
  CHECK(pool.location().file == "exp.yaml");
}

// ---------------------------------------------------------------- apply_override

TEST_CASE("apply_override reaches a sweep grid's dotted keys, so a sweep can be narrowed from the command line",
          "[config][node][override]") {
  YAML::Node root = YAML::Load(
      "chain: {ordering: fifo}\nsweep: {grid: {chain.ordering: [mev, private], markets.pool.fee: [0.001, 0.003]}}\n");
  defisim::config::apply_override(root, "sweep.grid.chain.ordering", YAML::Load("[mev]"),
                                  "--set sweep.grid.chain.ordering=[mev]");
  REQUIRE(root["sweep"]["grid"]["chain.ordering"].IsSequence());
  CHECK(root["sweep"]["grid"]["chain.ordering"].size() == 1);
  CHECK(root["sweep"]["grid"]["markets.pool.fee"].size() == 2);
  // The plain path is untouched, and no nested chain: {ordering: ...} appeared in the grid.
  CHECK(root["chain"]["ordering"].as<std::string>() == "fifo");
  CHECK_FALSE(root["sweep"]["grid"]["chain"]);
}

TEST_CASE("apply_override sets map keys, existing and new", "[config][node][override]") {
  YAML::Node root = YAML::Load("experiment: {name: x, paths: 10}\nchain: {gas_price_gwei: 1}\n");
  defisim::config::apply_override(root, "experiment.paths", YAML::Load("20"), "--set experiment.paths=20");
  CHECK(root["experiment"]["paths"].as<int>() == 20);
  defisim::config::apply_override(root, "experiment.seed", YAML::Load("7"), "--set experiment.seed=7");
  CHECK(root["experiment"]["seed"].as<int>() == 7);
  defisim::config::apply_override(root, "chain", YAML::Load("{ordering: random}"), "--set chain={ordering: random}");
  CHECK(root["chain"]["ordering"].as<std::string>() == "random");
  CHECK_FALSE(root["chain"]["gas_price_gwei"]);
  defisim::config::apply_override(root, "numeraire", YAML::Load("USDC"), "--set numeraire=USDC");
  CHECK(root["numeraire"].as<std::string>() == "USDC");
  // The untouched parts stay.
  CHECK(root["experiment"]["name"].as<std::string>() == "x");
}

TEST_CASE("apply_override addresses list elements by id, by type and by [index]", "[config][node][override]") {
  YAML::Node root = YAML::Load(
      "markets:\n"
      "  - {id: pool, fee: 0.003}\n"
      "  - {id: other, fee: 0.003}\n"
      "agents:\n"
      "  - {type: arbitrageur, gas_used: 1}\n"
      "  - {type: lp, id: lp1, market: pool}\n"
      "price: {volatility: {ETH: 0.8}, correlation: [[1, 0], [0, 1]]}\n");
  using defisim::config::apply_override;
  apply_override(root, "markets.other.fee", YAML::Load("0.01"), "o");
  CHECK(root["markets"][1]["fee"].as<double>() == 0.01);
  CHECK(root["markets"][0]["fee"].as<double>() == 0.003);
  apply_override(root, "markets[0].fee", YAML::Load("0.02"), "o");
  CHECK(root["markets"][0]["fee"].as<double>() == 0.02);
  apply_override(root, "agents.arbitrageur.gas_used", YAML::Load("99"), "o");
  CHECK(root["agents"][0]["gas_used"].as<int>() == 99);
  apply_override(root, "agents.lp1.market", YAML::Load("other"), "o");
  CHECK(root["agents"][1]["market"].as<std::string>() == "other");
  apply_override(root, "price.volatility.ETH", YAML::Load("0.5"), "o");
  CHECK(root["price"]["volatility"]["ETH"].as<double>() == 0.5);
  apply_override(root, "price.correlation[1][0]", YAML::Load("0.3"), "o");
  CHECK(root["price"]["correlation"][1][0].as<double>() == 0.3);
  apply_override(root, "markets[1]", YAML::Load("{id: other, fee: 0.5}"), "o");
  CHECK(root["markets"][1]["fee"].as<double>() == 0.5);
  apply_override(root, "markets.pool.reserves", YAML::Load("{ETH: 1, USDC: 2}"), "o");
  CHECK(root["markets"][0]["reserves"]["USDC"].as<double>() == 2.0);
}

TEST_CASE("apply_override: a missing map on the way is created, a missing list element is an error naming the override", "[config][node][override]") {
  YAML::Node root = YAML::Load(
      "experiment: {name: x, paths: 10}\n"
      "markets:\n"
      "  - {id: pool, fee: 0.003}\n"
      "  - {fee: 0.003}\n");
  using defisim::config::apply_override;
  const YAML::Node value = YAML::Load("1");

  // An optional section the file leaves out is created (validation then
  // judges its keys like any other).
  apply_override(root, "experiment.nope.x", value, "--set experiment.nope.x=1");
  CHECK(root["experiment"]["nope"].IsMap());
  CHECK(root["experiment"]["nope"]["x"].as<int>() == 1);
  CHECK(root["experiment"]["paths"].as<int>() == 10);
  apply_override(root, "nope.fee", value, "sweep scenario 0 (nope.fee=1)");
  CHECK(root["nope"]["fee"].as<int>() == 1);

  ConfigError error = config_error([&] { apply_override(root, "experiment.name.x", value, "--set experiment.name.x=1"); });
  CHECK(error.location().file == "--set experiment.name.x=1");
  CHECK(error.problem() == "'experiment.name' is not a map");

  error = config_error([&] { apply_override(root, "markets.pol.fee", value, "--set markets.pol.fee=1"); });
  CHECK(error.key() == "markets.pol.fee");
  CHECK(error.problem() == "'markets' has no element with id 'pol'; ids: pool, [1]");

  error = config_error([&] { apply_override(root, "markets[5].fee", value, "o"); });
  CHECK(error.key() == "markets[5].fee");
  CHECK(error.problem() == "'markets' has no element 5");

  error = config_error([&] { apply_override(root, "markets[2]", value, "o"); });
  CHECK(error.problem() == "'markets' has no element 2");

  error = config_error([&] { apply_override(root, "experiment.paths.x", value, "o"); });
  CHECK(error.problem() == "'experiment.paths' is not a map");

  error = config_error([&] { apply_override(root, "experiment.name.first.x", value, "o"); });
  CHECK(error.problem() == "'experiment.name' is not a map or list");

  error = config_error([&] { apply_override(root, "", value, "o"); });
  CHECK(error.problem() == "empty key");

  // Nothing was changed by the failed overrides.
  CHECK(root["experiment"]["paths"].as<int>() == 10);
  CHECK(root["experiment"]["name"].as<std::string>() == "x");
  CHECK(root["markets"].size() == 2);
}

// Regression: a non-numeric or huge index reached std::stoul unchecked, and the
// CLI reported "internal error: stoul" (exit 1) instead of naming the --set.
TEST_CASE("apply_override rejects a malformed list index as a ConfigError", "[config][node][override][regression]") {
  YAML::Node root = YAML::Load("markets:\n  - {id: pool, fee: 0.003}\n");
  const YAML::Node value = YAML::Load("1");
  for (const std::string key : {"markets[x].fee", "markets[99999999999999999999999].fee", "markets[x]", "markets[]"}) {
    INFO(key);
    const ConfigError error =
        config_error([&] { defisim::config::apply_override(root, key, value, "--set " + key + "=1"); });
    CHECK(error.key() == key);
    CHECK(error.location().file == "--set " + key + "=1");
    CHECK_THAT(error.problem(), Contains("is not a list index"));
  }
}

// ---------------------------------------------------------------- parse_assignment

TEST_CASE("parse_assignment splits KEY=VALUE and parses the value as YAML", "[config][node][override]") {
  using defisim::config::parse_assignment;
  auto [key, value] = parse_assignment("markets.pool.fee=0.0005");
  CHECK(key == "markets.pool.fee");
  REQUIRE(value.IsScalar());
  CHECK(value.as<double>() == 0.0005);

  auto [list_key, list] = parse_assignment("agents.arb.markets=[pool, other]");
  CHECK(list_key == "agents.arb.markets");
  REQUIRE(list.IsSequence());
  CHECK(list.size() == 2);
  CHECK(list[1].as<std::string>() == "other");

  auto [map_key, map] = parse_assignment("price.volatility={ETH: 0.5}");
  REQUIRE(map.IsMap());
  CHECK(map["ETH"].as<double>() == 0.5);

  // Only the first '=' separates.
  auto [eq_key, eq_value] = parse_assignment("experiment.name=a=b");
  CHECK(eq_key == "experiment.name");
  CHECK(eq_value.as<std::string>() == "a=b");

  auto [empty_key, empty_value] = parse_assignment("experiment.name=");
  CHECK(empty_key == "experiment.name");
  CHECK_FALSE(empty_value.IsScalar());  // an empty value is YAML null
}

TEST_CASE("parse_assignment rejects what is not KEY=VALUE with an InputError naming the argument",
          "[config][node][override]") {
  using defisim::config::parse_assignment;
  for (const std::string bad : {"experiment.paths", "=5", ""}) {
    INFO(bad);
    try {
      parse_assignment(bad);
      FAIL("no error");
    } catch (const ConfigError&) {
      FAIL("expected a plain InputError");
    } catch (const InputError& error) {
      CHECK_THAT(error.what(), Contains("--set '" + bad + "': expected KEY=VALUE"));
    }
  }
  try {
    parse_assignment("agents.arb.gas_used=[1");
    FAIL("no error");
  } catch (const InputError& error) {
    CHECK_THAT(error.what(), Contains("--set 'agents.arb.gas_used=[1': value is not valid YAML"));
  }
}

// ---------------------------------------------------------------- files

TEST_CASE("load_yaml_file: a missing file is an InputError, a syntax error has its line and column",
          "[config][node]") {
  const TempDir dir;
  const std::string missing = (dir.path / "missing.yaml").string();
  try {
    defisim::config::load_yaml_file(missing);
    FAIL("no error");
  } catch (const ConfigError&) {
    FAIL("expected a plain InputError");
  } catch (const InputError& error) {
    CHECK(std::string(error.what()) == missing + ": error: cannot open config file");
  }

  const std::string bad = dir.write("bad.yaml", "experiment:\n  name: t\n   paths: 3\n");
  const ConfigError error = config_error([&] { defisim::config::load_yaml_file(bad); });
  CHECK(error.key() == "<yaml syntax>");
  CHECK(error.location().file == bad);
  CHECK(error.location().line == 3);
  CHECK(error.location().column == 9);
  CHECK(error.problem() == "illegal map value");

  const std::string good = dir.write("good.yaml", "a: {b: 1}\n");
  const YAML::Node node = defisim::config::load_yaml_file(good);
  CHECK(node["a"]["b"].as<int>() == 1);
  const ConfigNode wrapped(node, "", origins(good));
  CHECK(wrapped.child("a").child("b").location().to_string() == good + ":1:8");
}
