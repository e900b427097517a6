// The results file: write, commit, read back bit for bit; the .partial
// convention; overwrite protection; the reader's validation.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "framework/core/errors.hpp"
#include "framework/output/hdf5.hpp"
#include "framework/output/results_file.hpp"
#include "framework/output/summary.hpp"
#include "tests/support/bits.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace defisim::output;
using defisim::core::InputError;
using defisim::core::InvariantViolation;
using defisim::core::IoError;

namespace {

using defisim::test_support::read_file;
using defisim::test_support::same_bits;
using defisim::test_support::TempDir;

RunMetadata test_metadata(std::uint64_t paths) {
  RunMetadata m;
  m.experiment_name = "unit-test";
  m.defisim_version = "0.1.0";
  m.source_revision = "abc123";
  m.config_yaml = "experiment: unit-test\nseed: 42\n# ünïcödé survives\n";
  m.seed = 42;
  m.paths = paths;
  m.blocks = 600;
  m.block_time_seconds = 12.0;
  return m;
}

RunInfo test_run_info() {
  RunInfo info;
  info.created_utc = "2024-01-01T00:00:00Z";
  info.threads = 2;
  info.ranks = 1;
  info.wall_seconds = 1.5;
  info.command_line = "defisim run test.yaml";
  return info;
}

ScenarioLayout test_layout(std::uint64_t paths, std::size_t samples, const std::string& fee) {
  ScenarioLayout layout;
  layout.parameters = {{"markets.pool.fee", fee}, {"lp.range", "[0.9, 1.1]"}};
  layout.outcomes = {
      {"lp.pnl_vs_hodl", "USDC", "LP value minus HODL value at the end", RiskTail::lower_is_worse},
      {"lp.fees", "USDC", "fees earned", RiskTail::lower_is_worse},
      {"lender.bad_debt", "USDC", "bad debt at the end", RiskTail::higher_is_worse},
  };
  layout.series = {
      {"lp.value", "USDC", "LP position value", RiskTail::lower_is_worse},
      {"lp.hodl_value", "USDC", "value of the initial tokens held", RiskTail::lower_is_worse},
  };
  for (std::size_t s = 0; s < samples; ++s) layout.sample_blocks.push_back(s * 10);
  layout.paths = paths;
  return layout;
}

// Deterministic, irregular values (not round numbers, so bit equality means something).
double outcome_value(std::size_t scenario, std::size_t metric, std::uint64_t path) {
  const double x = static_cast<double>(path) * 0.7390851332151607 +
                   static_cast<double>(metric) * 1.4142135623730951 +
                   static_cast<double>(scenario) * 2.718281828459045;
  return std::sin(x) * 1000.0 / 3.0 + (metric == 2 ? 400.0 : 0.0);
}

double series_value(std::size_t scenario, std::size_t metric, std::uint64_t path,
                    std::size_t sample) {
  return 1000.0 + std::cos(static_cast<double>(path * 31 + sample) * 0.1 +
                           static_cast<double>(metric + 3 * scenario)) /
                      7.0;
}

// Writes a complete scenario in blocks of `block` paths.
void write_scenario(ResultsWriter& writer, std::size_t scenario, const ScenarioLayout& layout,
                    std::uint64_t block) {
  writer.begin_scenario(scenario, layout);
  const std::size_t samples = layout.sample_blocks.size();
  for (std::uint64_t first = 0; first < layout.paths; first += block) {
    const std::uint64_t rows = std::min(block, layout.paths - first);
    for (std::size_t m = 0; m < layout.outcomes.size(); ++m) {
      std::vector<double> values;
      for (std::uint64_t p = first; p < first + rows; ++p) {
        values.push_back(outcome_value(scenario, m, p));
      }
      writer.write_outcomes(scenario, m, first, values);
    }
    for (std::size_t m = 0; m < layout.series.size(); ++m) {
      std::vector<double> values;
      for (std::uint64_t p = first; p < first + rows; ++p) {
        for (std::size_t s = 0; s < samples; ++s) values.push_back(series_value(scenario, m, p, s));
      }
      writer.write_series(scenario, m, first, rows, values);
    }
  }
  writer.finish_scenario(scenario);
}

}  // namespace

