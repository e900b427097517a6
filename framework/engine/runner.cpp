#include "framework/engine/runner.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
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
#include <optional>
#include <vector>

#include "framework/core/build_info.hpp"
#include "framework/core/errors.hpp"
#include "framework/core/mpi.hpp"
#include "framework/engine/checkpoint.hpp"
#include "framework/engine/run_detail.hpp"
#include "framework/engine/scenario_plan.hpp"
#include "framework/engine/world.hpp"
#include "framework/output/results_file.hpp"

namespace defisim::engine {

namespace run_detail {

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

output::ScenarioLayout layout_of(const Scenario& scenario, const ScenarioPlan& plan, const ShardRows& rows) {
  output::ScenarioLayout layout;
  layout.parameters = scenario.parameters;
  layout.outcomes = plan.outcome_metrics;
  layout.series = plan.series_metrics;
  layout.sample_blocks = plan.sample_blocks;
  layout.paths = plan.spec->paths;
  if (plan.spec->importance_sampling()) layout.weight_outcome = "sampling.likelihood_ratio";
  layout.shard_first_path = rows.first;
  layout.shard_end_path = rows.end;
  return layout;
}

output::RunMetadata metadata_of(const Experiment& experiment, Shard shard) {
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
  metadata.shard_index = shard.index;
  metadata.shard_count = shard.count;
  return metadata;
}

// Every path builds and frees its World (a few hundred kB of buffers). glibc
// returns a freed heap top above 128 kB to the system at once, so each path
// faulted the same pages back in: 0.17 s of system time per 10,000 W1 paths
// on one thread, a third of the run. Keep up to 64 MB of freed heap. Setting
// the trim threshold also freezes glibc's adaptive mmap threshold at 128 kB
// (mallopt(3)), so every larger block (a lending world's 11 MB of positions)
// would be mapped and unmapped per path: raise that threshold too (a
// crash_1h scenario of 1,000 paths: 3.90 s -> 2.97 s on 2 threads; results
// are unchanged).
void keep_freed_heap() {
#if defined(__GLIBC__)
  static const bool done = [] {
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_TOP_PAD, 1 << 20);
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    return true;
  }();
  (void)done;
#endif
}

void warn_if_few_effective_paths(std::size_t scenario, const output::ResultsWriter::Finished& finished) {
  const double ess = finished.effective_sample_size;
  if (!(ess < std::min(100.0, 0.1 * static_cast<double>(finished.paths)))) return;  // NaN: not weighted
  std::fprintf(stderr,
               "warning: scenario %zu: importance sampling leaves an effective sample size of %.3g of %llu paths "
               "(Kish), and the likelihood ratio's mean is %.3g (1 in expectation). The weighted summary of metrics "
               "the tilt does not aim at rests on a few paths; a tail probability it aims at can still be precise: "
               "judge by its standard error. A weaker tilt or more paths raise the effective sample size.\n",
               scenario, ess, static_cast<unsigned long long>(finished.paths), finished.likelihood_ratio_mean);
}

}  // namespace run_detail

std::atomic<bool>& interrupt_requested() {
  static std::atomic<bool> flag{false};
  return flag;
}

namespace {

using Clock = std::chrono::steady_clock;
using namespace run_detail;


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

// When completed batches go to the journal, and when it is synced.
struct Checkpoints {
  Journal* journal = nullptr;
  Clock::time_point run_started;
  double interval_seconds = 10.0;
  Clock::time_point last_sync;
  bool saving() const {
    return std::chrono::duration<double>(Clock::now() - run_started).count() >= interval_seconds;
  }
  bool sync_due() {
    const auto now = Clock::now();
    if (std::chrono::duration<double>(now - last_sync).count() < interval_seconds) return false;
    last_sync = now;
    return true;
  }
};

// The standard error of a metric's mean over the paths so far, updated
// batch by batch (Welford): of x, or under importance sampling of the
// unbiased estimator's terms w x (as output::summarize_weighted).
class RunningStandardError {
 public:
  void add(double value, double weight) {
    const double y = weight * value;
    ++count_;
    const double delta = y - mean_;
    mean_ += delta / static_cast<double>(count_);
    squares_ += delta * (y - mean_);
  }
  double value() const {
    if (count_ < 2) return INFINITY;
    const double n = static_cast<double>(count_);
    return std::sqrt(squares_ / (n - 1.0)) / std::sqrt(n);
  }

