// The results file writer and reader (layout: results_file.hpp, analysis/FORMAT.md).
//
// Not thread-safe: Debian's libhdf5 is the serial (non-thread-safe) build, so a
// ResultsWriter or ResultsReader, and any other use of HDF5 in the process,
// must be called from one thread at a time (see hdf5.hpp).
#include "framework/output/results_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string_view>
#include <system_error>

#include "framework/core/errors.hpp"
#include "framework/core/fsync.hpp"
#include "framework/core/mpi.hpp"
#include "framework/output/hdf5.hpp"
#include "framework/output/summary.hpp"

namespace defisim::output {

namespace fs = std::filesystem;

namespace {
// The summary columns every format 1.x file has (count .. es99); the 95%
// intervals after them came with format 1.2.
constexpr std::size_t format_1_0_summary_columns = 12;
}  // namespace

namespace {

const char* risk_tail_name(RiskTail tail) {
  return tail == RiskTail::lower_is_worse ? "lower_is_worse" : "higher_is_worse";
}

fs::path partial_path_of(const fs::path& final_path) {
  fs::path partial = final_path;
  partial += ".partial";
  return partial;
}

// A metric (or parameter) name that can be an HDF5 link or attribute name.
void check_name(std::string_view what, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos) {
    throw core::InputError(fmt::format(
        "{} name '{}' cannot be stored in a results file (it must be non-empty, not '.' or '..', "
        "and contain no '/')",
        what, name));
  }
}

void check_metrics(std::string_view kind, const std::vector<MetricInfo>& metrics) {
  std::set<std::string> seen;
  for (const auto& metric : metrics) {
    check_name(fmt::format("{} metric", kind), metric.name);
    if (!seen.insert(metric.name).second) {
      throw core::InputError(fmt::format("{} metric '{}' is defined twice", kind, metric.name));
    }
  }
}

void write_metric_attributes(const hdf5::Object& dataset, const MetricInfo& metric) {
  dataset.write_string_attribute("unit", metric.unit);
  dataset.write_string_attribute("description", metric.description);
  dataset.write_string_attribute("risk_tail", risk_tail_name(metric.risk_tail));
}


}  // namespace

// ================================================================ writer

namespace {
struct ScenarioState {
  hdf5::Group group;
  hdf5::Group outcomes_group;
  hdf5::Group series_group;
  std::vector<MetricInfo> outcome_info;
  std::vector<MetricInfo> series_info;
  std::vector<hdf5::RowWriter> outcomes;
  std::vector<hdf5::RowWriter> series;
  std::uint64_t paths = 0;
  std::uint64_t samples = 0;
  std::string weight_outcome;  // importance sampling: weights every other summary

  // Closes every object of the scenario (flushing staged rows), throwing
  // core::IoError on an HDF5 failure.
  void close() {
    for (auto& writer : outcomes) writer.close();
    for (auto& writer : series) writer.close();
    outcomes_group.close();
    series_group.close();
    group.close();
  }
};
}  // namespace

struct ResultsWriter::Impl {
  fs::path final_path;
  fs::path partial;
  ResultsWriterOptions options;
  // Declared first so it is destroyed last: every object of the file must be
  // closed before the file itself (the file is opened with close degree "semi").
  hdf5::File file;
  hdf5::Group root;
  hdf5::Group scenarios;
  std::map<std::size_t, ScenarioState> open;  // begun, not finished
  std::set<std::size_t> finished;
  bool committed = false;
  bool shard = false;  // a shard file: no summaries
  // options.parallel: the file is open on every rank until handover(); after
  // it, only rank 0 holds it (serially) and other ranks are done.
  bool handed_over = false;
  bool parallel_now() const { return options.parallel && !handed_over; }

  ScenarioState& state(std::size_t scenario, std::string_view operation) {
    if (committed) {
      throw core::InvariantViolation(
          fmt::format("{} on results file '{}' after commit()", operation, final_path.string()));
    }
    const auto it = open.find(scenario);
    if (it == open.end()) {
      throw core::InvariantViolation(fmt::format(
          "{} for scenario {} of '{}', which is {}", operation, scenario, partial.string(),
          finished.count(scenario) != 0 ? "already finished" : "not begun"));
    }
    return it->second;
  }

  void close_all() noexcept {
    open.clear();
    scenarios = hdf5::Group();
    root = hdf5::Group();
    file = hdf5::File();
  }
};

