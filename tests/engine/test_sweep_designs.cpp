// Space-filling sweep designs (framework/engine/sweep_design.hpp and
// sweep.latin_hypercube / sweep.sobol in framework/engine/config_loader.cpp):
// the Sobol sequence is the published one, Latin hypercubes stratify every
// dimension and are reproducible from their seed, and a design's points become
// scenarios whose specs carry the values.
#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "framework/core/errors.hpp"
#include "framework/engine/config_loader.hpp"
#include "framework/engine/sweep_design.hpp"

namespace {

namespace design = defisim::engine::sweep_design;
using defisim::engine::Experiment;
using defisim::engine::load_experiment_text;

// The index of the equal interval of [0, 1) (of `count`) that u falls in.
std::size_t interval(double u, std::size_t count) { return static_cast<std::size_t>(u * static_cast<double>(count)); }

// Each of the `count` intervals holds exactly one of the design's points in `dimension`.
bool one_per_interval(const design::UnitDesign& unit, std::size_t dimension, std::size_t count) {
  std::vector<int> hits(count, 0);
  for (std::size_t i = 0; i < unit.points; ++i) {
    const double u = unit.at(i, dimension);
    if (!(u >= 0.0 && u < 1.0)) return false;
    ++hits[interval(u, count)];
  }
  for (int h : hits) {
    if (h != 1) return false;
  }
  return true;
}

// Base-2 radical inverse (van der Corput): the bits of i mirrored about the binary point.
double radical_inverse(std::uint32_t i) {
  double value = 0.0, digit = 0.5;
  for (; i != 0; i >>= 1, digit /= 2) {
    if (i & 1u) value += digit;
  }
  return value;
}

}  // namespace

TEST_CASE("sobol: the first ten points in three dimensions are those of Joe and Kuo", "[engine][sweep]") {
  // The first 10 points that Joe and Kuo's sobol.cc prints with the direction
  // numbers new-joe-kuo-6.21201 (https://web.maths.unsw.edu.au/~fkuo/sobol/),
  // Gray-code order, point 0 the origin. Dimension 1 is the van der Corput
  // sequence in Gray-code order; dimension 2 (s = 1, m_1 = 1: V = 1/2, 3/4,
  // 5/8, ...): 0.5, 0.25, 0.75, 0.375, ...; dimension 3 (s = 2, a = 1,
  // m = 1, 3: V = 1/2, 3/4, 3/8, ...): 0.5, 0.25, 0.75, 0.625, ...
  const double expected[10][3] = {
      {0, 0, 0},           {0.5, 0.5, 0.5},       {0.75, 0.25, 0.25},     {0.25, 0.75, 0.75},
      {0.375, 0.375, 0.625}, {0.875, 0.875, 0.125}, {0.625, 0.125, 0.875},  {0.125, 0.625, 0.375},
      {0.1875, 0.3125, 0.9375}, {0.6875, 0.8125, 0.4375}};
  const design::UnitDesign unit = design::sobol(10, 3);
  REQUIRE(unit.points == 10);
  REQUIRE(unit.dimensions == 3);
  for (std::size_t i = 0; i < 10; ++i) {
    for (std::size_t j = 0; j < 3; ++j) {
      INFO("point " << i << " dimension " << j + 1);
      CHECK(unit.at(i, j) == expected[i][j]);  // exact: multiples of 2^-4
    }
  }
  // The first dimensions do not depend on how many are asked for.
  const design::UnitDesign wide = design::sobol(10, design::sobol_max_dimensions);
  for (std::size_t i = 0; i < 10; ++i) {
    for (std::size_t j = 0; j < 3; ++j) CHECK(wide.at(i, j) == expected[i][j]);
  }
}

TEST_CASE("sobol: dimension 1 is the van der Corput sequence in Gray-code order", "[engine][sweep]") {
  // Point i of dimension 1 is the radical inverse of gray(i) = i ^ (i >> 1)
  // (Antonov and Saleev 1979; all m_i = 1, V_i = 2^-i).
  const design::UnitDesign unit = design::sobol(4096, 1);
  for (std::uint32_t i = 0; i < 4096; ++i) {
    INFO("point " << i);
    CHECK(unit.at(i, 0) == radical_inverse(i ^ (i >> 1)));
  }
}

