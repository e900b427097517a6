#include "framework/engine/runner.hpp"

#include <fmt/format.h>
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/parallel_for.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <chrono>
#include <cstdio>
#include <ctime>
#include <future>
#include <vector>

#include "framework/core/build_info.hpp"
#include "framework/core/errors.hpp"
#include "framework/engine/scenario_plan.hpp"
#include "framework/engine/world.hpp"
#include "framework/output/results_file.hpp"

namespace defisim::engine {

std::atomic<bool>& interrupt_requested() {
  static std::atomic<bool> flag{false};
  return flag;
}

namespace {

using Clock = std::chrono::steady_clock;

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// A progress line on stderr: rewritten in place on a terminal, one line per
// scenario otherwise (logs and CI stay readable).
class Progress {
 public:
  Progress(bool enabled, std::size_t scenarios)
      : enabled_(enabled), terminal_(isatty(STDERR_FILENO) == 1), scenarios_(scenarios) {}

  void begin_scenario(std::size_t scenario, std::uint64_t paths) {
    scenario_ = scenario;
    paths_ = paths;
    started_ = Clock::now();
    last_print_ = started_;
  }

  void update(std::uint64_t done) {
    if (!enabled_ || !terminal_) return;
    const auto now = Clock::now();
    if (now - last_print_ < std::chrono::milliseconds(250) && done < paths_) return;
    last_print_ = now;
    const double seconds = std::chrono::duration<double>(now - started_).count();
    const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
    const double eta = rate > 0 ? static_cast<double>(paths_ - done) / rate : 0.0;
    std::fprintf(stderr, "\r  scenario %zu/%zu  paths %llu/%llu  %.0f paths/s  ETA %.0fs   ", scenario_ + 1,
                 scenarios_, static_cast<unsigned long long>(done), static_cast<unsigned long long>(paths_),
                 rate, eta);
    std::fflush(stderr);
  }

  void end_scenario() {
    if (!enabled_) return;
    const double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
    std::fprintf(stderr, "%s  scenario %zu/%zu: %llu paths in %.2fs (%.0f paths/s)\n", terminal_ ? "\r" : "",
                 scenario_ + 1, scenarios_, static_cast<unsigned long long>(paths_), seconds,
                 seconds > 0 ? static_cast<double>(paths_) / seconds : 0.0);
  }