ResultsWriter::ResultsWriter(fs::path final_path, bool overwrite, const RunMetadata& metadata,
                             const ResultsWriterOptions& options)
    : impl_(std::make_unique<Impl>()) {
  if (options.deflate_level < 0 || options.deflate_level > 9) {
    throw core::InputError(fmt::format("the deflate level of a results file must be 0-9, not {}",
                                       options.deflate_level));
  }
  if (options.parallel && options.deflate_level > 0) {
    throw core::InputError(fmt::format(
        "experiment.record.compression is {}, but a run under mpirun writes its results file through parallel "
        "HDF5, which compresses only collective writes: set it to 0, or run --shard i/n jobs and defisim merge",
        options.deflate_level));
  }
  impl_->options = options;
  impl_->final_path = std::move(final_path);
  impl_->partial = partial_path_of(impl_->final_path);
  const fs::path& target = impl_->final_path;

  std::error_code error;
  const fs::file_status status = fs::status(target, error);
  if (fs::exists(status)) {
    if (fs::is_directory(status)) {
      throw core::IoError(
          fmt::format("cannot write results to '{}': it is a directory", target.string()));
    }
    if (!overwrite) {
      throw core::IoError(
          fmt::format("refusing to overwrite {}; use --force", target.string()));
    }
  }
  if (fs::is_directory(impl_->partial, error)) {
    throw core::IoError(fmt::format("cannot write results to '{}': it is a directory",
                                    impl_->partial.string()));
  }
  const fs::path parent = target.parent_path();
  if (!parent.empty()) {
    fs::create_directories(parent, error);
    if (error) {
      throw core::IoError(fmt::format("cannot create the directory '{}' for results: {}",
                                      parent.string(), error.message()));
    }
  }

  // A stale NAME.partial (from a crashed or killed run) is truncated.
  impl_->file = hdf5::File::create(impl_->partial, options.parallel);
  try {
    impl_->root = impl_->file.root();
    const hdf5::Group& root = impl_->root;
    impl_->shard = metadata.shard_count > 1;
    root.write_string_attribute("filetype", impl_->shard ? shard_filetype : results_filetype);
    if (impl_->shard) {
      const std::array<int, 2> shard = {static_cast<int>(metadata.shard_index), static_cast<int>(metadata.shard_count)};
      root.write_ints_attribute("shard", shard);
    }
    const std::array<int, 2> version = {results_format_major, results_format_minor};
    root.write_ints_attribute("format_version", version);
    root.write_string_attribute("defisim_version", metadata.defisim_version);
    root.write_string_attribute("source_revision", metadata.source_revision);
    root.write_string_attribute("experiment_name", metadata.experiment_name);
    root.write_uint64_attribute("seed", metadata.seed);
    root.write_uint64_attribute("paths", metadata.paths);
    root.write_uint64_attribute("blocks", metadata.blocks);
    root.write_double_attribute("block_time_seconds", metadata.block_time_seconds);
    root.write_string_attribute("config", metadata.config_yaml);
    impl_->scenarios = root.create_group("scenarios");
  } catch (...) {
    impl_->close_all();
    std::error_code ignored;
    fs::remove(impl_->partial, ignored);
    throw;
  }
}

ResultsWriter::~ResultsWriter() {
  if (!impl_ || impl_->committed) return;
  if (impl_->parallel_now()) {
    // Unwinding on one rank: closing is collective and the other ranks may
    // never call it, so the handles are left open and the caller ends every
    // rank (core::mpi::abort). NAME.partial stays, never looking complete.
    (void)impl_.release();
    return;
  }
  if (impl_->options.parallel && core::mpi::rank() != 0) return;  // rank 0 owns the file now
  impl_->close_all();
  std::error_code ignored;
  fs::remove(impl_->partial, ignored);
}

const fs::path& ResultsWriter::partial_path() const { return impl_->partial; }