TEST_CASE("sobol: the first 2^k points put one point in each of 2^k intervals of every dimension", "[engine][sweep]") {
  // Sobol's property A in one dimension: every one-dimensional projection of
  // the first 2^k points is a (0, k, 1)-net in base 2.
  const design::UnitDesign unit = design::sobol(std::size_t{1} << 12, design::sobol_max_dimensions);
  for (std::size_t k = 0; k <= 12; ++k) {
    const std::size_t count = std::size_t{1} << k;
    design::UnitDesign prefix{count, unit.dimensions,
                              std::vector<double>(unit.u.begin(), unit.u.begin() + count * unit.dimensions)};
    for (std::size_t j = 0; j < unit.dimensions; ++j) {
      INFO("2^" << k << " points, dimension " << j + 1);
      CHECK(one_per_interval(prefix, j, count));
    }
  }
  // And the dimensions differ from each other (no table line copied twice).
  for (std::size_t a = 0; a < unit.dimensions; ++a) {
    for (std::size_t b = a + 1; b < unit.dimensions; ++b) {
      bool differ = false;
      for (std::size_t i = 0; i < unit.points && !differ; ++i) differ = unit.at(i, a) != unit.at(i, b);
      INFO("dimensions " << a + 1 << " and " << b + 1);
      CHECK(differ);
    }
  }
}

TEST_CASE("latin hypercube: every dimension has exactly one point per stratum", "[engine][sweep]") {
  for (std::size_t n : {1, 2, 7, 100, 1000}) {
    for (bool centered : {false, true}) {
      const design::UnitDesign unit = design::latin_hypercube(n, 6, 7, centered);
      REQUIRE(unit.u.size() == n * 6);
      for (std::size_t j = 0; j < 6; ++j) {
        INFO(n << " points, dimension " << j << (centered ? ", centered" : ""));
        CHECK(one_per_interval(unit, j, n));
        if (centered) {
          for (std::size_t i = 0; i < n; ++i) {
            const double u = unit.at(i, j);
            CHECK(u == Approx((static_cast<double>(interval(u, n)) + 0.5) / static_cast<double>(n)).epsilon(1e-14));
          }
        }
      }
    }
  }
}

TEST_CASE("latin hypercube: the same seed gives the same design and another seed another", "[engine][sweep]") {
  const design::UnitDesign a = design::latin_hypercube(50, 4, 7, false);
  const design::UnitDesign b = design::latin_hypercube(50, 4, 7, false);
  const design::UnitDesign c = design::latin_hypercube(50, 4, 8, false);
  CHECK(a.u == b.u);
  CHECK(a.u != c.u);
  // The dimensions are not the same permutation.
  std::size_t same = 0;
  for (std::size_t i = 0; i < 50; ++i) same += interval(a.at(i, 0), 50) == interval(a.at(i, 1), 50);
  CHECK(same < 50);
  // centered keeps the strata of the jittered design (its own Philox stream for the positions).
  const design::UnitDesign centered = design::latin_hypercube(50, 4, 7, true);
  for (std::size_t i = 0; i < a.u.size(); ++i) CHECK(interval(a.u[i], 50) == interval(centered.u[i], 50));
  // A design of fewer dimensions is a prefix of a wider one (dimension j uses Philox path j).
  const design::UnitDesign narrow = design::latin_hypercube(50, 2, 7, false);
  for (std::size_t i = 0; i < 50; ++i) {
    CHECK(narrow.at(i, 0) == a.at(i, 0));
    CHECK(narrow.at(i, 1) == a.at(i, 1));
  }
}