 private:
  bool enabled_;
  bool terminal_;
  std::size_t scenarios_;
  std::size_t scenario_ = 0;
  std::uint64_t paths_ = 0;
  Clock::time_point started_;
  Clock::time_point last_print_;
};

output::ScenarioLayout layout_of(const Scenario& scenario, const ScenarioPlan& plan) {
  output::ScenarioLayout layout;
  layout.parameters = scenario.parameters;
  layout.outcomes = plan.outcome_metrics;
  layout.series = plan.series_metrics;
  layout.sample_blocks = plan.sample_blocks;
  layout.paths = plan.spec->paths;
  return layout;
}

// The values of one batch of paths, laid out per path.
struct Batch {
  std::uint64_t first = 0;
  std::uint64_t rows = 0;
  std::vector<double> outcomes;  // [row][outcome metric]
  std::vector<double> series;    // [row][series metric][sample]
  std::vector<double> column;    // scratch for one dataset's rows
};

void write_batch(std::size_t scenario, const ScenarioPlan& plan, Batch& batch, output::ResultsWriter& writer) {
  const std::size_t outcome_count = plan.outcome_metrics.size();
  const std::size_t series_values = plan.series_values_per_path();
  const std::size_t samples = plan.samples();
  for (std::size_t metric = 0; metric < outcome_count; ++metric) {
    for (std::uint64_t row = 0; row < batch.rows; ++row) batch.column[row] = batch.outcomes[row * outcome_count + metric];
    writer.write_outcomes(scenario, metric, batch.first, std::span<const double>(batch.column.data(), batch.rows));
  }
  for (std::size_t metric = 0; metric < plan.series_metrics.size(); ++metric) {
    for (std::uint64_t row = 0; row < batch.rows; ++row) {
      const double* source = batch.series.data() + row * series_values + metric * samples;
      std::copy(source, source + samples, batch.column.data() + row * samples);
    }
    writer.write_series(scenario, metric, batch.first, batch.rows,
                        std::span<const double>(batch.column.data(), batch.rows * samples));
  }
}

void run_scenario(const Scenario& scenario, output::ResultsWriter& writer, Progress& progress) {
  const ScenarioPlan plan(scenario.spec);
  const ScenarioSpec& spec = *scenario.spec;
  writer.begin_scenario(scenario.index, layout_of(scenario, plan));
  progress.begin_scenario(scenario.index, spec.paths);

  const std::size_t outcome_count = plan.outcome_metrics.size();
  const std::size_t series_values = plan.series_values_per_path();
  const std::uint64_t batch_paths = std::min<std::uint64_t>(spec.batch_paths, spec.paths);
  // Two batches: one is written while the workers compute the other. Its
  // chunks are compressed in parallel (oneTBB) and handed to HDF5 by this one
  // writer thread: HDF5 is not thread-safe.
  Batch batches[2];
  for (Batch& batch : batches) {
    batch.outcomes.resize(batch_paths * outcome_count);
    batch.series.resize(batch_paths * series_values);
    batch.column.resize(batch_paths * std::max<std::size_t>(plan.samples(), 1));
  }
  std::future<void> writing;
  // Never leave a write running on buffers that are going away.
  struct JoinOnExit {
    std::future<void>& writing;
    ~JoinOnExit() {
      if (writing.valid()) writing.wait();
    }
  } join_on_exit{writing};

  std::uint64_t done = 0;
  for (std::uint64_t first = 0, index = 0; first < spec.paths; first += batch_paths, ++index) {
    Batch& batch = batches[index % 2];
    batch.first = first;
    batch.rows = std::min<std::uint64_t>(batch_paths, spec.paths - first);
    tbb::parallel_for(tbb::blocked_range<std::uint64_t>(0, batch.rows, 1), [&](const auto& range) {
      for (std::uint64_t row = range.begin(); row != range.end(); ++row) {
        if (interrupt_requested().load(std::memory_order_relaxed)) return;
        World world(plan, first + row);
        world.run(std::span<double>(batch.series.data() + row * series_values, series_values),
                  std::span<double>(batch.outcomes.data() + row * outcome_count, outcome_count));
      }
    });
    if (writing.valid()) writing.get();  // the previous batch is on disk; rethrows its error
    if (interrupt_requested().load()) throw core::Interrupted("interrupted");
    done += batch.rows;
    progress.update(done);
    writing = std::async(std::launch::async, [&, batch_pointer = &batch] {
      write_batch(scenario.index, plan, *batch_pointer, writer);
    });
  }
  if (writing.valid()) writing.get();
  writer.finish_scenario(scenario.index);
  progress.end_scenario();
}

// Every path builds and frees its World (a few hundred kB of buffers). glibc
// returns a freed heap top above 128 kB to the system at once, so each path
// faulted the same pages back in: 0.17 s of system time per 10,000 W1 paths
// on one thread, a third of the run. Keep up to 64 MB of freed heap.
void keep_freed_heap() {
#if defined(__GLIBC__)
  static const bool done = [] {
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_TOP_PAD, 1 << 20);
    return true;
  }();
  (void)done;
#endif
}

}  // namespace

RunStatistics run_experiment(const Experiment& experiment, const RunOptions& options) {
  keep_freed_heap();
  const auto started = Clock::now();
  const int threads = options.threads > 0 ? options.threads : tbb::info::default_concurrency();
  tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));

  const ScenarioSpec& base = experiment.base();
  output::RunMetadata metadata;
  metadata.experiment_name = base.name;
  metadata.defisim_version = core::defisim_version;
  metadata.source_revision = core::source_revision;
  metadata.config_yaml = experiment.resolved_yaml;
  metadata.seed = base.seed;
  metadata.paths = base.paths;
  metadata.blocks = base.blocks;
  metadata.block_time_seconds = base.block_time_seconds;
  output::ResultsWriterOptions writer_options;
  writer_options.deflate_level = base.record_compression;
  output::ResultsWriter writer(options.output_path, options.overwrite, metadata, writer_options);

  Progress progress(options.progress, experiment.scenarios.size());
  RunStatistics statistics;
  statistics.threads = threads;
  for (const Scenario& scenario : experiment.scenarios) {
    run_scenario(scenario, writer, progress);
    statistics.paths += scenario.spec->paths;
    statistics.path_blocks += scenario.spec->paths * scenario.spec->blocks;
  }
  statistics.wall_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  output::RunInfo info;
  info.created_utc = utc_now();
  info.threads = threads;
  info.ranks = 1;
  info.wall_seconds = statistics.wall_seconds;
  info.command_line = options.command_line;
  writer.commit(info);
  return statistics;
}

}  // namespace defisim::engine