TEST_CASE("a results file with two scenarios round-trips bit for bit", "[output][results]") {
  TempDir dir;
  const fs::path path = dir.path / "sub" / "dir" / "run.h5";  // parents are created
  const std::uint64_t paths = 1000;
  const std::size_t samples = 300;  // several row chunks per series
  const std::array<std::string, 2> fees = {"0.003", "0.01"};
  {
    ResultsWriter writer(path, false, test_metadata(paths));
    CHECK(writer.partial_path() == fs::path(path.string() + ".partial"));
    CHECK(fs::exists(writer.partial_path()));
    CHECK_FALSE(fs::exists(path));
    write_scenario(writer, 0, test_layout(paths, samples, fees[0]), 64);
    write_scenario(writer, 1, test_layout(paths, samples, fees[1]), 333);
    CHECK(fs::exists(writer.partial_path()));
    CHECK_FALSE(fs::exists(path));
    writer.commit(test_run_info());
    CHECK(fs::exists(path));
    CHECK_FALSE(fs::exists(writer.partial_path()));
  }
  CHECK(fs::exists(path));  // the destructor after commit keeps the file

  const ResultsReader reader(path);
  CHECK(reader.root_attribute_string("filetype") == "defisim-results");
  CHECK(reader.root_attribute_string("format_version") == "[1, 2]");
  CHECK(reader.root_attribute_string("experiment_name") == "unit-test");
  CHECK(reader.root_attribute_string("defisim_version") == "0.1.0");
  CHECK(reader.root_attribute_string("source_revision") == "abc123");
  CHECK(reader.root_attribute_string("config") == test_metadata(paths).config_yaml);
  CHECK(reader.root_attribute_string("seed") == "42");
  CHECK(reader.root_attribute_string("paths") == "1000");
  CHECK(reader.root_attribute_string("blocks") == "600");
  CHECK(reader.root_attribute_string("block_time_seconds") == "12");
  CHECK_THROWS_AS(reader.root_attribute_string("no_such_attribute"), InputError);
  REQUIRE(reader.scenario_count() == 2);

  for (std::size_t k = 0; k < 2; ++k) {
    INFO("scenario " << k);
    const ScenarioLayout layout = test_layout(paths, samples, fees[k]);
    const ScenarioSummary summary = reader.summary(k);
    CHECK(summary.name == std::to_string(k));
    CHECK(summary.parameters == layout.parameters);
    REQUIRE(summary.metrics.size() == layout.outcomes.size());
    REQUIRE(summary.columns.size() == summary_column_names().size());
    for (std::size_t m = 0; m < layout.outcomes.size(); ++m) {
      const MetricInfo& metric = layout.outcomes[m];
      CHECK(summary.metrics[m] == metric.name);
      CHECK(summary.units[m] == metric.unit);
      std::vector<double> expected;
      for (std::uint64_t p = 0; p < paths; ++p) expected.push_back(outcome_value(k, m, p));
      const std::vector<double> got = reader.outcomes(k, metric.name);
      CHECK(same_bits(got, expected));
      // The stored summary is summarize() of the stored column, bit for bit.
      const SummaryStatistics statistics = summarize(expected, metric.risk_tail);
      for (std::size_t c = 0; c < summary_column_names().size(); ++c) {
        INFO(metric.name << " " << summary_column_names()[c]);
        CHECK(std::bit_cast<std::uint64_t>(summary.columns[c][m]) ==
              std::bit_cast<std::uint64_t>(summary_column(statistics, c)));
      }
    }
    for (std::size_t m = 0; m < layout.series.size(); ++m) {
      std::uint64_t got_paths = 0;
      std::uint64_t got_samples = 0;
      const std::vector<double> got =
          reader.series(k, layout.series[m].name, &got_paths, &got_samples);
      CHECK(got_paths == paths);
      CHECK(got_samples == samples);
      std::vector<double> expected;
      for (std::uint64_t p = 0; p < paths; ++p) {
        for (std::size_t s = 0; s < samples; ++s) expected.push_back(series_value(k, m, p, s));
      }
      CHECK(same_bits(got, expected));
    }
    CHECK_THROWS_AS(reader.outcomes(k, "no.such_metric"), InputError);
    CHECK_THROWS_AS(reader.series(k, "blocks", nullptr, nullptr), InputError);
  }
  CHECK_THROWS_AS(reader.summary(2), InputError);
}