TEST_CASE("sweep ranges: linear and log maps and integer ranges", "[engine][sweep]") {
  const design::Range linear{0.3, 1.2, false, false};
  CHECK(design::map_to_range(0.0, linear) == 0.3);
  CHECK(design::map_to_range(0.5, linear) == Approx(0.75).epsilon(1e-15));
  CHECK(design::map_to_range(std::nextafter(1.0, 0.0), linear) <= 1.2);

  // Log scale: strata equal in log space; u = 0 is low exactly.
  const design::Range log{0.0005, 0.01, true, false};
  CHECK(design::map_to_range(0.0, log) == 0.0005);
  CHECK(design::map_to_range(0.5, log) == Approx(std::sqrt(0.0005 * 0.01)).epsilon(1e-14));
  const std::size_t n = 20;
  const design::UnitDesign unit = design::latin_hypercube(n, 1, 3, false);
  std::set<std::size_t> strata;
  for (std::size_t i = 0; i < n; ++i) {
    const double value = design::map_to_range(unit.at(i, 0), log);
    CHECK(value >= 0.0005);
    CHECK(value < 0.01);
    const double position = (std::log(value) - std::log(0.0005)) / (std::log(0.01) - std::log(0.0005));
    strata.insert(interval(position, n));
  }
  CHECK(strata.size() == n);  // one value per log-space stratum
  // ... which a linear map would not give: the linear midpoint 0.00525 is
  // ln(10.5) / ln(20) = 0.785 of the way in log space, so the 15 log strata
  // 0..14 lie below it (linear strata: 10).
  std::size_t below_middle = 0;
  for (std::size_t i = 0; i < n; ++i) below_middle += design::map_to_range(unit.at(i, 0), log) < 0.00525;
  CHECK(below_middle >= 15);
  CHECK(below_middle <= 16);

  // Integers: each of low..high takes an equal share of [0, 1).
  const design::Range dice{1, 6, false, true};
  std::vector<int> counts(7, 0);
  const design::UnitDesign sobol = design::sobol(6, 1);
  for (std::size_t i = 0; i < 6; ++i) ++counts[static_cast<std::size_t>(design::map_to_range((i + 0.5) / 6, dice))];
  CHECK(counts == std::vector<int>{0, 1, 1, 1, 1, 1, 1});
  CHECK(design::map_to_range(0.0, dice) == 1);
  CHECK(design::map_to_range(std::nextafter(1.0, 0.0), dice) == 6);
  CHECK(design::map_to_range(sobol.at(1, 0), dice) == 4);  // 0.5 -> 1 + floor(3) = 4
  const design::Range log_integers{1, 1000, true, true};
  CHECK(design::map_to_range(0.0, log_integers) == 1);
  CHECK(design::map_to_range(0.5, log_integers) == 31);  // floor(sqrt(1001)) = 31
  CHECK(design::map_to_range(std::nextafter(1.0, 0.0), log_integers) == 1000);
}

TEST_CASE("sweep ranges: values are written as text that reads back exactly", "[engine][sweep]") {
  for (double value : {0.1, 0.0005, 1e-5, 0.0012345678901234567, 1.0 / 3.0, 2.0, 123456789.125, -0.75, 3e20}) {
    const std::string text = design::value_text(value, false);
    INFO(text);
    CHECK(std::stod(text) == value);
    CHECK(YAML::Load(text).as<double>() == value);
  }
  CHECK(design::value_text(0.1, false) == "0.1");
  CHECK(design::value_text(42.0, true) == "42");
  CHECK(design::value_text(-3.0, true) == "-3");
}

namespace {

const std::string base_config = R"(experiment:
  name: sweep_designs
  seed: 11
  paths: 4
  blocks: 10
assets: [ETH, USDC]
numeraire: USDC
chain: {gas_price_gwei: 10}
price:
  process: gbm
  initial: {ETH: 2000}
  volatility: {ETH: 0.8}
markets:
  - {id: pool, type: cpmm, pair: [ETH, USDC], reserves: {ETH: 1000, USDC: 2000000}, fee: 0.003}
agents:
  - {id: arb, type: arbitrageur, markets: [pool], gas_used: 120000}
)";

double pool_fee(const defisim::engine::Scenario& scenario) {
  return std::get<defisim::markets::CpmmParams>(scenario.spec->markets.at(0)).fee;
}
double eth_volatility(const defisim::engine::Scenario& scenario) {
  return std::get<defisim::core::GbmParams>(scenario.spec->price).volatility(0);
}

std::string parameter(const defisim::engine::Scenario& scenario, const std::string& key) {
  for (const auto& [name, value] : scenario.parameters) {
    if (name == key) return value;
  }
  FAIL("scenario " << scenario.index << " has no parameter " << key);
  return {};
}