 private:
  std::uint64_t count_ = 0;
  double mean_ = 0, squares_ = 0;
};

// A scenario's --target-stderr: the metric's and the weights' outcome
// indices, the target, and the running error.
struct StopRule {
  std::size_t metric = 0;
  std::size_t weight = SIZE_MAX;  // the likelihood ratio's index, if importance sampling
  double target = 0.0;
  RunningStandardError error;
  std::uint64_t batches = 0;
};

std::optional<StopRule> stop_rule_of(const ScenarioPlan& plan, const RunOptions& options) {
  if (options.target_stderr_metric.empty()) return std::nullopt;
  StopRule rule;
  rule.target = options.target_stderr;
  const auto& metrics = plan.outcome_metrics;
  const auto it = std::find_if(metrics.begin(), metrics.end(),
                               [&](const output::MetricInfo& m) { return m.name == options.target_stderr_metric; });
  if (it == metrics.end()) {
    std::vector<std::string> names;
    for (const auto& m : metrics) names.push_back(m.name);
    throw core::InputError(fmt::format("--target-stderr: '{}' is not an outcome metric of this experiment; outcomes: {}",
                                       options.target_stderr_metric, fmt::join(names, ", ")));
  }
  rule.metric = static_cast<std::size_t>(it - metrics.begin());
  if (plan.sampling_slots.outcome_count > 0) rule.weight = plan.sampling_slots.outcome_offset;
  return rule;
}

// Where a scenario's run ended: rows [0, rows_run) and why, if early.
struct RowsRun {
  std::uint64_t rows_run = 0;
  std::string stopped_because;
};

// Runs rows [rows.first, rows.end) of a begun scenario (all of them unless
// sharded or distributed); batches already in the journal are read back
// instead.
RowsRun run_rows(const Scenario& scenario, const ScenarioPlan& plan, const ShardRows& rows,
                 output::ResultsWriter& writer, Progress& progress, Checkpoints& checkpoints,
                 std::optional<StopRule>& stop, const RunOptions& options) {
  const ScenarioSpec& spec = *scenario.spec;
  progress.begin_scenario(scenario.index, rows.end - rows.first);

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
  RowsRun result{rows.end, {}};
  for (std::uint64_t first = rows.first, index = 0; first < rows.end; first += batch_paths, ++index) {
    Batch& batch = batches[index % 2];
    batch.first = first;
    batch.rows = std::min<std::uint64_t>(batch_paths, rows.end - first);
    const std::span<double> outcomes(batch.outcomes.data(), batch.rows * outcome_count);
    const std::span<double> series(batch.series.data(), batch.rows * series_values);
    const bool loaded = checkpoints.journal->load(scenario.index, first, batch.rows, outcomes, series);
    if (!loaded) {
      tbb::parallel_for(tbb::blocked_range<std::uint64_t>(0, batch.rows, 1), [&](const auto& range) {
        for (std::uint64_t row = range.begin(); row != range.end(); ++row) {
          if (interrupt_requested().load(std::memory_order_relaxed)) return;
          World world(plan, first + row);
          world.run(std::span<double>(batch.series.data() + row * series_values, series_values),
                    std::span<double>(batch.outcomes.data() + row * outcome_count, outcome_count));
        }
      });
    }
    if (writing.valid()) writing.get();  // the previous batch is on disk; rethrows its error
    if (interrupt_requested().load()) throw core::Interrupted("interrupted");
    done += batch.rows;
    progress.update(done);
    const bool save = !loaded && checkpoints.saving();
    const bool sync = save && checkpoints.sync_due();
    writing = std::async(std::launch::async, [&, batch_pointer = &batch, outcomes, series, save, sync] {
      write_batch(scenario.index, plan, *batch_pointer, writer);
      if (save) checkpoints.journal->save(scenario.index, batch_pointer->first, batch_pointer->rows, outcomes, series);
      if (sync) checkpoints.journal->sync();
    });
    if (stop) {
      for (std::uint64_t row = 0; row < batch.rows; ++row) {
        const double* values = batch.outcomes.data() + row * outcome_count;
        stop->error.add(values[stop->metric], stop->weight == SIZE_MAX ? 1.0 : values[stop->weight]);
      }
      const double error = stop->error.value();
      if (++stop->batches >= 2 && error <= stop->target) {
        result.rows_run = first + batch.rows;
        result.stopped_because = fmt::format("--target-stderr {}={}: standard error {} after {} paths",
                                             options.target_stderr_metric, stop->target, error, result.rows_run);
        break;
      }
    }
  }
  if (writing.valid()) writing.get();
  progress.end_scenario();
  if (!result.stopped_because.empty() && options.progress) {
    std::fprintf(stderr, "  scenario %zu stopped: %s\n", scenario.index + 1, result.stopped_because.c_str());
  }
  return result;
}

// A whole scenario in one process: begin, run its rows, finish (summary).
void run_scenario(const Scenario& scenario, const ShardRows& rows, output::ResultsWriter& writer, Progress& progress,
                  Checkpoints& checkpoints, const RunOptions& options) {
  const ScenarioPlan plan(scenario.spec);
  std::optional<StopRule> stop = stop_rule_of(plan, options);
  output::ScenarioLayout layout = layout_of(scenario, plan, rows);
  layout.may_stop_early = stop.has_value();
  writer.begin_scenario(scenario.index, layout);
  const RowsRun run = run_rows(scenario, plan, rows, writer, progress, checkpoints, stop, options);
  warn_if_few_effective_paths(scenario.index, writer.finish_scenario(scenario.index, run.rows_run, run.stopped_because));
}

// Every rank of an MPI run (writer.options.parallel): all scenarios begun
// collectively, this rank's share of the batches (the assignment of
// `--shard rank/ranks`) run and written independently, then rank 0 alone
// finishes every scenario once every rank's rows are in the file.
void run_scenarios_distributed(const Experiment& experiment, const std::vector<ShardRows>& rows,
                               output::ResultsWriter& writer, Progress& progress, Checkpoints& checkpoints,
                               const RunOptions& options) {
  std::vector<ScenarioPlan> plans;
  plans.reserve(experiment.scenarios.size());
  for (const Scenario& scenario : experiment.scenarios) {
    plans.emplace_back(scenario.spec);
    writer.begin_scenario(scenario.index, layout_of(scenario, plans.back(), ShardRows{0, scenario.spec->paths}));
  }
  std::optional<StopRule> no_stop;
  for (const Scenario& scenario : experiment.scenarios) {
    if (rows[scenario.index].empty()) continue;  // another rank's
    run_rows(scenario, plans[scenario.index], rows[scenario.index], writer, progress, checkpoints, no_stop, options);
  }
  writer.handover();
  if (core::mpi::rank() != 0) return;
  for (const Scenario& scenario : experiment.scenarios) {
    warn_if_few_effective_paths(scenario.index, writer.finish_scenario(scenario.index));
  }
}

}  // namespace