void ResultsWriter::begin_scenario(std::size_t scenario, const ScenarioLayout& layout) {
  if (impl_->committed) {
    throw core::InvariantViolation(fmt::format("begin_scenario on results file '{}' after commit()",
                                               impl_->final_path.string()));
  }
  if (impl_->open.count(scenario) != 0 || impl_->finished.count(scenario) != 0) {
    throw core::InvariantViolation(
        fmt::format("scenario {} of '{}' was begun twice", scenario, impl_->partial.string()));
  }
  check_metrics("outcome", layout.outcomes);
  check_metrics("series", layout.series);
  for (const auto& metric : layout.series) {
    if (metric.name == "blocks") {
      throw core::InputError("a series metric cannot be named 'blocks' (series/blocks holds the "
                             "block number of each sample)");
    }
  }
  std::set<std::string> keys;
  for (const auto& [key, value] : layout.parameters) {
    if (key.empty() || key == "parameters") {
      throw core::InputError(fmt::format(
          "swept parameter name '{}' cannot be stored in a results file", key));
    }
    if (!keys.insert(key).second) {
      throw core::InputError(fmt::format("swept parameter '{}' is listed twice", key));
    }
  }

  ScenarioState state;
  state.paths = layout.paths;
  state.samples = layout.sample_blocks.size();
  state.outcome_info = layout.outcomes;
  state.weight_outcome = layout.weight_outcome;
  if (!layout.weight_outcome.empty() &&
      std::none_of(layout.outcomes.begin(), layout.outcomes.end(),
                   [&](const MetricInfo& metric) { return metric.name == layout.weight_outcome; })) {
    throw core::InvariantViolation(fmt::format("weight outcome '{}' is not an outcome metric", layout.weight_outcome));
  }
  state.series_info = layout.series;
  state.group = impl_->scenarios.create_group(std::to_string(scenario));

  std::vector<std::string> parameter_names;
  for (const auto& [key, value] : layout.parameters) parameter_names.push_back(key);
  state.group.write_strings_attribute("parameters", parameter_names);
  for (const auto& [key, value] : layout.parameters) {
    state.group.write_string_attribute(key, value);
  }
  if (impl_->shard) {
    state.group.write_uint64_attribute("shard_first_path", layout.shard_first_path);
    state.group.write_uint64_attribute("shard_end_path", layout.shard_end_path);
  }

  state.outcomes_group = state.group.create_group("outcomes");
  hdf5::DatasetOptions outcome_options;
  outcome_options.chunk = hdf5::make_chunk_1d(state.paths);
  outcome_options.fill_nan = true;  // a path never written reads as NaN
  outcome_options.deflate_level = impl_->options.deflate_level;
  outcome_options.compress = impl_->options.deflate_level > 0;
  outcome_options.extendible = layout.may_stop_early;
  // In a file written in parallel, rows of different ranks can share a
  // chunk: plain H5Dwrite, never a whole staged chunk.
  const bool parallel = impl_->options.parallel_compression && !impl_->options.parallel;
  for (const auto& metric : layout.outcomes) {
    hdf5::Dataset dataset = state.outcomes_group.create_dataset(
        metric.name, hdf5::ElementType::float64, {state.paths}, outcome_options);
    write_metric_attributes(dataset, metric);
    state.outcomes.emplace_back(std::move(dataset), parallel);
  }

  state.series_group = state.group.create_group("series");
  {
    hdf5::Dataset blocks = state.series_group.write_dataset(
        "blocks", std::span<const std::uint64_t>(layout.sample_blocks));
    blocks.write_string_attribute("unit", "block");
    blocks.write_string_attribute("description", "block number of each series sample");
  }
  hdf5::DatasetOptions series_options;
  series_options.chunk = hdf5::make_chunk_rows(state.paths, state.samples);
  series_options.fill_nan = true;
  series_options.deflate_level = impl_->options.deflate_level;
  series_options.compress = impl_->options.deflate_level > 0;
  series_options.extendible = layout.may_stop_early;
  // Room for partly written chunks when HDF5 merges writes (parallel_compression
  // off, or rows rewritten after their chunk was stored; a chunk is <= 128 KiB).
  series_options.chunk_cache_bytes = 4 * 1024 * 1024;
  for (const auto& metric : layout.series) {
    hdf5::Dataset dataset = state.series_group.create_dataset(
        metric.name, hdf5::ElementType::float64, {state.paths, state.samples}, series_options);
    write_metric_attributes(dataset, metric);
    state.series.emplace_back(std::move(dataset), parallel);
  }
  impl_->open.emplace(scenario, std::move(state));
}

void ResultsWriter::write_outcomes(std::size_t scenario, std::size_t metric,
                                   std::uint64_t first_path, std::span<const double> values) {
  ScenarioState& state = impl_->state(scenario, "write_outcomes");
  if (metric >= state.outcomes.size()) {
    throw core::InvariantViolation(fmt::format("outcome metric {} out of range (scenario {} has {})",
                                               metric, scenario, state.outcomes.size()));
  }
  state.outcomes[metric].write_rows(first_path, values.size(), values);
}

void ResultsWriter::write_series(std::size_t scenario, std::size_t metric,
                                 std::uint64_t first_path, std::uint64_t rows,
                                 std::span<const double> values) {
  ScenarioState& state = impl_->state(scenario, "write_series");
  if (metric >= state.series.size()) {
    throw core::InvariantViolation(fmt::format("series metric {} out of range (scenario {} has {})",
                                               metric, scenario, state.series.size()));
  }
  if (values.size() != rows * state.samples) {
    throw core::InvariantViolation(fmt::format(
        "write_series of '{}': {} values for {} rows x {} samples", state.series_info[metric].name,
        values.size(), rows, state.samples));
  }
  state.series[metric].write_rows(first_path, rows, values);
}