// The ConfigError that loading `yaml` throws.
defisim::core::ConfigError load_error(const std::string& yaml, const defisim::engine::LoadOptions& options = {}) {
  try {
    load_experiment_text(yaml, "bad.yaml", options);
  } catch (const defisim::core::ConfigError& error) {
    return error;
  }
  FAIL("the config loaded:\n" << yaml);
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("sweep: a latin hypercube config loads into one scenario per point with the values applied",
          "[engine][sweep]") {
  const std::string yaml = base_config + R"(sweep:
  latin_hypercube:
    points: 20
    seed: 7
    ranges:
      markets.pool.fee: {low: 0.0005, high: 0.01, scale: log}
      price.volatility.ETH: {low: 0.3, high: 1.2}
      chain.max_transactions_per_block: {low: 10, high: 29, integer: true}
)";
  const Experiment experiment = load_experiment_text(yaml, "lhs.yaml");
  REQUIRE(experiment.scenarios.size() == 20);
  const design::UnitDesign unit = design::latin_hypercube(20, 3, 7, false);
  std::set<std::uint32_t> transactions;
  for (const auto& scenario : experiment.scenarios) {
    INFO("scenario " << scenario.index);
    REQUIRE(scenario.parameters.size() == 3);
    CHECK(scenario.parameters[0].first == "markets.pool.fee");
    CHECK(scenario.parameters[1].first == "price.volatility.ETH");
    CHECK(scenario.parameters[2].first == "chain.max_transactions_per_block");
    // The spec has exactly the value the parameter text says, which is the design's.
    const double fee = design::map_to_range(unit.at(scenario.index, 0), {0.0005, 0.01, true, false});
    CHECK(pool_fee(scenario) == fee);
    CHECK(std::stod(parameter(scenario, "markets.pool.fee")) == fee);
    const double volatility = design::map_to_range(unit.at(scenario.index, 1), {0.3, 1.2, false, false});
    CHECK(eth_volatility(scenario) == volatility);
    CHECK(std::stod(parameter(scenario, "price.volatility.ETH")) == volatility);
    const std::string text = parameter(scenario, "chain.max_transactions_per_block");
    CHECK(text.find_first_not_of("0123456789") == std::string::npos);
    CHECK(scenario.spec->max_transactions_per_block == std::stoul(text));
    transactions.insert(scenario.spec->max_transactions_per_block);
    // Common random numbers: every scenario keeps the experiment's seed.
    CHECK(scenario.spec->seed == 11);
  }
  // 20 strata over the 20 integers 10..29: each integer once.
  CHECK(transactions.size() == 20);
  CHECK(*transactions.begin() == 10);
  CHECK(*transactions.rbegin() == 29);

  // The embedded config reproduces the scenarios exactly.
  const Experiment again = load_experiment_text(experiment.resolved_yaml, "embedded");
  REQUIRE(again.scenarios.size() == 20);
  for (std::size_t k = 0; k < 20; ++k) CHECK(again.scenarios[k].parameters == experiment.scenarios[k].parameters);
}

TEST_CASE("sweep: a latin hypercube without a seed uses experiment.seed", "[engine][sweep]") {
  auto design_yaml = [](const std::string& seed_line) {
    return base_config + "sweep:\n  latin_hypercube:\n    points: 8\n" + seed_line +
           "    ranges: {markets.pool.fee: {low: 0.001, high: 0.01}}\n";
  };
  auto parameters = [](const Experiment& experiment) {
    std::vector<std::string> values;
    for (const auto& scenario : experiment.scenarios) values.push_back(scenario.parameters.at(0).second);
    return values;
  };
  const auto implicit = parameters(load_experiment_text(design_yaml(""), "a.yaml"));
  CHECK(implicit == parameters(load_experiment_text(design_yaml("    seed: 11\n"), "b.yaml")));
  CHECK(implicit != parameters(load_experiment_text(design_yaml("    seed: 12\n"), "c.yaml")));
  defisim::engine::LoadOptions options;
  options.assignments = {"experiment.seed=12"};
  CHECK(parameters(load_experiment_text(design_yaml(""), "d.yaml", options)) ==
        parameters(load_experiment_text(design_yaml("    seed: 12\n"), "c.yaml")));
}

