// Cost of finding liquidatable positions on a lending market
// (Lending::positions_below, markets/lending.hpp and lending_index.hpp),
// against the number of healthy positions N (1e3, 1e4, 1e5). The market is
// an aave_v2 ETH/USDC market: every position posts ETH (loan_to_value 0.8,
// liquidation_threshold 0.825) and borrows USDC, opened through the public
// API (open_position, supply, borrow) at ETH = 2000 with a loan-to-value
// uniform on [0.3, 0.7] and a lognormal size; 10 more positions are opened
// at a loan-to-value of 0.79. Queries are at ETH = 1800 one hour later:
// the healthy positions' health factors are >= 1.06, the 10 are below 1.
//
//   BM_PositionsBelow/N/fill   positions_below(1.0, ...) on a quiet market;
//                              fill = the index's buffer of recently changed
//                              positions, 0: empty (just merged), 100: one
//                              entry short of a merge (the most a query scans)
//   BM_Block/N/k               one block: k position changes (supply or repay
//                              on random healthy positions, which go to the
//                              buffer and trigger its merges) then one
//                              positions_below(1.0): the amortised per-block
//                              cost of maintaining the index plus the query
//   BM_ChangesOnly/N/k         the k changes of BM_Block without the query
//   BM_NaiveScan/N             health_factor() on every position: the linear
//                              scan the index replaces, for contrast
//
// Run: ./bench_lending --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
// (experiments/bench/run_lending_scan.sh runs it after the whole-process scan).
#include <benchmark/benchmark.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <stdexcept>
#include <vector>

#include "markets/lending.hpp"
#include "markets/lending_index.hpp"

namespace {

using defisim::markets::Lending;
using defisim::markets::LendingAssetParams;
using defisim::markets::LendingParams;
using defisim::markets::LendingRules;
using defisim::markets::PositionId;
using defisim::markets::lending_detail::PositionIndex;

constexpr defisim::core::AssetIndex eth = 0;
constexpr defisim::core::AssetIndex usdc = 1;
constexpr std::uint32_t liquidatable_positions = 10;
constexpr double open_price = 2000.0;
constexpr double query_price = 1800.0;
constexpr double query_seconds = 3600.0;

// A market with `healthy` healthy positions and 10 liquidatable ones (at the
// query prices), and how many index entries were written (one per borrow:
// a supply before the position has debt writes none).
struct Market {
  Lending lending;
  std::uint64_t index_writes = 0;
  std::mt19937_64 random{12345};
  std::vector<PositionId> healthy_ids;

  explicit Market(std::uint32_t healthy_positions) : lending(params_for(healthy_positions), 0) {
    healthy_ids.reserve(healthy_positions);
    const std::array<double, 2> prices{open_price, 1.0};
    std::uniform_real_distribution<double> ltv(0.3, 0.7);
    std::lognormal_distribution<double> size(std::log(20000.0), 1.0);
    // Liquidatable positions interleaved evenly among the healthy ones.
    const std::uint32_t total = healthy_positions + liquidatable_positions;
    const std::uint32_t every = total / liquidatable_positions;
    for (std::uint32_t k = 0; k < total; ++k) {
      const bool risky = k % every == every / 2 && k / every < liquidatable_positions;
      const double value = size(random);
      const double loan_to_value = risky ? 0.79 : ltv(random);
      const PositionId position = lending.open_position(1).position;
      check(lending.supply(position, eth, value / open_price, 0.0).succeeded(), "supply");
      check(lending.borrow(position, usdc, value * loan_to_value, prices, 0.0).succeeded(), "borrow");
      ++index_writes;
      if (!risky) healthy_ids.push_back(position);
    }
  }

  static LendingParams params_for(std::uint32_t healthy_positions) {
    LendingParams params;
    params.rules = LendingRules::aave_v2;
    LendingAssetParams eth_params;
    eth_params.asset = eth;
    eth_params.loan_to_value = 0.8;
    eth_params.liquidation_threshold = 0.825;
    eth_params.liquidation_bonus = 0.05;
    LendingAssetParams usdc_params;
    usdc_params.asset = usdc;
    usdc_params.initial_supply = 1e12;
    usdc_params.loan_to_value = 0.8;
    usdc_params.liquidation_threshold = 0.85;
    usdc_params.liquidation_bonus = 0.05;
    params.assets = {eth_params, usdc_params};
    params.max_positions = healthy_positions + liquidatable_positions + 1;  // + the genesis supplier
    return params;
  }

  static void check(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("bench_lending: setup failed: ") + what);
  }