TEST_CASE("the file layout matches the documented format", "[output][results]") {
  TempDir dir;
  const fs::path path = dir.path / "layout.h5";
  {
    ResultsWriter writer(path, false, test_metadata(10));
    write_scenario(writer, 0, test_layout(10, 4, "0.003"), 3);
    writer.commit(test_run_info());
  }
  hdf5::File file = hdf5::File::open_read_only(path);
  const hdf5::Group root = file.root();
  CHECK(root.read_ints_attribute("format_version") == std::vector<std::int64_t>{1, 2});
  CHECK(root.read_uint64_attribute("seed") == 42);
  CHECK(root.read_double_attribute("block_time_seconds") == 12.0);
  const hdf5::Group run_info = root.open_group("run_info");
  CHECK(run_info.read_string_attribute("created_utc") == "2024-01-01T00:00:00Z");
  CHECK(run_info.read_attribute_as_text("threads") == "2");
  CHECK(run_info.read_attribute_as_text("ranks") == "1");
  CHECK(run_info.read_double_attribute("wall_seconds") == 1.5);
  CHECK(run_info.read_string_attribute("command_line") == "defisim run test.yaml");

  const hdf5::Group scenario = root.open_group("scenarios").open_group("0");
  CHECK(scenario.read_strings_attribute("parameters") ==
        std::vector<std::string>{"markets.pool.fee", "lp.range"});
  CHECK(scenario.read_string_attribute("markets.pool.fee") == "0.003");
  CHECK(scenario.read_string_attribute("lp.range") == "[0.9, 1.1]");

  const hdf5::Dataset pnl = scenario.open_group("outcomes").open_dataset("lp.pnl_vs_hodl");
  CHECK(pnl.dims() == std::vector<hsize_t>{10});
  CHECK(pnl.read_string_attribute("unit") == "USDC");
  CHECK(pnl.read_string_attribute("risk_tail") == "lower_is_worse");
  CHECK_FALSE(pnl.read_string_attribute("description").empty());
  const hdf5::Dataset debt = scenario.open_group("outcomes").open_dataset("lender.bad_debt");
  CHECK(debt.read_string_attribute("risk_tail") == "higher_is_worse");

  const hdf5::Group series = scenario.open_group("series");
  CHECK(series.open_dataset("blocks").read_uint64s() == std::vector<std::uint64_t>{0, 10, 20, 30});
  const hdf5::Dataset value = series.open_dataset("lp.value");
  CHECK(value.dims() == std::vector<hsize_t>{10, 4});
  CHECK(value.read_string_attribute("unit") == "USDC");
  // A hyperslab read of rows 2..4 equals the matching part of the full read.
  const std::vector<double> all = value.read_doubles();
  const std::vector<double> rows = value.read_double_rows(2, 3);
  CHECK(same_bits(rows, std::vector<double>(all.begin() + 8, all.begin() + 20)));

  const hdf5::Group summary = scenario.open_group("summary");
  CHECK(summary.open_dataset("metric").read_strings() ==
        std::vector<std::string>{"lp.pnl_vs_hodl", "lp.fees", "lender.bad_debt"});
  for (const std::string& column : summary_column_names()) {
    CHECK(summary.open_dataset(column).dims() == std::vector<hsize_t>{3});
  }
  CHECK(summary.open_dataset("count").read_doubles() == std::vector<double>{10, 10, 10});
}

TEST_CASE("a writer destroyed without commit leaves nothing behind", "[output][results]") {
  TempDir dir;
  const fs::path path = dir.path / "abandoned.h5";
  fs::path partial;
  {
    ResultsWriter writer(path, false, test_metadata(5));
    partial = writer.partial_path();
    writer.begin_scenario(0, test_layout(5, 2, "0.003"));
    const std::vector<double> values = {1, 2, 3, 4, 5};
    writer.write_outcomes(0, 0, 0, values);
    CHECK(fs::exists(partial));
  }
  CHECK_FALSE(fs::exists(path));
  CHECK_FALSE(fs::exists(partial));
}