TEST_CASE("sweep: a sobol config loads into the first points of the sequence", "[engine][sweep]") {
  const std::string yaml = base_config + R"(sweep:
  sobol:
    points: 8
    ranges:
      markets.pool.fee: {low: 0.001, high: 0.009}
      price.volatility.ETH: {low: 0.2, high: 1.0}
)";
  const Experiment experiment = load_experiment_text(yaml, "sobol.yaml");
  REQUIRE(experiment.scenarios.size() == 8);
  // Joe and Kuo's first 8 points of dimensions 1 and 2 (see the first test
  // case): 0, 0.5, 0.75, 0.25, 0.375, 0.875, 0.625, 0.125 and
  //         0, 0.5, 0.25, 0.75, 0.375, 0.875, 0.125, 0.625.
  const double u1[8] = {0, 0.5, 0.75, 0.25, 0.375, 0.875, 0.625, 0.125};
  const double u2[8] = {0, 0.5, 0.25, 0.75, 0.375, 0.875, 0.125, 0.625};
  std::set<std::size_t> fee_intervals, volatility_intervals;
  for (const auto& scenario : experiment.scenarios) {
    INFO("scenario " << scenario.index);
    const double fee = 0.001 + u1[scenario.index] * (0.009 - 0.001);
    const double volatility = 0.2 + u2[scenario.index] * (1.0 - 0.2);
    CHECK(pool_fee(scenario) == fee);
    CHECK(parameter(scenario, "markets.pool.fee") == design::value_text(fee, false));
    CHECK(eth_volatility(scenario) == volatility);
    CHECK(parameter(scenario, "price.volatility.ETH") == design::value_text(volatility, false));
    // The values sit at the interval starts low + k (high - low) / 8 (up to rounding).
    fee_intervals.insert(static_cast<std::size_t>(std::lround((fee - 0.001) / 0.008 * 8)));
    volatility_intervals.insert(static_cast<std::size_t>(std::lround((volatility - 0.2) / 0.8 * 8)));
  }
  CHECK(parameter(experiment.scenarios[0], "markets.pool.fee") == "0.001");  // the origin: every low
  CHECK(parameter(experiment.scenarios[0], "price.volatility.ETH") == "0.2");
  CHECK(fee_intervals.size() == 8);
  CHECK(volatility_intervals.size() == 8);
}