namespace {

// summary/ of a finished scenario, from its outcome columns read back one at a time.
ResultsWriter::Finished write_summary(std::size_t scenario, ScenarioState& state) {
  ResultsWriter::Finished finished;
  const std::vector<std::string>& columns = summary_column_names();
  std::vector<double> weights;
  for (std::size_t m = 0; m < state.outcomes.size(); ++m) {
    if (state.outcome_info[m].name == state.weight_outcome) weights = state.outcomes[m].dataset().read_doubles();
  }
  std::vector<std::string> names;
  std::vector<std::vector<double>> table(columns.size());
  for (std::size_t m = 0; m < state.outcomes.size(); ++m) {
    const MetricInfo& metric = state.outcome_info[m];
    SummaryStatistics statistics;
    {
      const std::vector<double> values =
          state.outcomes[m].dataset().read_doubles();  // one column at a time
      for (std::size_t path = 0; path < values.size(); ++path) {
        if (!std::isfinite(values[path])) {
          throw core::InvariantViolation(fmt::format(
              "scenario {}, outcome '{}': path {} of {} is {}{}", scenario, metric.name, path,
              values.size(), values[path],
              std::isnan(values[path]) ? " (never written, or the metric produced NaN)" : ""));
        }
      }
      // The likelihood ratio itself is summarised unweighted: its mean near 1
      // is the check that the tilt is not too strong for the paths run.
      statistics = weights.empty() || metric.name == state.weight_outcome
                       ? summarize(values, metric.risk_tail)
                       : summarize_weighted(values, weights, metric.risk_tail);
    }
    names.push_back(metric.name);
    for (std::size_t c = 0; c < columns.size(); ++c) {
      table[c].push_back(summary_column(statistics, c));
    }
  }
  {
    const hdf5::Group summary = state.group.create_group("summary");
    if (!weights.empty()) {
      summary.write_string_attribute("weighted_by", state.weight_outcome);
      double sum = 0, squares = 0;
      for (const double w : weights) {
        sum += w;
        squares += w * w;
      }
      finished.paths = weights.size();
      finished.effective_sample_size = squares > 0 ? sum * sum / squares : 0.0;
      finished.likelihood_ratio_mean = weights.empty() ? finished.likelihood_ratio_mean
                                                       : sum / static_cast<double>(weights.size());
      summary.write_double_attribute("effective_sample_size", finished.effective_sample_size);
      summary.write_double_attribute("likelihood_ratio_mean", finished.likelihood_ratio_mean);
    }
    summary.write_strings_dataset("metric", names).close();
    for (std::size_t c = 0; c < columns.size(); ++c) {
      summary.write_dataset(columns[c], std::span<const double>(table[c])).close();
    }
  }
  return finished;
}

}  // namespace

ResultsWriter::Finished ResultsWriter::finish_scenario(std::size_t scenario, std::uint64_t rows_run,
                                                       const std::string& reason) {
  if (impl_->parallel_now()) {
    throw core::InvariantViolation("finish_scenario of a results file written in parallel before handover()");
  }
  ScenarioState& state = impl_->state(scenario, "finish_scenario");
  // Chunks still partly written (rows never written stay NaN) go to the file.
  for (auto& writer : state.outcomes) writer.flush();
  for (auto& writer : state.series) writer.flush();
  if (rows_run < state.paths) {
    for (auto& writer : state.outcomes) writer.dataset().extend({rows_run});
    for (auto& writer : state.series) writer.dataset().extend({rows_run, state.samples});
    state.group.write_uint64_attribute("stopped_at_paths", rows_run);
    state.group.write_string_attribute("stopped_because", reason);
  }
  Finished finished;
  if (!impl_->shard) finished = write_summary(scenario, state);
  state.close();  // now, checking for errors
  impl_->open.erase(scenario);
  impl_->finished.insert(scenario);
  return finished;
}