TEST_CASE("an existing results file is not overwritten without overwrite=true",
          "[output][results]") {
  TempDir dir;
  const fs::path path = dir.path / "existing.h5";
  {
    std::ofstream(path) << "precious";
  }
  try {
    ResultsWriter writer(path, false, test_metadata(1));
    FAIL("expected IoError");
  } catch (const IoError& error) {
    CHECK_THAT(error.what(), Catch::Contains("refusing to overwrite") &&
                                 Catch::Contains("use --force") &&
                                 Catch::Contains(path.string()));
  }
  CHECK(read_file(path) == "precious");
  CHECK_FALSE(fs::exists(path.string() + ".partial"));

  // With overwrite the old file survives until commit() replaces it.
  {
    ResultsWriter writer(path, true, test_metadata(3));
    write_scenario(writer, 0, test_layout(3, 1, "0.003"), 3);
    CHECK(read_file(path) == "precious");
    writer.commit(test_run_info());
  }
  const ResultsReader reader(path);
  CHECK(reader.scenario_count() == 1);
}

TEST_CASE("a stale partial file is replaced", "[output][results]") {
  TempDir dir;
  const fs::path path = dir.path / "stale.h5";
  {
    std::ofstream(path.string() + ".partial") << "left over from a crash";
  }
  {
    ResultsWriter writer(path, false, test_metadata(2));
    write_scenario(writer, 0, test_layout(2, 3, "0.003"), 1);
    writer.commit(test_run_info());
  }
  CHECK_FALSE(fs::exists(path.string() + ".partial"));
  CHECK(ResultsReader(path).scenario_count() == 1);
}

TEST_CASE("writer misuse is an invariant violation", "[output][results]") {
  TempDir dir;
  const fs::path path = dir.path / "misuse.h5";
  ResultsWriter writer(path, false, test_metadata(4));
  const std::vector<double> four = {1, 2, 3, 4};
  CHECK_THROWS_AS(writer.write_outcomes(0, 0, 0, four), InvariantViolation);  // not begun
  writer.begin_scenario(0, test_layout(4, 2, "0.003"));
  CHECK_THROWS_AS(writer.begin_scenario(0, test_layout(4, 2, "0.003")), InvariantViolation);
  CHECK_THROWS_AS(writer.write_outcomes(0, 9, 0, four), InvariantViolation);  // no such metric
  CHECK_THROWS_AS(writer.write_outcomes(0, 0, 2, four), InvariantViolation);  // past the end
  CHECK_THROWS_AS(writer.write_series(0, 0, 0, 1, four), InvariantViolation);  // 4 != 1 x 2
  CHECK_THROWS_AS(writer.commit(test_run_info()), InvariantViolation);        // not finished
  // Paths never written read as NaN and are reported by finish_scenario.
  writer.write_outcomes(0, 0, 0, four);
  CHECK_THROWS_AS(writer.finish_scenario(0), InvariantViolation);
}

TEST_CASE("metric names that cannot be HDF5 names are input errors", "[output][results]") {
  TempDir dir;
  ResultsWriter writer(dir.path / "names.h5", false, test_metadata(1));
  ScenarioLayout layout = test_layout(1, 1, "0.003");
  layout.outcomes[0].name = "lp/pnl";
  CHECK_THROWS_AS(writer.begin_scenario(0, layout), InputError);
  layout = test_layout(1, 1, "0.003");
  layout.series[0].name = "blocks";
  CHECK_THROWS_AS(writer.begin_scenario(0, layout), InputError);
  layout = test_layout(1, 1, "0.003");
  layout.outcomes[1].name = layout.outcomes[0].name;
  CHECK_THROWS_AS(writer.begin_scenario(0, layout), InputError);
}

TEST_CASE("a scenario with no paths gets NaN statistics", "[output][results]") {
  TempDir dir;
  const fs::path path = dir.path / "empty.h5";
  {
    ResultsWriter writer(path, false, test_metadata(0));
    ScenarioLayout layout = test_layout(0, 0, "0.003");
    layout.parameters.clear();
    writer.begin_scenario(0, layout);
    writer.finish_scenario(0);
    writer.commit(test_run_info());
  }
  const ResultsReader reader(path);
  const ScenarioSummary summary = reader.summary(0);
  CHECK(summary.parameters.empty());
  REQUIRE(summary.metrics.size() == 3);
  CHECK(summary.columns[0][0] == 0);
  CHECK(std::isnan(summary.columns[1][0]));
  CHECK(reader.outcomes(0, "lp.fees").empty());
}

