// Randomly generated lending worlds (YAML text) for property tests: ETH (and
// maybe BTC) and USDC, GBM with a random (often crashing) drift, an ETH/USDC
// pool with an arbitrageur, a lending market under random rules (aave_v2,
// aave_v3, compound_v2, maker) and parameters, random oracles (reference,
// push, delayed, median, pool_twap) and gas (constant or spiking), a borrower
// population and 1-3 liquidators selling at the venue, on the pool or keeping
// the collateral.
#pragma once

#include <fmt/format.h>

#include <random>
#include <string>
#include <vector>

namespace defisim::test_support {

struct RandomLendingWorld {
  std::string yaml;
  std::string rules;
};

inline RandomLendingWorld random_lending_world(std::mt19937_64& rng, int index, int paths = 2, int blocks = 300) {
  auto uniform = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  auto integer = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto pick = [&](const auto& choices) {
    return choices[static_cast<std::size_t>(integer(0, static_cast<int>(std::size(choices)) - 1))];
  };
  const bool btc = integer(0, 1) == 1;
  const std::string rules = pick(std::vector<std::string>{"aave_v2", "aave_v3", "compound_v2", "maker"});
  const bool maker = rules == "maker";
  const double eth = uniform(1000, 3000);
  const double block_time = pick(std::vector<double>{12.0, 60.0});
  const double gas = uniform(1.0, 60.0);
  std::string y;
  y += fmt::format(
      "experiment: {{name: lending{}, seed: {}, paths: {}, blocks: {}, block_time: {}, record: {{every: 50}}, "
      "check_conservation: true}}\n",
      index, integer(0, 1000000), paths, blocks, block_time);
  y += btc ? "assets: [ETH, BTC, USDC]\n" : "assets: [ETH, USDC]\n";
  y += "numeraire: USDC\n";
  y += fmt::format("chain: {{gas_price_gwei: {:.17g}, ordering: {}, max_transactions_per_block: {}{}}}\n", gas,
                   pick(std::vector<std::string>{"fifo", "priority_fee", "random", "mev"}), pick(std::vector<int>{16, 256}),
                   integer(0, 1) == 1 ? fmt::format(", gas_process: {{spike_per_percent_drop: {:.17g}, half_life_seconds: {:.17g}}}",
                                                    uniform(0.0, 20.0), uniform(60.0, 3600.0))
                                      : "");
  y += fmt::format("price: {{initial: {{ETH: {:.17g}{}}}, volatility: {{ETH: {:.17g}{}}}, drift: {{ETH: {:.17g}{}}}}}\n", eth,
                   btc ? ", BTC: 30000" : "", uniform(0.3, 3.0), btc ? ", BTC: 0.8" : "", uniform(-3000.0, 50.0),
                   btc ? ", BTC: -100" : "");
  const double pool_eth = uniform(100.0, 20000.0);
  y += "markets:\n";
  y += fmt::format("  - {{id: pool, type: cpmm, pair: [ETH, USDC], reserves: {{ETH: {:.17g}, USDC: {:.17g}}}}}\n", pool_eth,
                   pool_eth * eth);
  const double lt = uniform(0.5, 0.9);
  const double ltv = lt * uniform(0.8, 1.0);
  const double bonus = std::min(uniform(0.0, 0.15), 1.0 / lt - 1.0);
  y += fmt::format("  - id: bank\n    type: lending\n    rules: {}\n    max_positions: 2000\n", rules);
  if (!maker) y += fmt::format("    close_factor: {:.17g}\n", uniform(0.2, 1.0));
  if (rules == "aave_v3") y += fmt::format("    liquidation_protocol_fee: {:.17g}\n", uniform(0.0, 0.2));
  if (maker) {
    y += fmt::format("    auction: {{buf: {:.17g}, decay: {}, tail_seconds: {:.17g}, cusp: {:.17g}, reset: {}}}\n", uniform(1.0, 1.3),
                     pick(std::vector<std::string>{"linear", "stairstep_exponential", "exponential"}), uniform(600, 7200),
                     uniform(0.2, 0.6), integer(0, 1) == 1 ? "true" : "false");
  }
  y += "    assets:\n";
  auto collateral = [&](const std::string& asset) {
    if (maker) {
      return fmt::format("      {}: {{liquidation_ratio: {:.17g}, liquidation_bonus: {:.17g}, borrowable: false}}\n", asset,
                         1.0 / lt, bonus);
    }
    return fmt::format(
        "      {}: {{loan_to_value: {:.17g}, liquidation_threshold: {:.17g}, liquidation_bonus: {:.17g}, "
        "initial_supply: {:.17g}}}\n",
        asset, rules == "compound_v2" ? lt : ltv, lt, bonus, uniform(0.0, 100.0));
  };
  y += collateral("ETH");
  if (btc) y += collateral("BTC");
  y += fmt::format(
      "      USDC: {{initial_supply: {:.17g}, reserve_factor: {:.17g}, rate: {{base_rate: {:.17g}, slope_below_kink: "
      "{:.17g}, slope_above_kink: {:.17g}, optimal_utilisation: {:.17g}}}{}}}\n",
      uniform(1e6, 1e8), uniform(0.0, 0.5), uniform(0.0, 0.1), uniform(0.0, 0.2), uniform(0.0, 3.0), uniform(0.5, 0.95),
      maker ? "" : ", loan_to_value: 0.8, liquidation_threshold: 0.85");
  const std::string oracle = pick(std::vector<std::string>{"reference", "push", "delayed", "median", "pool_twap"});
  if (oracle == "push") y += fmt::format("oracles: {{ETH: {{type: push, deviation: {:.17g}, heartbeat_seconds: 3600}}}}\n", uniform(0.001, 0.02));
  if (oracle == "delayed") y += fmt::format("oracles: {{ETH: {{type: delayed, delay_blocks: {}}}}}\n", integer(1, 20));
  if (oracle == "median") y += fmt::format("oracles: {{ETH: {{type: median, sources: {}, noise: {:.17g}}}}}\n", integer(1, 7), uniform(0.0, 0.02));
  if (oracle == "pool_twap") y += fmt::format("oracles: {{ETH: {{type: pool_twap, market: pool, window_seconds: {:.17g}}}}}\n", uniform(60, 1800));
  y += "agents:\n";
  y += fmt::format("  - {{id: arb, type: arbitrageur, gas_used: {}}}\n", integer(0, 150000));
  y += fmt::format(
      "  - {{id: borrowers, type: borrower, market: bank, positions: {}, collateral: {{ETH: 1{}}}, size_numeraire: {{median: "
      "{:.17g}, sigma: 1}}, loan_to_value: {{low: {:.17g}, high: {:.17g}}}, responsive_fraction: {:.17g}, "
      "reaction_delay_blocks: {{low: 0, high: {}}}}}\n",
      integer(1, 300), btc ? ", BTC: 1" : "", uniform(1e3, 1e5), ltv * 0.5, ltv * 0.99, uniform(0.0, 1.0), integer(0, 50));
  const int liquidators = integer(1, 3);
  for (int k = 0; k < liquidators; ++k) {
    // The pool trades ETH only: with BTC collateral a pool sale is refused by the config.
    const std::string sale = btc ? pick(std::vector<std::string>{"venue", "keep"})
                                 : pick(std::vector<std::string>{"venue", "market", "keep"});
    y += fmt::format(
        "  - {{id: liq{}, type: liquidator, market: bank, capital: {{USDC: {:.17g}, ETH: 10}}, priority_fee_gwei: {:.17g}, "
        "reaction_delay_blocks: {}, chunks: {}, sale: {}{}{}}}\n",
        k, uniform(1e4, 1e7), uniform(0.0, 10.0), integer(0, 5), integer(1, 3), sale, sale == "market" ? ", sale_market: pool" : "",
        sale == "venue" ? fmt::format(", venue_depth_numeraire: {:.17g}", uniform(1e5, 1e8)) : "");
  }
  return {y, rules};
}

}  // namespace defisim::test_support