RunStatistics run_experiment(const Experiment& experiment, const RunOptions& options) {
  keep_freed_heap();
  const auto started = Clock::now();
  const int threads = options.threads > 0 ? options.threads : tbb::info::default_concurrency();
  tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));

  if (!options.target_stderr_metric.empty() && !options.shard.whole()) {
    throw core::InputError("--target-stderr and --shard cannot be combined: where a scenario stops depends on every "
                           "batch before it");
  }
  // Under mpirun with R > 1 ranks, rank r runs the batches `--shard r/R`
  // would, and every rank writes its rows into the one results file.
  const int rank = core::mpi::rank();
  const int ranks = core::mpi::size();
  const bool distributed = ranks > 1;
  if (distributed && !options.shard.whole()) {
    throw core::InputError("--shard cannot be used under mpirun: the ranks already split the run (run each shard as "
                           "its own job, or drop --shard)");
  }
  if (distributed && !options.target_stderr_metric.empty()) {
    throw core::InputError("--target-stderr cannot be used under mpirun: where a scenario stops depends on every "
                           "batch before it, and the ranks run them at once");
  }
  // A --target-stderr metric every scenario has (checked before anything is written).
  for (const Scenario& scenario : experiment.scenarios) stop_rule_of(ScenarioPlan(scenario.spec), options);
  if (options.resume && std::filesystem::exists(options.output_path)) {
    throw core::InputError(fmt::format("--resume: {} is already complete", options.output_path));
  }
  output::ResultsWriterOptions writer_options;
  writer_options.deflate_level = experiment.base().record_compression;
  writer_options.parallel = distributed;
  output::ResultsWriter writer(options.output_path, options.overwrite || options.resume,
                               metadata_of(experiment, options.shard), writer_options);
  // What a resume must match: the resolved config (with every --set and
  // override) and the shard; under mpirun, each rank keeps its own journal
  // (NAME.rank-r-of-R.resume), so a resume needs the same number of ranks.
  const Shard share = distributed ? Shard{static_cast<std::uint32_t>(rank), static_cast<std::uint32_t>(ranks)}
                                  : options.shard;
  const std::string identity =
      fmt::format("defisim resume journal 1\n{}: {}/{}\nconfig:\n{}", distributed ? "rank" : "shard", share.index,
                  share.count, experiment.resolved_yaml);
  const std::string journal_of =
      distributed ? fmt::format("{}.rank-{}-of-{}", options.output_path, rank, ranks) : options.output_path;
  Journal journal(journal_of, identity, options.resume, options.overwrite);
  Checkpoints checkpoints{&journal, started, options.checkpoint_seconds, started};
  const std::size_t resumed_batches = journal.saved_batches();

  // Under mpirun only rank 0 reports progress (of its own share).
  Progress progress(options.progress && rank == 0, experiment.scenarios.size());
  RunStatistics statistics;
  statistics.threads = threads;
  statistics.ranks = ranks;
  const std::vector<ShardRows> rows = shard_rows(experiment, share);
  try {
    if (distributed) {
      run_scenarios_distributed(experiment, rows, writer, progress, checkpoints, options);
    } else {
      for (const Scenario& scenario : experiment.scenarios) {
        const ShardRows& scenario_rows = rows[scenario.index];
        if (!options.shard.whole() && scenario_rows.empty()) continue;  // another shard's
        run_scenario(scenario, scenario_rows, writer, progress, checkpoints, options);
      }
    }
    for (const Scenario& scenario : experiment.scenarios) {
      const ShardRows& scenario_rows = rows[scenario.index];
      statistics.paths += scenario_rows.end - scenario_rows.first;
      statistics.path_blocks += (scenario_rows.end - scenario_rows.first) * scenario.spec->blocks;
    }
  } catch (const core::Interrupted&) {
    const std::size_t saved = journal.saved_batches();
    // Under mpirun an empty journal stays: --resume needs every rank's.
    if (saved == 0 && !distributed) {
      journal.remove();
      throw core::Interrupted(fmt::format(
          "interrupted: stopped cleanly; no results file was written, and no batch was saved to resume from "
          "(a run saves its batches after its first {} s)",
          options.checkpoint_seconds));
    }
    journal.sync();
    throw core::Interrupted(fmt::format(
        "interrupted: stopped cleanly; {} batch(es) are saved in {}: run the same command with --resume to continue",
        saved, journal.directory().string()));
  } catch (...) {
    // Another error: a journal with nothing saved would only block the next run.
    if (journal.saved_batches() == 0 && !distributed) journal.remove();
    throw;
  }
  statistics.resumed_batches = resumed_batches;
  statistics.wall_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  if (rank == 0) {
    output::RunInfo info;
    info.created_utc = utc_now();
    info.threads = threads;  // per rank
    info.ranks = ranks;
    info.wall_seconds = statistics.wall_seconds;
    info.command_line = options.command_line;
    writer.commit(info);
  }
  // Every rank keeps its journal until rank 0 has committed the file.
  core::mpi::barrier();
  statistics.paths = core::mpi::sum(statistics.paths);
  statistics.path_blocks = core::mpi::sum(statistics.path_blocks);
  statistics.resumed_batches = core::mpi::sum(statistics.resumed_batches);
  journal.remove();
  return statistics;
}

}  // namespace defisim::engine