TEST_CASE("the reader rejects files that are not defisim results", "[output][results]") {
  TempDir dir;

  CHECK_THROWS_AS(ResultsReader(dir.path / "missing.h5"), IoError);

  const fs::path text = dir.path / "text.h5";
  std::ofstream(text) << "not hdf5 at all\n";
  CHECK_THROWS_AS(ResultsReader(text), InputError);

  const fs::path other = dir.path / "other.h5";
  {
    hdf5::File file = hdf5::File::create(other);
    file.root().write_string_attribute("filetype", "something-else");
  }
  try {
    ResultsReader reader(other);
    FAIL("expected InputError");
  } catch (const InputError& error) {
    CHECK_THAT(error.what(), Catch::Contains("not a defisim results file"));
  }

  const fs::path bare = dir.path / "bare.h5";
  { hdf5::File file = hdf5::File::create(bare); }
  CHECK_THROWS_AS(ResultsReader(bare), InputError);

  const fs::path future = dir.path / "future.h5";
  {
    hdf5::File file = hdf5::File::create(future);
    const hdf5::Group root = file.root();
    root.write_string_attribute("filetype", "defisim-results");
    const std::array<int, 2> version = {2, 0};
    root.write_ints_attribute("format_version", version);
    root.create_group("scenarios");
  }
  try {
    ResultsReader reader(future);
    FAIL("expected InputError");
  } catch (const InputError& error) {
    CHECK_THAT(error.what(), Catch::Contains("2.0") && Catch::Contains("1.x"));
  }
}

TEST_CASE("the summary table is readable and can be filtered", "[output][results]") {
  ScenarioSummary summary;
  summary.name = "3";
  summary.parameters = {{"markets.pool.fee", "0.003"}};
  summary.metrics = {"lp.pnl_vs_hodl", "lender.bad_debt"};
  summary.units = {"USDC", "USDC"};
  const std::vector<double> pnl = {-1234567.891, -2, 0.5, 3, 12.25, 99};
  const std::vector<double> debt = {0, 0, 0, 0, 1e-7, 250000};
  const SummaryStatistics a = summarize(pnl, RiskTail::lower_is_worse);
  const SummaryStatistics b = summarize(debt, RiskTail::higher_is_worse);
  for (std::size_t c = 0; c < summary_column_names().size(); ++c) {
    summary.columns.push_back({summary_column(a, c), summary_column(b, c)});
  }

  auto render = [&](const std::string& filter) {
    std::FILE* out = std::tmpfile();
    REQUIRE(out != nullptr);
    print_summary_table(summary, filter, out);
    std::rewind(out);
    std::string text;
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, out)) > 0) text.append(buffer, n);
    std::fclose(out);
    return text;
  };

  const std::string all = render("");
  INFO(all);
  CHECK_THAT(all, Catch::Contains("scenario 3") && Catch::Contains("markets.pool.fee=0.003") &&
                      Catch::Contains("6 paths"));
  CHECK_THAT(all, Catch::Contains("metric") && Catch::Contains("mean ± stderr") &&
                      Catch::Contains("VaR95") && Catch::Contains("ES95"));
  CHECK_THAT(all, Catch::Contains("lp.pnl_vs_hodl") && Catch::Contains("lender.bad_debt"));
  CHECK_THAT(all, Catch::Contains("-1,234,568"));  // min of pnl = ES95, thousands grouped
  CHECK_THAT(all, Catch::Contains("250,000"));

  const std::string one = render("lender.bad_debt");
  CHECK_THAT(one, Catch::Contains("lender.bad_debt"));
  CHECK_THAT(one, !Catch::Contains("lp.pnl_vs_hodl"));

  try {
    render("lp.nope");
    FAIL("expected InputError");
  } catch (const InputError& error) {
    CHECK_THAT(error.what(),
               Catch::Contains("lp.nope") && Catch::Contains("lp.pnl_vs_hodl, lender.bad_debt"));
  }
}