void ResultsWriter::handover() {
  if (!impl_->options.parallel || impl_->handed_over) return;
  Impl& impl = *impl_;
  // Close every object on every rank (collective), in the same order.
  for (auto& [index, state] : impl.open) state.close();
  impl.scenarios.close();
  impl.root.close();
  impl.file.close();
  impl.handed_over = true;
  if (core::mpi::rank() != 0) {
    impl.open.clear();
    return;
  }
  impl.file = hdf5::File::open_read_write(impl.partial);
  impl.root = impl.file.root();
  impl.scenarios = impl.root.open_group("scenarios");
  for (auto& [index, state] : impl.open) {
    state.group = impl.scenarios.open_group(std::to_string(index));
    state.outcomes_group = state.group.open_group("outcomes");
    state.series_group = state.group.open_group("series");
    for (std::size_t m = 0; m < state.outcomes.size(); ++m) {
      state.outcomes[m] = hdf5::RowWriter(state.outcomes_group.open_dataset(state.outcome_info[m].name), false);
    }
    for (std::size_t m = 0; m < state.series.size(); ++m) {
      state.series[m] = hdf5::RowWriter(state.series_group.open_dataset(state.series_info[m].name), false);
    }
  }
}

void ResultsWriter::commit(const RunInfo& info) {
  if (impl_->committed) {
    throw core::InvariantViolation(
        fmt::format("results file '{}' committed twice", impl_->final_path.string()));
  }
  if (!impl_->open.empty()) {
    throw core::InvariantViolation(fmt::format(
        "commit of '{}' while scenario {} is not finished", impl_->final_path.string(),
        impl_->open.begin()->first));
  }
  {
    const hdf5::Group run_info = impl_->root.create_group("run_info");
    run_info.write_string_attribute("created_utc", info.created_utc);
    run_info.write_int_attribute("threads", info.threads);
    run_info.write_int_attribute("ranks", info.ranks);
    run_info.write_double_attribute("wall_seconds", info.wall_seconds);
    run_info.write_string_attribute("command_line", info.command_line);
  }
  impl_->scenarios.close();
  impl_->root.close();
  impl_->file.flush();
  impl_->file.close();
  core::fsync_path(impl_->partial);  // the rename never exposes an unwritten file after a crash
  std::error_code error;
  fs::rename(impl_->partial, impl_->final_path, error);
  if (error) {
    throw core::IoError(fmt::format("cannot rename '{}' to '{}': {}", impl_->partial.string(),
                                    impl_->final_path.string(), error.message()));
  }
  impl_->committed = true;
}

// ================================================================ reader

struct ResultsReader::Impl {
  fs::path path;
  hdf5::File file;
  hdf5::Group root;

  hdf5::Group scenario_group(std::size_t scenario) const {
    const hdf5::Group scenarios = root.open_group("scenarios");
    const std::string name = std::to_string(scenario);
    if (!scenarios.exists(name)) {
      throw core::InputError(fmt::format("results file '{}' has no scenario {} (it has {})",
                                         path.string(), scenario,
                                         scenarios.child_names().size()));
    }
    return scenarios.open_group(name);
  }

  hdf5::Dataset metric_dataset(std::size_t scenario, const std::string& kind,
                               const std::string& metric) const {
    const hdf5::Group scenario_g = scenario_group(scenario);
    const hdf5::Group group = scenario_g.open_group(kind);
    std::vector<std::string> available = group.child_names();
    if (kind == "series") std::erase(available, std::string("blocks"));
    if (metric == "blocks" || !group.exists(metric)) {
      throw core::InputError(fmt::format("scenario {} of '{}' has no {} metric '{}'; available: {}",
                                         scenario, path.string(), kind, metric,
                                         available.empty() ? std::string("(none)")
                                                           : fmt::format("{}", fmt::join(available, ", "))));
    }
    return group.open_dataset(metric);
  }
};

