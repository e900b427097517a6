#pragma once
// The results file: one HDF5 file per run, laid out as analysis/FORMAT.md says.
//
//   /                      attributes: filetype = "defisim-results",
//                          format_version = [major, minor], defisim_version,
//                          source_revision, experiment_name, seed, paths,
//                          blocks, block_time_seconds, config (resolved YAML)
//   /run_info              attributes that legitimately differ between
//                          identical runs: created_utc, threads, ranks,
//                          wall_seconds, command_line
//   /scenarios/<k>/        attributes: one per swept parameter (key -> value
//                          as YAML text), and "parameters" listing them
//     outcomes/<metric>    float64[paths]            one value per path
//     series/<metric>      float64[paths, samples]   sampled every record.every blocks
//     series/blocks        uint64[samples]           the block number of each sample
//     summary/             metric (string[m]) and one float64[m] column per
//                          statistic: count, mean, standard_error, p1, p5, p50,
//                          p95, p99, var95, es95, var99, es99, and (format 1.2)
//                          the 95% intervals mean_ci95_low/high,
//                          var95_ci95_low/high, var99_ci95_low/high
// Every metric dataset carries attributes unit, description, risk_tail.
//
// The file is written as NAME.partial and renamed to NAME by commit(); if the
// writer is destroyed before commit() the partial file is removed, so nothing
// incomplete ever looks complete. Errors throw core::IoError with the path.
#include <cstdint>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "framework/output/metric.hpp"

namespace defisim::output {

inline constexpr const char* results_filetype = "defisim-results";
// A shard of a run (`defisim run --shard i/n`): the same layout holding only
// the shard's rows, without summaries; `defisim merge` makes the results file.
inline constexpr const char* shard_filetype = "defisim-results-shard";
inline constexpr int results_format_major = 1;
inline constexpr int results_format_minor = 2;

struct RunMetadata {
  std::string experiment_name;
  std::string defisim_version;
  std::string source_revision;
  std::string config_yaml;  // the resolved config: `defisim run` of it reproduces the file
  std::uint64_t seed = 0;
  std::uint64_t paths = 0;
  std::uint64_t blocks = 0;
  double block_time_seconds = 0;
  // A shard file when shard_count > 1: filetype shard_filetype, root
  // attribute shard = [index, count], per scenario shard_first_path and
  // shard_end_path (the rows it holds), no summary/.
  std::uint32_t shard_index = 0;
  std::uint32_t shard_count = 1;
};

struct RunInfo {
  std::string created_utc;  // ISO 8601
  int threads = 1;
  int ranks = 1;
  double wall_seconds = 0;
  std::string command_line;
};

struct ScenarioLayout {
  std::vector<std::pair<std::string, std::string>> parameters;  // swept key -> value (YAML text)
  std::vector<MetricInfo> outcomes;
  std::vector<MetricInfo> series;
  std::vector<std::uint64_t> sample_blocks;  // block number of each series sample
  std::uint64_t paths = 0;
  // Importance sampling: the outcome metric holding each path's likelihood
  // ratio; every other metric's summary is weighted by it (empty: none).
  std::string weight_outcome;
  // The scenario may stop before `paths` (--target-stderr): its datasets are
  // created extendible so finish_scenario can cut them to the rows run.
  bool may_stop_early = false;
  // In a shard file, the rows [shard_first_path, shard_end_path) it holds.
  std::uint64_t shard_first_path = 0;
  std::uint64_t shard_end_path = 0;
};

// How the writer stores outcome and series datasets. The defaults are what
// `defisim run` uses; neither option changes what a reader reads back.
struct ResultsWriterOptions {
  // Deflate (gzip) level of outcome and series datasets, 0-9, after the
  // shuffle filter; 0 stores them without filters. Monte Carlo series of
  // prices and values are nearly incompressible (level 1 saves ~30% of W1's
  // series at ~0.4 core-seconds per 40 MB, more than simulating them), so
  // `defisim run` stores them raw unless experiment.record.compression asks.
  int deflate_level = 0;
  // true: whole chunks are shuffled and deflated by the writer itself, several
  // at once on oneTBB's threads, and stored with H5Dwrite_chunk (see
  // hdf5::RowWriter). false: HDF5 filters every chunk inside H5Dwrite, on the
  // calling thread. The stored chunks are identical either way.
  bool parallel_compression = true;
  // Written by every rank of an MPI run (`mpirun -np R defisim run`, the MPI
  // build only) through parallel HDF5. Every rank constructs the writer and
  // calls begin_scenario for every scenario in the same order with the same
  // layout (collective), then writes its own rows (independent I/O; the rows
  // of different ranks may share a chunk, so nothing is staged and
  // deflate_level must be 0). handover() then closes the file on every rank
  // and reopens it on rank 0 alone, which finishes every scenario and
  // commits; the other ranks are done. The file read back equals the one a
  // single process writes, dataset by dataset.
  bool parallel = false;
};

class ResultsWriter {
 public:
  // Creates `final_path` + ".partial". Throws core::IoError if final_path
  // exists and !overwrite, or if the file cannot be created, and
  // core::InputError if options.deflate_level is not 0-9.
  ResultsWriter(std::filesystem::path final_path, bool overwrite, const RunMetadata& metadata,
                const ResultsWriterOptions& options = {});
  ~ResultsWriter();  // removes the partial file unless committed
  ResultsWriter(const ResultsWriter&) = delete;
  ResultsWriter& operator=(const ResultsWriter&) = delete;