TEST_CASE("hdf5 layer: extendible chunked datasets and errors", "[output][hdf5]") {
  TempDir dir;
  const fs::path path = dir.path / "layer.h5";
  {
    hdf5::File file = hdf5::File::create(path);
    const hdf5::Group root = file.root();
    hdf5::DatasetOptions options;
    options.chunk = {2, 3};
    options.extendible = true;
    options.fill_nan = true;
    const hdf5::Dataset grow =
        root.create_dataset("grow", hdf5::ElementType::float64, {2, 3}, options);
    const std::vector<double> first = {1, 2, 3, 4, 5, 6};
    grow.write_rows(0, 2, first);
    grow.extend({5, 3});
    const std::vector<double> later = {7, 8, 9};
    grow.write_rows(3, 1, later);  // row 2 and row 4 stay unwritten
    CHECK(grow.dims() == std::vector<hsize_t>{5, 3});
    const std::vector<double> all = grow.read_doubles();
    REQUIRE(all.size() == 15);
    CHECK(all[0] == 1);
    CHECK(all[5] == 6);
    CHECK(std::isnan(all[6]));
    CHECK(all[9] == 7);
    CHECK(all[11] == 9);
    CHECK(std::isnan(all[14]));

    const std::vector<std::uint64_t> counts = {3, 1, 4, 1, 5};
    const hdf5::Dataset fixed = root.write_dataset("counts", std::span<const std::uint64_t>(counts));
    CHECK(fixed.read_uint64s() == counts);
    CHECK_THROWS_AS(fixed.write_rows(4, 2, std::span<const std::uint64_t>(counts.data(), 2)),
                    InvariantViolation);
    // HDF5 failures become IoError naming the file and the object.
    try {
      root.create_dataset("counts", hdf5::ElementType::uint64, {1}, {});
      FAIL("expected IoError");
    } catch (const IoError& error) {
      CHECK_THAT(error.what(), Catch::Contains("/counts") && Catch::Contains(path.string()));
    }
    CHECK_THROWS_AS(root.open_dataset("missing"), IoError);
    CHECK_THROWS_AS(root.read_string_attribute("missing"), IoError);
  }
  CHECK(hdf5::File::is_hdf5(path) > 0);
}

TEST_CASE("a file from before format 1.2 reads with NaN intervals, and the intervals table shows them",
          "[output][results][intervals]") {
  TempDir dir;
  const fs::path path = dir.path / "old.h5";
  {
    ResultsWriter writer(path, false, test_metadata(40));
    write_scenario(writer, 0, test_layout(40, 3, "0.003"), 16);
    writer.commit(test_run_info());
  }
  {
    const ResultsReader reader(path);
    const ScenarioSummary summary = reader.summary(0);
    const auto& names = summary_column_names();
    const auto column = [&](const std::string& name) {
      return summary.columns[static_cast<std::size_t>(std::find(names.begin(), names.end(), name) - names.begin())];
    };
    // The stored intervals of lp.pnl_vs_hodl (40 values): mean -/+ z SE.
    CHECK(column("mean_ci95_low")[0] == column("mean")[0] - z95 * column("standard_error")[0]);
    CHECK(column("var95_ci95_low")[0] <= column("var95")[0]);
    CHECK(column("var95")[0] <= column("var95_ci95_high")[0]);
  }
  // What a format 1.1 file holds: no interval columns.
  {
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(file >= 0);
    for (const char* name : {"mean_ci95_low", "mean_ci95_high", "var95_ci95_low", "var95_ci95_high",
                             "var99_ci95_low", "var99_ci95_high"}) {
      REQUIRE(H5Ldelete(file, (std::string("/scenarios/0/summary/") + name).c_str(), H5P_DEFAULT) >= 0);
    }
    const std::array<int, 2> version = {1, 1};
    const hid_t root = H5Gopen2(file, "/", H5P_DEFAULT);
    const hid_t attribute = H5Aopen(root, "format_version", H5P_DEFAULT);
    REQUIRE(H5Awrite(attribute, H5T_NATIVE_INT, version.data()) >= 0);
    H5Aclose(attribute);
    H5Gclose(root);
    H5Fclose(file);
  }
  const ResultsReader reader(path);
  const ScenarioSummary summary = reader.summary(0);
  const auto& names = summary_column_names();
  for (std::size_t c = 12; c < names.size(); ++c) {
    INFO(names[c]);
    CHECK(std::isnan(summary.columns[c][0]));
  }
  CHECK(summary.columns[1][0] == summary.columns[1][0]);  // the mean is still there
  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  print_summary_table(summary, "lp.pnl_vs_hodl", out, SummaryTable::intervals);
  std::rewind(out);
  std::string text(4096, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), out));
  std::fclose(out);
  INFO(text);
  CHECK_THAT(text, Catch::Contains("95% CI") && Catch::Contains("VaR99") && Catch::Contains("n/a"));
}