ResultsReader::ResultsReader(const fs::path& path, bool allow_shard) : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  std::error_code error;
  if (!fs::exists(path, error)) {
    fs::path partial = partial_path_of(path);
    if (fs::exists(partial, error)) {
      throw core::IoError(fmt::format(
          "cannot read results file '{}': no such file, but '{}' exists (a run still writing it, "
          "or one that was killed)",
          path.string(), partial.string()));
    }
    throw core::IoError(fmt::format("cannot read results file '{}': no such file", path.string()));
  }
  if (fs::is_directory(path, error)) {
    throw core::IoError(
        fmt::format("cannot read results file '{}': it is a directory", path.string()));
  }
  const int hdf5_file = hdf5::File::is_hdf5(path);
  if (hdf5_file < 0) {
    throw core::IoError(fmt::format("cannot read results file '{}'", path.string()));
  }
  if (hdf5_file == 0) {
    throw core::InputError(
        fmt::format("'{}' is not a defisim results file (not an HDF5 file)", path.string()));
  }
  impl_->file = hdf5::File::open_read_only(path);
  impl_->root = impl_->file.root();
  const hdf5::Group& root = impl_->root;
  if (!root.has_attribute("filetype") || !root.attribute_is_string("filetype")) {
    throw core::InputError(fmt::format(
        "'{}' is not a defisim results file (it has no filetype attribute)", path.string()));
  }
  const std::string filetype = root.read_string_attribute("filetype");
  if (filetype == shard_filetype && !allow_shard) {
    throw core::InputError(fmt::format(
        "'{}' is one shard of a sharded run (defisim run --shard), not a results file: combine the shards "
        "with `defisim merge -o RESULTS SHARD...`",
        path.string()));
  }
  if (filetype != results_filetype && filetype != shard_filetype) {
    throw core::InputError(fmt::format("'{}' is not a defisim results file (filetype is '{}')",
                                       path.string(), filetype));
  }
  std::vector<std::int64_t> version;
  if (root.has_attribute("format_version") && !root.attribute_is_string("format_version")) {
    version = root.read_ints_attribute("format_version");
  }
  if (version.empty()) {
    throw core::InputError(
        fmt::format("'{}' has no valid format_version attribute", path.string()));
  }
  if (version[0] != results_format_major) {
    throw core::InputError(fmt::format(
        "'{}' has results format version {}.{}, but this defisim reads format version {}.x "
        "(supported: {}.0 to {}.{}); use a defisim release that reads major version {}",
        path.string(), version[0], version.size() > 1 ? version[1] : 0, results_format_major,
        results_format_major, results_format_major, results_format_minor, version[0]));
  }
  if (!root.exists("scenarios")) {
    throw core::InputError(
        fmt::format("'{}' is not a complete results file (no /scenarios group)", path.string()));
  }
}

ResultsReader::~ResultsReader() = default;

std::string ResultsReader::root_attribute_string(const std::string& name) const {
  if (!impl_->root.has_attribute(name)) {
    throw core::InputError(
        fmt::format("results file '{}' has no attribute '{}'", impl_->path.string(), name));
  }
  return impl_->root.read_attribute_as_text(name);
}

std::size_t ResultsReader::scenario_count() const {
  return impl_->root.open_group("scenarios").child_names().size();
}

ScenarioSummary ResultsReader::summary(std::size_t scenario) const {
  const hdf5::Group group = impl_->scenario_group(scenario);
  ScenarioSummary result;
  result.name = std::to_string(scenario);
  if (group.has_attribute("parameters")) {
    for (const std::string& key : group.read_strings_attribute("parameters")) {
      result.parameters.emplace_back(key, group.read_attribute_as_text(key));
    }
  }
  if (!group.exists("summary")) {
    throw core::InputError(fmt::format("scenario {} of '{}' has no summary", scenario,
                                       impl_->path.string()));
  }
  const hdf5::Group summary = group.open_group("summary");
  result.metrics = summary.open_dataset("metric").read_strings();
  const bool has_outcomes = group.exists("outcomes");
  for (const std::string& metric : result.metrics) {
    std::string unit;
    if (has_outcomes) {
      const hdf5::Group outcomes = group.open_group("outcomes");
      if (outcomes.exists(metric)) {
        const hdf5::Dataset dataset = outcomes.open_dataset(metric);
        if (dataset.has_attribute("unit")) unit = dataset.read_attribute_as_text("unit");
      }
    }
    result.units.push_back(std::move(unit));
  }
  const std::vector<std::string>& column_names = summary_column_names();
  for (std::size_t c = 0; c < column_names.size(); ++c) {
    const std::string& column = column_names[c];
    if (!summary.exists(column) && c >= format_1_0_summary_columns) {
      // A file of format 1.0 or 1.1 has no confidence-interval columns.
      result.columns.emplace_back(result.metrics.size(), std::numeric_limits<double>::quiet_NaN());
      continue;
    }
    if (!summary.exists(column)) {
      throw core::InputError(fmt::format("scenario {} of '{}': summary has no column '{}'",
                                         scenario, impl_->path.string(), column));
    }
    std::vector<double> values = summary.open_dataset(column).read_doubles();
    if (values.size() != result.metrics.size()) {
      throw core::InputError(fmt::format(
          "scenario {} of '{}': summary column '{}' has {} values for {} metrics", scenario,
          impl_->path.string(), column, values.size(), result.metrics.size()));
    }
    result.columns.push_back(std::move(values));
  }
  return result;
}

std::vector<double> ResultsReader::outcomes(std::size_t scenario, const std::string& metric) const {
  const hdf5::Dataset dataset = impl_->metric_dataset(scenario, "outcomes", metric);
  if (dataset.dims().size() != 1) {
    throw core::InputError(fmt::format("outcome '{}' of scenario {} in '{}' is not one-dimensional",
                                       metric, scenario, impl_->path.string()));
  }
  return dataset.read_doubles();
}