  // Creates /scenarios/<index>/ and its datasets (chunked, compressed).
  void begin_scenario(std::size_t scenario, const ScenarioLayout& layout);
  // Rows [first_path, first_path + values.size()) of outcomes/<metric>.
  //
  // Rows may come in any order and any block size, but writing them in order
  // in blocks of a power-of-two number of paths (the engine's default 512)
  // fills whole series chunks in every call, which are then compressed in
  // parallel. Rows of a chunk not yet complete are held in memory until it
  // is (or until finish_scenario), so they are not in the partial file yet.
  // Both calls may use oneTBB (from whichever thread calls them); they call
  // HDF5 only on the calling thread.
  void write_outcomes(std::size_t scenario, std::size_t metric, std::uint64_t first_path,
                      std::span<const double> values);
  // Rows [first_path, first_path + rows) of series/<metric>; values is
  // row-major rows x samples.
  void write_series(std::size_t scenario, std::size_t metric, std::uint64_t first_path,
                    std::uint64_t rows, std::span<const double> values);
  // Reads each outcome column back (one at a time, so memory stays bounded)
  // and writes summary/. A scenario begun with may_stop_early that ran only
  // rows [0, rows_run) is cut to them first, and records rows_run in its
  // attribute stopped_at_paths (and `reason`, e.g. the target met, in
  // stopped_because).
  //
  // Returns, under importance sampling, Kish's effective sample size of the
  // likelihood ratios, (sum w)^2 / sum w^2, and their mean (1 in
  // expectation), which summary/ also stores as attributes
  // effective_sample_size and likelihood_ratio_mean; NaN otherwise.
  struct Finished {
    double effective_sample_size = std::numeric_limits<double>::quiet_NaN();
    double likelihood_ratio_mean = std::numeric_limits<double>::quiet_NaN();
    std::uint64_t paths = 0;
  };
  Finished finish_scenario(std::size_t scenario, std::uint64_t rows_run = UINT64_MAX, const std::string& reason = {});
  // Writes /run_info, flushes, closes and renames NAME.partial -> NAME.
  void commit(const RunInfo& info);

  // options.parallel only, collective: every rank's rows are in the file,
  // which is closed on every rank and reopened on rank 0 alone; there
  // finish_scenario and commit follow as in a serial run. On other ranks
  // nothing more may be called. No-op for a serial writer.
  void handover();

  const std::filesystem::path& partial_path() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reading, for `defisim summarize` and tests.
struct ScenarioSummary {
  std::string name;  // "<k>"
  std::vector<std::pair<std::string, std::string>> parameters;
  std::vector<std::string> metrics;
  std::vector<std::string> units;  // per metric
  std::vector<std::vector<double>> columns;  // [statistic][metric], statistics as summary_column_names()
};

class ResultsReader {
 public:
  // Throws core::IoError if the file is missing or unreadable, core::InputError
  // if it is not a defisim results file (or, with allow_shard, a shard file)
  // or its major version is unsupported.
  explicit ResultsReader(const std::filesystem::path& path, bool allow_shard = false);
  ~ResultsReader();
  std::string root_attribute_string(const std::string& name) const;
  std::size_t scenario_count() const;
  ScenarioSummary summary(std::size_t scenario) const;
  std::vector<double> outcomes(std::size_t scenario, const std::string& metric) const;
  // row-major paths x samples
  std::vector<double> series(std::size_t scenario, const std::string& metric,
                             std::uint64_t* paths_out, std::uint64_t* samples_out) const;
  // Rows [first, first + rows): outcomes; series row-major rows x samples.
  std::vector<double> outcome_rows(std::size_t scenario, const std::string& metric, std::uint64_t first,
                                   std::uint64_t rows) const;
  std::vector<double> series_rows(std::size_t scenario, const std::string& metric, std::uint64_t first,
                                  std::uint64_t rows) const;
  // Shard files: [index, count] ({0, 1} for a results file), whether it
  // holds scenario k, and the rows [first, end) it holds of it.
  std::pair<std::uint32_t, std::uint32_t> shard() const;
  bool has_scenario(std::size_t scenario) const;
  std::pair<std::uint64_t, std::uint64_t> shard_rows(std::size_t scenario) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The readable table printed by `defisim summarize` and after `defisim run`:
// one row per metric, columns mean ± stderr, p5, p50, p95, VaR95, ES95, unit
// (statistics), or the mean, VaR95 and VaR99 each with its 95% confidence
// interval (intervals, `defisim summarize --intervals`).
// metric_filter empty = all metrics.
enum class SummaryTable { statistics, intervals };
void print_summary_table(const ScenarioSummary& summary, const std::string& metric_filter, std::FILE* out,
                         SummaryTable table = SummaryTable::statistics);

}  // namespace defisim::output