TEST_CASE("sweep: bad design configs name the key and what is valid", "[engine][sweep]") {
  auto sobol = [](const std::string& body) { return base_config + "sweep:\n  sobol:\n" + body; };
  auto lhs = [](const std::string& body) { return base_config + "sweep:\n  latin_hypercube:\n" + body; };
  const std::string fee_range = "    ranges: {markets.pool.fee: {low: 0.001, high: 0.01}}\n";

  auto error = load_error(sobol("    points: 0\n" + fee_range));
  CHECK(error.key() == "sweep.sobol.points");
  CHECK(error.problem() == "0 is too small; must be at least 1");
  CHECK(error.location().file == "bad.yaml");
  CHECK(error.location().line == 19);
  CHECK(error.location().column == 13);

  error = load_error(lhs("    points: 100001\n" + fee_range));
  CHECK(error.key() == "sweep.latin_hypercube.points");
  CHECK(error.problem() == "100001 scenarios is too many (at most 100000)");

  error = load_error(lhs("    points: 4\n    ranges: {markets.pool.fee: {low: 0.01, high: 0.01}}\n"));
  CHECK(error.key() == "sweep.latin_hypercube.ranges.markets.pool.fee.high");
  CHECK(error.problem() == "0.01 is out of range; valid: high > low (0.01)");

  error = load_error(sobol("    points: 4\n    ranges: {markets.pool.fee: {low: 0, high: 0.01, scale: log}}\n"));
  CHECK(error.key() == "sweep.sobol.ranges.markets.pool.fee.low");
  CHECK(error.problem() == "0 is out of range; scale: log needs low > 0");

  error = load_error(sobol("    points: 4\n    ranges: {markets.pool.fee: {low: 0.001, high: 0.01, scale: lg}}\n"));
  CHECK(error.key() == "sweep.sobol.ranges.markets.pool.fee.scale");
  CHECK(error.problem() == "'lg' is not valid; did you mean 'log'? (valid: linear, log)");

  error = load_error(sobol("    points: 4\n    ranges: {markets.pool.fee: [0.001, 0.01]}\n"));
  CHECK(error.key() == "sweep.sobol.ranges.markets.pool.fee");
  CHECK(error.problem() == "expected a range {low: ..., high: ...}, got [0.001, 0.01]");

  error = load_error(sobol("    points: 4\n    ranges: {}\n"));
  CHECK(error.key() == "sweep.sobol.ranges");
  CHECK_THAT(error.problem(), Catch::Matchers::StartsWith("a design needs at least one range"));

  error = load_error(lhs("    points: 4\n    ranges: {chain.max_transactions_per_block: {low: 1, high: 9.5, "
                         "integer: true}}\n"));
  CHECK(error.key() == "sweep.latin_hypercube.ranges.chain.max_transactions_per_block.high");
  CHECK(error.problem() == "9.5 is not an integer; integer: true needs integer low and high");

  error = load_error(lhs("    points: 4\n    seed: 4294967296\n" + fee_range));
  CHECK(error.key() == "sweep.latin_hypercube.seed");
  CHECK(error.problem() == "4294967296 is out of range; valid: [0, 4294967295]");

  error = load_error(lhs("    points: 4\n    ranges: {experiment.paths: {low: 1, high: 9}}\n"));
  CHECK(error.key() == "sweep.latin_hypercube.ranges.experiment.paths");
  CHECK(error.problem() == "experiment settings cannot be swept");

  error = load_error(lhs("    points: 4\n    range: {}\n"));
  CHECK(error.key() == "sweep.latin_hypercube.range");
  CHECK_THAT(error.problem(), Catch::Matchers::StartsWith("unknown key; did you mean 'ranges'?"));

  error = load_error(base_config + "sweep:\n  grid: {markets.pool.fee: [0.001]}\n  sobol: {points: 2}\n");
  CHECK(error.key() == "sweep");
  CHECK(error.problem() == "give exactly one of `grid`, `list`, `latin_hypercube` or `sobol`");

  std::string many = "    points: 4\n    ranges:\n";
  for (int i = 0; i < 33; ++i) many += "      agents.arb.k" + std::to_string(i) + ": {low: 0, high: 1}\n";
  error = load_error(sobol(many));
  CHECK(error.key() == "sweep.sobol.ranges");
  CHECK(error.problem() ==
        "33 ranges; the Sobol direction numbers here cover 32 dimensions, so at most 32 keys (use latin_hypercube "
        "for more)");
}

TEST_CASE("sweep: a design over an unknown key names the sweep scenario and the range", "[engine][sweep]") {
  const std::string yaml =
      base_config + "sweep:\n  latin_hypercube:\n    points: 3\n    ranges:\n      markets.pool.fees: {low: 0.001, high: 0.01}\n";
  const auto error = load_error(yaml);
  CHECK(error.key() == "markets.pool.fees");
  CHECK_THAT(error.problem(), Catch::Matchers::StartsWith("unknown key; did you mean 'fee'?"));
  // "sweep scenario 0 (markets.pool.fees=<value>, bad.yaml:<line>:<column> of the range)"
  CHECK_THAT(error.location().file, Catch::Matchers::StartsWith("sweep scenario 0 (markets.pool.fees=0.00"));
  CHECK_THAT(error.location().file, Catch::Matchers::EndsWith(", bad.yaml:21:26)"));

  defisim::engine::LoadOptions options;
  options.assignments = {"markets.pool.fee=0.01"};
  const auto set_error = load_error(
      base_config + "sweep:\n  sobol:\n    points: 2\n    ranges: {markets.pool.fee: {low: 0.001, high: 0.01}}\n",
      options);
  CHECK(set_error.key() == "markets.pool.fee");
  CHECK(set_error.problem() ==
        "'markets.pool.fee' is also set by sweep.sobol.ranges ('markets.pool.fee'), which overrides it in every "
        "scenario; change the sweep instead, e.g. --set sweep.sobol.ranges.markets.pool.fee={low: ..., high: ...}");
}
