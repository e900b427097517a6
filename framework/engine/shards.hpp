#pragma once
// Sharding a run for job arrays (`defisim run --shard i/n`, `defisim merge`).
//
// The work of an experiment is its batches: scenario after scenario, each in
// batches of experiment.batch_paths paths (the runner's unit of work and of
// writing). Shard i of n runs the contiguous range of batches
// [floor(i U / n), floor((i + 1) U / n)) of the U batches, so every shard has
// a near-equal share whether the sweep has one scenario or thousands, a
// batch is never split, and the assignment depends only on (U, n): `merge`
// recomputes it to know which shard holds which rows. Paths are keyed by
// (seed, path), so a shard's rows are bit-identical to the same rows of an
// unsharded run.
#include <cstdint>
#include <string>
#include <vector>

#include "framework/engine/experiment_spec.hpp"

namespace defisim::engine {

struct Shard {
  std::uint32_t index = 0;
  std::uint32_t count = 1;  // 1: the whole run
  bool whole() const { return count == 1; }
};

// "i/n" with 0 <= i < n <= 100000; throws core::InputError naming `option`.
Shard parse_shard(const std::string& text, const std::string& option = "--shard");

// The rows [first, end) of one scenario that a shard runs (empty: first == end).
struct ShardRows {
  std::uint64_t first = 0;
  std::uint64_t end = 0;
  bool empty() const { return first == end; }
};

// Per scenario of `experiment`, the rows shard `shard` runs.
std::vector<ShardRows> shard_rows(const Experiment& experiment, Shard shard);

}  // namespace defisim::engine
