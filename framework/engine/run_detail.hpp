#pragma once
// What `defisim run` and `defisim merge` (runner.cpp, merge.cpp) share: the
// file's metadata and a scenario's layout as the runner writes them, so a
// merged file is laid out exactly as an unsharded one.
#include <string>

#include "framework/engine/experiment_spec.hpp"
#include "framework/engine/scenario_plan.hpp"
#include "framework/engine/shards.hpp"
#include "framework/output/results_file.hpp"

namespace defisim::engine::run_detail {

std::string utc_now();
output::ScenarioLayout layout_of(const Scenario& scenario, const ScenarioPlan& plan, const ShardRows& rows);
output::RunMetadata metadata_of(const Experiment& experiment, Shard shard);
void keep_freed_heap();
// Under importance sampling, a warning on stderr when the likelihood ratios
// leave few effective paths (Kish's ESS < min(100, paths / 10)): the weighted
// summary of anything the tilt does not aim at then rests on a handful of
// paths.
void warn_if_few_effective_paths(std::size_t scenario, const output::ResultsWriter::Finished& finished);

}  // namespace defisim::engine::run_detail
