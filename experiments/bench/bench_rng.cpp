// Throughput of the counter-based RNG (framework/core/rng.hpp), in values per
// second ("items_per_second"):
//   BM_FillNormal/N, BM_FillUniform/N   RandomStream::fill_* in chunks of N
//   BM_NormalCalls, BM_UniformCalls     one RandomStream::normal()/uniform() call per value
//   BM_ScalarPhiloxLibmBoxMuller        baseline: r123::Philox4x32 one block at a
//                                       time + std::log/std::sqrt/std::cos/std::sin
//                                       Box-Muller, one value per call
//
// Run: ./bench_rng --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <Random123/philox.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "framework/core/rng.hpp"

namespace {

using defisim::core::RandomStream;

void BM_FillNormal(benchmark::State& state) {
  const auto chunk = static_cast<std::size_t>(state.range(0));
  RandomStream rng(1, 2, defisim::core::streams::price);
  std::vector<double> out(chunk);
  for (auto _ : state) {
    rng.fill_normal(out.data(), chunk);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(chunk));
}
BENCHMARK(BM_FillNormal)->Arg(256)->Arg(4096);

void BM_FillUniform(benchmark::State& state) {
  const auto chunk = static_cast<std::size_t>(state.range(0));
  RandomStream rng(1, 2, defisim::core::streams::price);
  std::vector<double> out(chunk);
  for (auto _ : state) {
    rng.fill_uniform(out.data(), chunk);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(chunk));
}
BENCHMARK(BM_FillUniform)->Arg(256)->Arg(4096);

void BM_NormalCalls(benchmark::State& state) {
  RandomStream rng(1, 2, defisim::core::streams::price);
  for (auto _ : state) benchmark::DoNotOptimize(rng.normal());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_NormalCalls);

void BM_UniformCalls(benchmark::State& state) {
  RandomStream rng(1, 2, defisim::core::streams::price);
  for (auto _ : state) benchmark::DoNotOptimize(rng.uniform());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_UniformCalls);

// The conventional scalar approach the vectorised generator replaces: one
// Random123 Philox block per two normals, libm Box-Muller, one value per call.
class ScalarPhiloxBoxMuller {
 public:
  ScalarPhiloxBoxMuller(std::uint32_t seed, std::uint32_t path, std::uint32_t stream)
      : key_{{seed, path}}, stream_(stream) {}

  double next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const r123::Philox4x32::ctr_type counter = {
        {static_cast<std::uint32_t>(block_), static_cast<std::uint32_t>(block_ >> 32), stream_, 1}};
    ++block_;
    const r123::Philox4x32::ctr_type w = philox_(counter, key_);
    const double u1 = to_open_unit(w[0], w[1]);
    const double u2 = to_open_unit(w[2], w[3]);
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 6.283185307179586 * u2;
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }

 private:
  static double to_open_unit(std::uint32_t high, std::uint32_t low) {
    const std::uint64_t m = ((std::uint64_t{high} << 32) | low) >> 12;
    return (static_cast<double>(m) + 0.5) * 0x1p-52;
  }

  r123::Philox4x32 philox_;
  r123::Philox4x32::key_type key_;
  std::uint32_t stream_;
  std::uint64_t block_ = 0;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

void BM_ScalarPhiloxLibmBoxMuller(benchmark::State& state) {
  ScalarPhiloxBoxMuller rng(1, 2, defisim::core::streams::price);
  for (auto _ : state) benchmark::DoNotOptimize(rng.next());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_ScalarPhiloxLibmBoxMuller);

}  // namespace

BENCHMARK_MAIN();
