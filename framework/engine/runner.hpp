#pragma once
// The Monte Carlo runner: every (scenario, path) is an independent work item,
// run by oneTBB in batches of experiment.batch_paths paths. Each path's
// results land at its own row, so the output is bit-identical for any thread
// count; memory is bounded by one batch, not by the number of paths.
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "framework/engine/experiment_spec.hpp"
#include "framework/engine/shards.hpp"

namespace defisim::engine {

struct RunOptions {
  std::string output_path;
  bool overwrite = false;
  int threads = 0;             // 0: all cores
  std::string command_line;    // stored in /run_info
  bool progress = true;        // progress on stderr
  Shard shard;                 // --shard i/n: only this share of the batches, into a shard file
  // Resumable runs (framework/engine/checkpoint.hpp): batches completed after
  // the first checkpoint_seconds of a run are saved to OUTPUT.resume/ (fsync
  // every checkpoint_seconds), so short runs pay nothing; resume = true
  // continues an interrupted run from them.
  bool resume = false;
  double checkpoint_seconds = 10.0;
  // --target-stderr METRIC=VALUE: a scenario stops after the first whole
  // batch (at least two) at which the standard error of METRIC's mean over
  // the paths run so far (under importance sampling, of the unbiased
  // estimator's mean of w x) is <= VALUE.
  // Deterministic: batches complete in order, so the stop is the same for
  // any thread count. Not with shards.
  std::string target_stderr_metric;
  double target_stderr = 0.0;
};

struct RunStatistics {
  double wall_seconds = 0;
  std::uint64_t paths = 0;        // over all scenarios
  std::uint64_t path_blocks = 0;  // paths x blocks over all scenarios
  int threads = 1;                // per rank
  int ranks = 1;                  // MPI ranks (mpirun -np R; 1 without MPI)
  std::uint64_t resumed_batches = 0;  // --resume: batches read back from the journal
};

// Set by SIGINT/SIGTERM (see main); the runner stops between paths, removes
// the partial file, keeps the batches saved for --resume and throws
// core::Interrupted saying how to continue.
std::atomic<bool>& interrupt_requested();

RunStatistics run_experiment(const Experiment& experiment, const RunOptions& options);

// Combines the shard files of one sharded run (every i of --shard i/n, in
// any order) into the results file the unsharded run writes: the same
// datasets, bit for bit, and the same summaries. Checks that the shards
// belong together (same config and n, each i once, each holding the rows
// the assignment gives it). Throws core::InputError otherwise.
struct MergeOptions {
  std::string output_path;
  bool overwrite = false;
  std::string command_line;
};
void merge_shards(const std::vector<std::string>& shard_paths, const MergeOptions& options);

}  // namespace defisim::engine
