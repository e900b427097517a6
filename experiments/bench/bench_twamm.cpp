// Cost of the twamm's virtual orders, per block and per boundary
// (markets/twamm.hpp), beside a cpmm swap for scale:
//   BM_TwammBlock/L          execute_virtual_orders one block further with L
//                            live orders and no boundary: one closed-form
//                            segment, whatever L (two-sided: orders both ways)
//   BM_TwammBoundaries/B     one call crossing B boundaries at which orders
//                            expire: cost per boundary (lazy evaluation)
//   BM_CpmmSwap              one Cpmm::swap, the unit of a cpmm block's work
//
// Run: ./bench_twamm --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdint>

#include "markets/cpmm.hpp"
#include "markets/twamm.hpp"

namespace {

using defisim::markets::Cpmm;
using defisim::markets::CpmmParams;
using defisim::markets::Twamm;
using defisim::markets::TwammParams;

constexpr std::uint64_t horizon = 100'000'000;  // blocks: far beyond any benchmark run

// A twamm with `orders` live orders, half selling each way, from block 0.
// With `expiring_per_boundary` > 0 they expire `expiring_per_boundary` per
// boundary from block 10 on; otherwise they outlive the benchmark.
Twamm twamm_with_orders(std::uint32_t orders, std::uint32_t expiring_per_boundary) {
  TwammParams params;
  params.pool = CpmmParams{0, 1, 1e6, 2e9, 0.003};
  params.order_interval_blocks = 10;
  params.max_orders = orders;
  Twamm twamm(params);
  for (std::uint32_t k = 0; k < orders; ++k) {
    const std::uint64_t duration = expiring_per_boundary > 0 ? 10 * (1 + k / expiring_per_boundary) : horizon;
    const bool sells_x = k % 2 == 0;
    twamm.place_order(static_cast<defisim::core::AgentIndex>(k % 1000), sells_x ? 0 : 1,
                      sells_x ? 1e-3 * static_cast<double>(duration) : 2.0 * static_cast<double>(duration), duration, 0);
  }
  return twamm;
}

void BM_TwammBlock(benchmark::State& state) {
  Twamm twamm = twamm_with_orders(static_cast<std::uint32_t>(state.range(0)), 0);
  std::uint64_t block = 1;
  for (auto _ : state) {
    twamm.execute_virtual_orders(block++);
    benchmark::DoNotOptimize(twamm.pool().reserve_x());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_TwammBlock)->Arg(1)->Arg(1000);

void BM_TwammBoundaries(benchmark::State& state) {
  const auto boundaries = static_cast<std::uint32_t>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    Twamm twamm = twamm_with_orders(2 * boundaries, 2);  // two orders expire at each boundary
    state.ResumeTiming();
    twamm.execute_virtual_orders(10 * static_cast<std::uint64_t>(boundaries) + 5);
    benchmark::DoNotOptimize(twamm.pool().reserve_x());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * boundaries);
}
BENCHMARK(BM_TwammBoundaries)->Arg(10)->Arg(500);

void BM_CpmmSwap(benchmark::State& state) {
  Cpmm pool(CpmmParams{0, 1, 1e6, 2e9, 0.003});
  bool sell_x = true;
  for (auto _ : state) {
    benchmark::DoNotOptimize(pool.swap(sell_x ? 0 : 1, sell_x ? 1.0 : 2000.0, 0.0));
    sell_x = !sell_x;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_CpmmSwap);

}  // namespace

BENCHMARK_MAIN();