  std::size_t buffer_capacity() const { return PositionIndex::buffer_capacity_for(lending.params().max_positions); }
  // Entries in the index's buffer now: writes since the last merge.
  std::size_t buffered() const { return index_writes % buffer_capacity(); }

  // One change to a random healthy position: alternately a small collateral
  // top-up and a small repayment (each writes one index entry).
  void change(std::uint64_t step, double now) {
    const PositionId position = healthy_ids[random() % healthy_ids.size()];
    if (step % 2 == 0) {
      check(lending.supply(position, eth, 1e-6, now).succeeded(), "top-up");
    } else {
      check(lending.repay(position, usdc, 1e-3, now).succeeded(), "repay");
    }
    ++index_writes;
  }

  static std::span<const double> prices_at_query() {
    static const std::array<double, 2> prices{query_price, 1.0};
    return prices;
  }
};

void BM_PositionsBelow(benchmark::State& state) {
  Market market(static_cast<std::uint32_t>(state.range(0)));
  // Fill the buffer to the level asked (top-ups of healthy positions).
  const std::size_t target = state.range(1) == 0 ? 0 : market.buffer_capacity() - 1;
  std::uint64_t step = 0;
  while (market.buffered() != target) market.change(step++, 0.0);
  std::vector<PositionId> out(market.lending.position_count());
  std::size_t found = 0;
  for (auto _ : state) {
    found = market.lending.positions_below(1.0, Market::prices_at_query(), query_seconds, out);
    benchmark::DoNotOptimize(found);
    benchmark::ClobberMemory();
  }
  if (found != liquidatable_positions) state.SkipWithError("wrong number of liquidatable positions found");
  state.counters["found"] = static_cast<double>(found);
  state.counters["buffered"] = static_cast<double>(market.buffered());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_PositionsBelow)->ArgsProduct({{1000, 10000, 100000}, {0, 100}})->ArgNames({"N", "fill"});

// k changes then one query per iteration (a block); merges happen every
// ~buffer_capacity / k blocks, so the time per block is amortised over many
// merges only if the run is long: Google Benchmark's default minimum time
// (0.5 s) gives >= 100 merges at N = 1e5, k = 10.
void block(benchmark::State& state, bool query) {
  Market market(static_cast<std::uint32_t>(state.range(0)));
  const auto changes = static_cast<std::uint32_t>(state.range(1));
  std::vector<PositionId> out(market.lending.position_count());
  std::uint64_t step = 0;
  std::size_t found = liquidatable_positions;
  double now = query_seconds;
  const std::uint64_t writes_before = market.index_writes;
  for (auto _ : state) {
    now += 12.0;
    for (std::uint32_t k = 0; k < changes; ++k) market.change(step++, now);
    if (query) {
      found = market.lending.positions_below(1.0, Market::prices_at_query(), now, out);
      benchmark::DoNotOptimize(found);
    }
    benchmark::ClobberMemory();
  }
  if (found != liquidatable_positions) state.SkipWithError("wrong number of liquidatable positions found");
  state.counters["merges"] = static_cast<double>((market.index_writes / market.buffer_capacity()) -
                                                 (writes_before / market.buffer_capacity()));
  state.counters["buffer_capacity"] = static_cast<double>(market.buffer_capacity());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
void BM_Block(benchmark::State& state) { block(state, true); }
void BM_ChangesOnly(benchmark::State& state) { block(state, false); }
BENCHMARK(BM_Block)->ArgsProduct({{1000, 10000, 100000}, {1, 10}})->ArgNames({"N", "k"});
BENCHMARK(BM_ChangesOnly)->ArgsProduct({{1000, 10000, 100000}, {10}})->ArgNames({"N", "k"});

void BM_NaiveScan(benchmark::State& state) {
  Market market(static_cast<std::uint32_t>(state.range(0)));
  std::vector<PositionId> out(market.lending.position_count());
  const auto prices = Market::prices_at_query();
  std::size_t found = 0;
  for (auto _ : state) {
    found = 0;
    const auto count = static_cast<PositionId>(market.lending.position_count());
    for (PositionId position = 0; position < count; ++position) {
      if (market.lending.health_factor(position, prices, query_seconds) < 1.0) out[found++] = position;
    }
    benchmark::DoNotOptimize(found);
    benchmark::ClobberMemory();
  }
  if (found != liquidatable_positions) state.SkipWithError("wrong number of liquidatable positions found");
  state.counters["found"] = static_cast<double>(found);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_NaiveScan)->Arg(1000)->Arg(10000)->Arg(100000)->ArgName("N");

}  // namespace

BENCHMARK_MAIN();
