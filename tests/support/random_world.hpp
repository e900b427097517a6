// Randomly generated small worlds (YAML text) for property tests: 1-3 risky
// assets and USDC, GBM or jump diffusion (optionally correlated), 1-3 pools
// (cpmm or twamm) on random pairs (mispriced by up to 10%), random gas,
// native asset, ordering (all five policies) and mempool capacity; an
// arbitrageur (random gas, tip and minimum profit), 0-3 noise traders, 0-2
// LPs, maybe a sandwich attacker and a twap_trader, and on each twamm 0-2
// twamm_traders and maybe a twamm_front_runner.
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace defisim::test_support {

struct RandomWorldOptions {
  bool noise_traders = true;  // false: only arbitrageurs and LPs (agents that go idle)
  bool skip_idle_agents = true;
  int paths = 2;
  int blocks = 300;
  bool sandwich_attacker = true;  // false: the caller adds its own (id `sandwich`)
};

struct RandomWorld {
  std::string yaml;
  std::string description;
};

inline RandomWorld random_world(std::mt19937_64& rng, int index, const RandomWorldOptions& options = {}) {
  auto uniform = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  auto integer = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto pick = [&](const auto& choices) { return choices[static_cast<std::size_t>(integer(0, static_cast<int>(std::size(choices)) - 1))]; };

  const std::vector<std::string> risky_names = {"ETH", "BTC", "SOL"};
  const std::vector<double> base_prices = {2000.0, 30000.0, 20.0};
  const int risky = integer(1, 3);
  std::vector<std::string> assets;
  std::vector<double> prices;  // numeraire per token, per asset in `assets`
  for (int i = 0; i < risky; ++i) {
    assets.push_back(risky_names[static_cast<std::size_t>(i)]);
    prices.push_back(base_prices[static_cast<std::size_t>(i)] * uniform(0.5, 2.0));
  }
  assets.push_back("USDC");
  prices.push_back(1.0);
  const int asset_count = static_cast<int>(assets.size());
  const std::string native = assets[static_cast<std::size_t>(integer(0, asset_count - 1))];

  const bool jumps = integer(0, 1) == 1;
  const double block_time = pick(std::vector<double>{12.0, 60.0, 600.0});
  const double gas_gwei = integer(0, 4) == 0 ? 0.0 : uniform(0.0, 50.0);
  const std::string ordering = pick(std::vector<std::string>{"fifo", "random", "priority_fee", "mev", "private"});
  const int capacity = pick(std::vector<int>{4, 16, 256});
  const int seed = integer(0, 1000000);

  std::string y;
  y += fmt::format("experiment: {{name: random{}, seed: {}, paths: {}, blocks: {}, block_time: {}, record: {{every: 50}}, "
                   "check_conservation: true, skip_idle_agents: {}}}\n",
                   index, seed, options.paths, options.blocks, block_time, options.skip_idle_agents);
  y += "assets: [";
  for (int i = 0; i < asset_count; ++i) y += (i ? ", " : "") + assets[static_cast<std::size_t>(i)];
  y += "]\nnumeraire: USDC\n";
  y += fmt::format("chain: {{native_asset: {}, gas_price_gwei: {:.17g}, ordering: {}, max_transactions_per_block: {}}}\n",
                   native, gas_gwei, ordering, capacity);
  y += fmt::format("price:\n  process: {}\n  initial: {{", jumps ? "jump_diffusion" : "gbm");
  for (int i = 0; i < risky; ++i) y += fmt::format("{}{}: {:.17g}", i ? ", " : "", assets[static_cast<std::size_t>(i)], prices[static_cast<std::size_t>(i)]);
  y += "}\n  volatility: {";
  for (int i = 0; i < risky; ++i) y += fmt::format("{}{}: {:.17g}", i ? ", " : "", assets[static_cast<std::size_t>(i)], uniform(0.2, 2.0));
  y += "}\n  drift: {";
  for (int i = 0; i < risky; ++i) y += fmt::format("{}{}: {:.17g}", i ? ", " : "", assets[static_cast<std::size_t>(i)], uniform(-0.5, 0.5));
  y += "}\n";
  if (risky >= 2 && integer(0, 1) == 1) {
    // Equicorrelation rho is positive definite for rho in (-1/(n-1), 1).
    const double rho = uniform(-0.3, 0.8);
    y += "  correlation: [";
    for (int i = 0; i < risky; ++i) {
      y += i ? ", [" : "[";
      for (int j = 0; j < risky; ++j) y += fmt::format("{}{:.17g}", j ? ", " : "", i == j ? 1.0 : rho);
      y += "]";
    }
    y += "]\n";
  }
  if (jumps) {
    y += "  jumps:\n    intensity_per_year: {";
    for (int i = 0; i < risky; ++i) y += fmt::format("{}{}: {:.17g}", i ? ", " : "", assets[static_cast<std::size_t>(i)], uniform(0.0, 3000.0));
    y += "}\n    mean: {";
    for (int i = 0; i < risky; ++i) y += fmt::format("{}{}: {:.17g}", i ? ", " : "", assets[static_cast<std::size_t>(i)], uniform(-0.05, 0.05));
    y += "}\n    stdev: {";
    for (int i = 0; i < risky; ++i) y += fmt::format("{}{}: {:.17g}", i ? ", " : "", assets[static_cast<std::size_t>(i)], uniform(0.0, 0.1));
    y += "}\n";
  }

  const int pools = integer(1, 3);
  std::vector<double> pool_side_value(static_cast<std::size_t>(pools));
  std::vector<int> pool_asset_a(static_cast<std::size_t>(pools)), pool_asset_b(static_cast<std::size_t>(pools));
  std::vector<bool> pool_is_twamm(static_cast<std::size_t>(pools));
  y += "markets:\n";
  for (int m = 0; m < pools; ++m) {
    const int a = integer(0, asset_count - 1);
    int b = integer(0, asset_count - 2);
    if (b >= a) ++b;
    const double side_value = std::exp(uniform(std::log(1e4), std::log(1e7)));  // numeraire per side
    pool_side_value[static_cast<std::size_t>(m)] = side_value;
    const double mispricing = uniform(0.9, 1.1);
    const bool twamm = integer(0, 2) == 0;
    pool_asset_a[static_cast<std::size_t>(m)] = a;
    pool_asset_b[static_cast<std::size_t>(m)] = b;
    pool_is_twamm[static_cast<std::size_t>(m)] = twamm;
    y += fmt::format("  - {{id: p{}, type: {}, pair: [{}, {}], reserves: {{{}: {:.17g}, {}: {:.17g}}}, fee: {:.17g}{}}}\n", m,
                     twamm ? "twamm" : "cpmm", assets[static_cast<std::size_t>(a)], assets[static_cast<std::size_t>(b)],
                     assets[static_cast<std::size_t>(a)], side_value / prices[static_cast<std::size_t>(a)] * mispricing,
                     assets[static_cast<std::size_t>(b)], side_value / prices[static_cast<std::size_t>(b)],
                     integer(0, 5) == 0 ? 0.0 : uniform(0.0, 0.01),
                     twamm ? fmt::format(", order_interval_blocks: {}, max_orders: 16", integer(1, 60)) : "");
  }

  y += "agents:\n";
  int agents = 0;
  if (integer(0, 4) != 0) {
    const int gas_used = integer(0, 200000);
    const double priority_fee = ordering == "priority_fee" ? uniform(0.0, 5.0) : 0.0;
    const double min_profit = integer(0, 1) == 0 ? 0.0 : uniform(0.0, 50.0);
    y += fmt::format("  - {{id: arb, type: arbitrageur, gas_used: {}, priority_fee_gwei: {:.17g}, min_profit: {:.17g}}}\n",
                     gas_used, priority_fee, min_profit);
    ++agents;
  }
  const int noise = options.noise_traders ? integer(0, 3) : 0;
  const std::vector<double> tolerances = {0.0, 0.0005, 0.005, 0.05, 0.5};
  for (int k = 0; k < noise; ++k) {
    const int m = integer(0, pools - 1);
    const double median = pool_side_value[static_cast<std::size_t>(m)] * uniform(0.0005, 0.05);
    const std::string size = integer(0, 2) == 0 ? fmt::format("{{dist: fixed, value: {:.17g}}}", median)
                                                : fmt::format("{{dist: lognormal, median: {:.17g}, sigma: {:.17g}}}",
                                                              median, uniform(0.0, 1.5));
    y += fmt::format("  - {{id: noise{}, type: noise_trader, market: p{}, arrivals_per_block: {:.17g}, buy_probability: {:.17g}, "
                     "size_numeraire: {}, slippage_tolerance: {}, gas_used: {}, priority_fee_gwei: {:.17g}}}\n",
                     k, m, uniform(0.1, 5.0), uniform(0.2, 0.8), size, pick(tolerances), integer(0, 150000),
                     ordering == "priority_fee" ? uniform(0.0, 5.0) : 0.0);
    ++agents;
  }
  const int lps = integer(0, 2);
  for (int k = 0; k < lps; ++k) {
    const int m = integer(0, pools - 1);
    y += fmt::format("  - {{id: lp{}, type: lp, market: p{}, deposit_numeraire: {:.17g}, gas_used: {}}}\n", k, m,
                     pool_side_value[static_cast<std::size_t>(m)] * uniform(0.01, 1.0), integer(0, 200000));
    ++agents;
  }
  // A side of pool m, and an amount of it worth `fraction` of the pool's side.
  auto side_of = [&](int m) {
    return integer(0, 1) == 0 ? pool_asset_a[static_cast<std::size_t>(m)] : pool_asset_b[static_cast<std::size_t>(m)];
  };
  auto amount_of = [&](int m, int asset, double fraction) {
    return pool_side_value[static_cast<std::size_t>(m)] * fraction / prices[static_cast<std::size_t>(asset)];
  };
  if (integer(0, 1) == 0 && options.sandwich_attacker) {
    y += fmt::format("  - {{id: sandwich, type: sandwich_attacker, bribe_fraction: {:.17g}, flash_loans: {}, gas_used: {}, "
                     "capital_numeraire: {:.17g}}}\n",
                     uniform(0.0, 0.9), integer(0, 1) == 1, integer(0, 200000), std::exp(uniform(std::log(1e3), std::log(1e7))));
    ++agents;
  }
  if (integer(0, 1) == 0) {
    const int m = integer(0, pools - 1);
    const int sell = side_of(m);
    y += fmt::format("  - {{id: twap, type: twap_trader, market: p{}, sell: {}, amount: {:.17g}, slices: {}, interval_blocks: {}, "
                     "start_block: {}, slippage_tolerance: {}}}\n",
                     m, assets[static_cast<std::size_t>(sell)], amount_of(m, sell, uniform(0.001, 0.05)), integer(1, 5),
                     integer(1, 30), integer(1, 50), pick(tolerances));
    ++agents;
  }
  for (int m = 0; m < pools; ++m) {
    if (!pool_is_twamm[static_cast<std::size_t>(m)]) continue;
    const int orderers = integer(0, 2);
    for (int k = 0; k < orderers; ++k) {
      const int sell = side_of(m);
      const int start = integer(1, 100);
      const int cancel = integer(0, 1) == 0 ? 0 : start + integer(1, 150);
      y += fmt::format("  - {{id: lto{}_{}, type: twamm_trader, market: p{}, sell: {}, amount: {:.17g}, duration_blocks: {}, "
                       "start_block: {}, cancel_at_block: {}}}\n",
                       m, k, m, assets[static_cast<std::size_t>(sell)], amount_of(m, sell, uniform(0.001, 0.2)),
                       integer(1, 200), start, cancel);
      ++agents;
    }
    if (integer(0, 1) == 0) {
      const double side = pool_side_value[static_cast<std::size_t>(m)];
      y += fmt::format("  - {{id: front{}, type: twamm_front_runner, market: p{}, min_order_numeraire: {:.17g}, "
                       "pool_buy_numeraire: {:.17g}, inventory_numeraire: {:.17g}, capital_numeraire: {:.17g}}}\n",
                       m, m, side * uniform(0.0001, 0.05), side * uniform(0.0, 0.02), side * uniform(0.0, 0.02),
                       side * uniform(0.01, 0.1));
      ++agents;
    }
  }
  if (agents == 0) y += "  - {id: arb, type: arbitrageur}\n";
  return {y, fmt::format("world {}: {} risky, {} pools, {}, gas {} gwei, {}, capacity {}", index, risky, pools,
                         jumps ? "jump_diffusion" : "gbm", gas_gwei, ordering, capacity)};
}

}  // namespace defisim::test_support