std::vector<double> ResultsReader::series(std::size_t scenario, const std::string& metric,
                                          std::uint64_t* paths_out,
                                          std::uint64_t* samples_out) const {
  const hdf5::Dataset dataset = impl_->metric_dataset(scenario, "series", metric);
  const std::vector<hsize_t> dims = dataset.dims();
  if (dims.size() != 2) {
    throw core::InputError(fmt::format("series '{}' of scenario {} in '{}' is not two-dimensional",
                                       metric, scenario, impl_->path.string()));
  }
  if (paths_out != nullptr) *paths_out = dims[0];
  if (samples_out != nullptr) *samples_out = dims[1];
  return dataset.read_doubles();
}

std::vector<double> ResultsReader::outcome_rows(std::size_t scenario, const std::string& metric,
                                                std::uint64_t first, std::uint64_t rows) const {
  return impl_->metric_dataset(scenario, "outcomes", metric).read_double_rows(first, rows);
}

std::vector<double> ResultsReader::series_rows(std::size_t scenario, const std::string& metric,
                                               std::uint64_t first, std::uint64_t rows) const {
  return impl_->metric_dataset(scenario, "series", metric).read_double_rows(first, rows);
}

std::pair<std::uint32_t, std::uint32_t> ResultsReader::shard() const {
  if (!impl_->root.has_attribute("shard")) return {0, 1};
  const std::vector<std::int64_t> shard = impl_->root.read_ints_attribute("shard");
  if (shard.size() != 2 || shard[0] < 0 || shard[1] < 1 || shard[0] >= shard[1]) {
    throw core::InputError(fmt::format("'{}' has an invalid shard attribute", impl_->path.string()));
  }
  return {static_cast<std::uint32_t>(shard[0]), static_cast<std::uint32_t>(shard[1])};
}

bool ResultsReader::has_scenario(std::size_t scenario) const {
  return impl_->root.open_group("scenarios").exists(std::to_string(scenario));
}

std::pair<std::uint64_t, std::uint64_t> ResultsReader::shard_rows(std::size_t scenario) const {
  const hdf5::Group group = impl_->scenario_group(scenario);
  if (!group.has_attribute("shard_first_path") || !group.has_attribute("shard_end_path")) {
    throw core::InputError(fmt::format("scenario {} of '{}' has no shard rows (not a shard file?)", scenario,
                                       impl_->path.string()));
  }
  return {group.read_uint64_attribute("shard_first_path"), group.read_uint64_attribute("shard_end_path")};
}

// ================================================================ table

namespace {

std::string group_thousands(std::string_view digits) {
  std::string out;
  const std::size_t n = digits.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

void strip_trailing_zeros(std::string& mantissa) {
  if (mantissa.find('.') == std::string::npos) return;
  while (!mantissa.empty() && mantissa.back() == '0') mantissa.pop_back();
  if (!mantissa.empty() && mantissa.back() == '.') mantissa.pop_back();
}

// About 6 significant digits; thousands separated by commas; scientific
// notation only for very small or very large magnitudes.
std::string format_number(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  if (x == 0) return "0";
  const double magnitude = std::fabs(x);
  if (magnitude >= 1e-3 && magnitude < 1e15) {
    const int exponent = static_cast<int>(std::floor(std::log10(magnitude)));
    const int decimals = std::clamp(5 - exponent, 0, 8);
    std::string text = fmt::format("{:.{}f}", magnitude, decimals);
    strip_trailing_zeros(text);
    if (text == "0") return "0";
    const std::size_t point = text.find('.');
    const std::string integer = text.substr(0, point);
    const std::string fraction = point == std::string::npos ? "" : text.substr(point);
    return fmt::format("{}{}{}", x < 0 ? "-" : "", group_thousands(integer), fraction);
  }
  std::string text = fmt::format("{:.5e}", x);
  const std::size_t e = text.find('e');
  std::string mantissa = text.substr(0, e);
  strip_trailing_zeros(mantissa);
  return mantissa + text.substr(e);
}

// Display width of UTF-8 text (one column per code point).
std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++width;
  }
  return width;
}

std::string pad(const std::string& text, std::size_t width, bool right_align) {
  const std::size_t w = display_width(text);
  const std::string fill(w < width ? width - w : 0, ' ');
  return right_align ? fill + text : text + fill;
}

}  // namespace

void print_summary_table(const ScenarioSummary& summary, const std::string& metric_filter,
                         std::FILE* out, SummaryTable table) {
  const std::vector<std::string>& names = summary_column_names();
  auto column_index = [&](std::string_view name) {
    return static_cast<std::size_t>(std::find(names.begin(), names.end(), name) - names.begin());
  };
  const std::size_t count_c = column_index("count");
  const std::size_t mean_c = column_index("mean");
  const std::size_t se_c = column_index("standard_error");
  const std::array<std::size_t, 5> numeric_columns = {column_index("p5"), column_index("p50"),
                                                      column_index("p95"), column_index("var95"),
                                                      column_index("es95")};
  auto value = [&](std::size_t column, std::size_t metric) {
    if (column >= summary.columns.size() || metric >= summary.columns[column].size()) {
      return std::numeric_limits<double>::quiet_NaN();
    }
    return summary.columns[column][metric];
  };

  std::vector<std::size_t> selected;
  for (std::size_t m = 0; m < summary.metrics.size(); ++m) {
    if (metric_filter.empty() || summary.metrics[m] == metric_filter) selected.push_back(m);
  }
  if (!metric_filter.empty() && selected.empty()) {
    throw core::InputError(fmt::format(
        "scenario {} has no metric '{}'; available: {}", summary.name, metric_filter,
        summary.metrics.empty() ? std::string("(none)")
                                : fmt::format("{}", fmt::join(summary.metrics, ", "))));
  }

  // Header line: the scenario, its swept parameters and the number of paths.
  std::string header = fmt::format("scenario {}", summary.name);
  if (summary.parameters.empty()) {
    header += " (no swept parameters)";
  } else {
    std::vector<std::string> parts;
    for (const auto& [key, v] : summary.parameters) parts.push_back(fmt::format("{}={}", key, v));
    header += fmt::format(": {}", fmt::join(parts, ", "));
  }
  if (!selected.empty()) {
    const double paths = value(count_c, selected.front());
    bool same = true;
    for (std::size_t m : selected) same = same && value(count_c, m) == paths;
    if (same && std::isfinite(paths)) {
      header += fmt::format("; {} paths", format_number(paths));
    }
  }

  std::vector<std::vector<std::string>> rows;
  if (table == SummaryTable::statistics) {
    rows.push_back({"metric", "unit", "mean ± stderr", "p5", "p50", "p95", "VaR95", "ES95"});
  } else {
    rows.push_back({"metric", "unit", "mean", "95% CI", "VaR95", "95% CI", "VaR99", "95% CI"});
  }
  // "[low, high]" of the file's 95% interval columns; n/a in files before format 1.2.
  auto interval = [&](std::string_view low, std::string_view high, std::size_t metric) {
    const double a = value(column_index(low), metric), b = value(column_index(high), metric);
    if (std::isnan(a) || std::isnan(b)) return std::string("n/a");
    return fmt::format("[{}, {}]", format_number(a), format_number(b));
  };
  for (std::size_t m : selected) {
    std::vector<std::string> row;
    row.push_back(summary.metrics[m]);
    row.push_back(m < summary.units.size() ? summary.units[m] : "");
    if (table == SummaryTable::statistics) {
      const double se = value(se_c, m);
      row.push_back(fmt::format("{} ± {}", format_number(value(mean_c, m)),
                                std::isnan(se) ? std::string("n/a") : format_number(se)));
      for (std::size_t c : numeric_columns) row.push_back(format_number(value(c, m)));
    } else {
      row.push_back(format_number(value(mean_c, m)));
      row.push_back(interval("mean_ci95_low", "mean_ci95_high", m));
      row.push_back(format_number(value(column_index("var95"), m)));
      row.push_back(interval("var95_ci95_low", "var95_ci95_high", m));
      row.push_back(format_number(value(column_index("var99"), m)));
      row.push_back(interval("var99_ci95_low", "var99_ci95_high", m));
    }
    rows.push_back(std::move(row));
  }
  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      widths[c] = std::max(widths[c], display_width(row[c]));
    }
  }
  std::size_t total = 0;
  for (std::size_t w : widths) total += w;
  total += 2 * (widths.size() - 1);

  fmt::print(out, "{}\n", header);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::string line;
    for (std::size_t c = 0; c < rows[r].size(); ++c) {
      if (c > 0) line += "  ";
      line += pad(rows[r][c], widths[c], /*right_align=*/c >= 2);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    fmt::print(out, "{}\n", line);
    if (r == 0) fmt::print(out, "{}\n", std::string(total, '-'));
  }
  if (selected.empty()) fmt::print(out, "(no outcome metrics)\n");
}

}  // namespace defisim::output
