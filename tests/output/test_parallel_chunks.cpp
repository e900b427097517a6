// Chunks filtered by the writer itself (hdf5::RowWriter, in parallel with
// oneTBB, stored with H5Dwrite_chunk) must be exactly the chunks HDF5's own
// shuffle + deflate pipeline stores through H5Dwrite: the same values read
// back, and the same raw (filtered) bytes in every chunk, including edge
// chunks, chunks of rows written in several calls, rows never written (the
// fill value) and rows rewritten after their chunk was stored.
#include <catch2/catch.hpp>
#include <tbb/global_control.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "framework/core/errors.hpp"
#include "framework/output/hdf5.hpp"
#include "framework/output/results_file.hpp"
#include "tests/support/bits.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace defisim::output;

namespace {

using defisim::test_support::same_bits;
using defisim::test_support::TempDir;

// Irregular values with some structure (so deflate has work to do), and a
// different value for each rewrite `pass`.
double value_at(std::uint64_t row, std::uint64_t column, int pass) {
  return 100.0 + std::sin(static_cast<double>(row) * 0.37 + static_cast<double>(column) * 0.011 +
                          pass) *
                     static_cast<double>(column + 1) / 3.0;
}

struct Write {
  hsize_t first;
  hsize_t rows;
  int pass;
};

struct Case {
  std::string name;
  std::vector<hsize_t> dims;
  hdf5::DatasetOptions options;
};

// Every chunk of a dataset: allocated or not, filter mask and raw bytes.
struct RawChunk {
  bool allocated = false;
  unsigned filter_mask = 0;
  std::vector<unsigned char> bytes;
  bool operator==(const RawChunk&) const = default;
};

std::vector<RawChunk> raw_chunks(const hdf5::Dataset& dataset, const std::vector<hsize_t>& chunk) {
  const std::vector<hsize_t> dims = dataset.dims();
  REQUIRE(dims.size() == chunk.size());
  const hsize_t rows = (dims[0] + chunk[0] - 1) / chunk[0];
  const hsize_t columns = dims.size() == 2 ? (dims[1] + chunk[1] - 1) / chunk[1] : 1;
  std::vector<RawChunk> result;
  for (hsize_t r = 0; r < rows; ++r) {
    for (hsize_t c = 0; c < columns; ++c) {
      const hsize_t offset[2] = {r * chunk[0], dims.size() == 2 ? c * chunk[1] : 0};
      RawChunk raw;
      haddr_t address = HADDR_UNDEF;
      hsize_t size = 0;
      REQUIRE(H5Dget_chunk_info_by_coord(dataset.id(), offset, &raw.filter_mask, &address,
                                         &size) >= 0);
      raw.allocated = address != HADDR_UNDEF;
      if (raw.allocated) {
        raw.bytes.resize(static_cast<std::size_t>(size));
        std::uint32_t mask = 0;
        REQUIRE(H5Dread_chunk(dataset.id(), H5P_DEFAULT, offset, &mask, raw.bytes.data()) >= 0);
        CHECK(mask == raw.filter_mask);
      }
      result.push_back(std::move(raw));
    }
  }
  return result;
}

std::vector<Write> blocks(hsize_t rows, hsize_t block, bool reverse = false) {
  std::vector<Write> writes;
  for (hsize_t first = 0; first < rows; first += block) {
    writes.push_back({first, std::min(block, rows - first), 0});
  }
  if (reverse) std::reverse(writes.begin(), writes.end());
  return writes;
}

// What the dataset must hold after `writes`, unwritten elements = fill.
std::vector<double> expected_values(const std::vector<hsize_t>& dims, const std::vector<Write>& writes,
                                    double fill) {
  const hsize_t columns = dims.size() == 2 ? dims[1] : 1;
  std::vector<double> values(static_cast<std::size_t>(dims[0] * columns), fill);
  for (const Write& w : writes) {
    for (hsize_t r = w.first; r < w.first + w.rows; ++r) {
      for (hsize_t c = 0; c < columns; ++c) values[r * columns + c] = value_at(r, c, w.pass);
    }
  }
  return values;
}

void apply(hdf5::RowWriter& writer, const std::vector<hsize_t>& dims,
           const std::vector<Write>& writes) {
  const hsize_t columns = dims.size() == 2 ? dims[1] : 1;
  for (const Write& w : writes) {
    std::vector<double> values;
    for (hsize_t r = w.first; r < w.first + w.rows; ++r) {
      for (hsize_t c = 0; c < columns; ++c) values.push_back(value_at(r, c, w.pass));
    }
    writer.write_rows(w.first, w.rows, values);
  }
}

}  // namespace

TEST_CASE("hdf5 layer: chunks filtered by RowWriter are the chunks HDF5 stores", "[output][hdf5][chunks]") {
  std::vector<Case> cases;
  {
    Case c{"2-D edge rows and columns, NaN fill", {37, 11}, {}};
    c.options.chunk = {8, 4};
    c.options.fill_nan = true;
    cases.push_back(c);
  }
  {
    Case c{"2-D whole-row chunks of 121 samples", {300, 121}, {}};
    c.options.chunk = hdf5::make_chunk_rows(300, 121, 16 * 1024);  // 16 rows
    c.options.fill_nan = true;
    cases.push_back(c);
  }
  {
    Case c{"2-D default fill (0), level 6", {50, 7}, {}};
    c.options.chunk = {6, 7};
    c.options.deflate_level = 6;
    cases.push_back(c);
  }
  {
    Case c{"2-D odd chunk (shuffle tail), level 9", {23, 5}, {}};
    c.options.chunk = {3, 5};
    c.options.fill_nan = true;
    c.options.deflate_level = 9;
    cases.push_back(c);
  }
  {
    Case c{"1-D outcomes-like, NaN fill", {1000}, {}};
    c.options.chunk = {256};
    c.options.fill_nan = true;
    cases.push_back(c);
  }
  {
    Case c{"1-D one-element chunks, level 0", {9}, {}};
    c.options.chunk = {1};
    c.options.fill_nan = true;
    c.options.deflate_level = 0;
    cases.push_back(c);
  }
  {
    Case c{"1-D chunked without filters", {50}, {}};
    c.options.chunk = {16};
    c.options.compress = false;
    c.options.fill_nan = true;
    cases.push_back(c);
  }

  for (const Case& test : cases) {
    const hsize_t rows = test.dims[0];
    const hsize_t chunk_rows = test.options.chunk[0];
    std::vector<std::pair<std::string, std::vector<Write>>> patterns;
    patterns.emplace_back("whole chunks in order", blocks(rows, chunk_rows));
    patterns.emplace_back("two chunks per write", blocks(rows, 2 * chunk_rows));
    patterns.emplace_back("misaligned blocks of 5", blocks(rows, 5));
    patterns.emplace_back("misaligned blocks of 7, reversed", blocks(rows, 7, true));
    patterns.emplace_back("one write of everything", blocks(rows, rows));
    {
      // Gaps (some rows and whole chunk rows never written), then rewrites
      // of rows in chunks already stored and in chunks still staged.
      std::vector<Write> w = blocks(rows, 3);
      std::vector<Write> gappy;
      for (std::size_t i = 0; i < w.size(); ++i) {
        if (i % 4 != 1 && !(w[i].first >= chunk_rows && w[i].first < 2 * chunk_rows)) {
          gappy.push_back(w[i]);
        }
      }
      gappy.push_back({0, std::min<hsize_t>(2, rows), 1});
      gappy.push_back({rows / 2, std::min<hsize_t>(rows - rows / 2, chunk_rows + 1), 2});
      patterns.emplace_back("gaps and rewrites", gappy);
    }

    for (const auto& [pattern, writes] : patterns) {
      INFO(test.name << ": " << pattern);
      TempDir dir;
      const fs::path direct_path = dir.path / "direct.h5";
      const fs::path plain_path = dir.path / "plain.h5";
      for (const bool direct : {true, false}) {
        hdf5::File file = hdf5::File::create(direct ? direct_path : plain_path);
        hdf5::RowWriter writer(file.root().create_dataset("d", hdf5::ElementType::float64,
                                                          test.dims, test.options),
                               direct);
        CHECK(writer.direct() == direct);
        apply(writer, test.dims, writes);
        writer.close();
        file.close();
      }
      const double fill = test.options.fill_nan ? std::numeric_limits<double>::quiet_NaN() : 0.0;
      const std::vector<double> expected = expected_values(test.dims, writes, fill);
      const hdf5::File direct_file = hdf5::File::open_read_only(direct_path);
      const hdf5::File plain_file = hdf5::File::open_read_only(plain_path);
      const hdf5::Dataset direct_set = direct_file.root().open_dataset("d");
      const hdf5::Dataset plain_set = plain_file.root().open_dataset("d");
      CHECK(same_bits(direct_set.read_doubles(), expected));
      CHECK(same_bits(plain_set.read_doubles(), expected));
      const std::vector<RawChunk> direct_chunks = raw_chunks(direct_set, test.options.chunk);
      const std::vector<RawChunk> plain_chunks = raw_chunks(plain_set, test.options.chunk);
      REQUIRE(direct_chunks.size() == plain_chunks.size());
      for (std::size_t i = 0; i < direct_chunks.size(); ++i) {
        INFO("chunk " << i);
        CHECK(direct_chunks[i].allocated == plain_chunks[i].allocated);
        CHECK(direct_chunks[i].filter_mask == 0);
        CHECK(direct_chunks[i] == plain_chunks[i]);
      }
    }
  }
}

TEST_CASE("hdf5 layer: RowWriter falls back to H5Dwrite where it cannot filter chunks", "[output][hdf5][chunks]") {
  TempDir dir;
  hdf5::File file = hdf5::File::create(dir.path / "fallback.h5");
  const hdf5::Group root = file.root();
  // Contiguous: no chunks to write.
  hdf5::RowWriter contiguous(root.create_dataset("contiguous", hdf5::ElementType::float64, {4, 2}, {}));
  CHECK_FALSE(contiguous.direct());
  const std::vector<double> values = {1, 2, 3, 4};
  contiguous.write_rows(1, 2, values);
  CHECK_THROWS_AS(contiguous.write_rows(3, 2, values), defisim::core::InvariantViolation);
  // A dataset already holding data is merged into, never overwritten with fill.
  hdf5::DatasetOptions options;
  options.chunk = {4};
  options.fill_nan = true;
  {
    const hdf5::Dataset early = root.create_dataset("early", hdf5::ElementType::float64, {8}, options);
    early.write_rows(0, 1, std::span<const double>(values.data(), 1));
  }
  hdf5::RowWriter later(root.open_dataset("early"));
  CHECK(later.direct());
  later.write_rows(1, 2, std::span<const double>(values.data() + 1, 2));
  later.write_rows(4, 4, values);  // a whole chunk: stored directly
  later.flush();
  const std::vector<double> all = later.dataset().read_doubles();
  CHECK(all[0] == 1);
  CHECK(all[1] == 2);
  CHECK(all[2] == 3);
  CHECK(std::isnan(all[3]));
  CHECK(all[4] == 1);
  CHECK(all[7] == 4);
  // Size checks, as Dataset::write_rows makes them.
  CHECK_THROWS_AS(later.write_rows(6, 3, std::vector<double>{1, 2, 3}),
                  defisim::core::InvariantViolation);
  CHECK_THROWS_AS(later.write_rows(0, 2, std::vector<double>{1}), defisim::core::InvariantViolation);
}

namespace {

RunMetadata chunk_metadata(std::uint64_t paths) {
  RunMetadata m;
  m.experiment_name = "chunks";
  m.defisim_version = "0.1.0";
  m.source_revision = "test";
  m.config_yaml = "experiment: chunks\n";
  m.seed = 1;
  m.paths = paths;
  m.blocks = 1210;
  m.block_time_seconds = 12.0;
  return m;
}

ScenarioLayout chunk_layout(std::uint64_t paths, std::size_t samples) {
  ScenarioLayout layout;
  layout.outcomes = {{"a", "USDC", "first", RiskTail::lower_is_worse},
                     {"b", "ETH", "second", RiskTail::higher_is_worse}};
  layout.series = {{"x", "USDC", "first series", RiskTail::lower_is_worse},
                   {"y", "USDC", "second series", RiskTail::lower_is_worse}};
  for (std::size_t s = 0; s < samples; ++s) layout.sample_blocks.push_back(s * 10);
  layout.paths = paths;
  return layout;
}

// Writes all outcomes, and the series of every path not in [skip_first, skip_end).
void write_run(const fs::path& path, const ResultsWriterOptions& options, std::uint64_t paths,
               std::size_t samples, const std::vector<Write>& writes, std::uint64_t skip_first,
               std::uint64_t skip_end) {
  ResultsWriter writer(path, false, chunk_metadata(paths), options);
  const ScenarioLayout layout = chunk_layout(paths, samples);
  writer.begin_scenario(0, layout);
  for (const Write& w : writes) {
    for (std::size_t m = 0; m < layout.outcomes.size(); ++m) {
      std::vector<double> values;
      for (std::uint64_t p = w.first; p < w.first + w.rows; ++p) values.push_back(value_at(p, m, 7));
      writer.write_outcomes(0, m, w.first, values);
    }
    for (std::size_t m = 0; m < layout.series.size(); ++m) {
      std::vector<double> values;
      std::uint64_t first = w.first;
      std::uint64_t end = w.first + w.rows;
      if (first >= skip_first && first < skip_end) first = std::min(end, skip_end);
      if (end > skip_first && end <= skip_end) end = std::max(first, skip_first);
      if (first >= end) continue;
      for (std::uint64_t p = first; p < end; ++p) {
        for (std::size_t s = 0; s < samples; ++s) values.push_back(value_at(p, s, static_cast<int>(m)));
      }
      writer.write_series(0, m, first, end - first, values);
    }
  }
  writer.finish_scenario(0);
  RunInfo info;
  info.created_utc = "2024-01-01T00:00:00Z";
  writer.commit(info);
}

}  // namespace

TEST_CASE("results file: parallel chunk compression stores what HDF5 stores", "[output][results][chunks]") {
  const std::uint64_t paths = 1000;
  const std::size_t samples = 121;  // W1's sample count: 128-row chunks of 968-byte rows
  struct Pattern {
    std::string name;
    std::vector<Write> writes;
    std::uint64_t skip_first;
    std::uint64_t skip_end;
  };
  const std::vector<Pattern> patterns = {
      {"the engine's batches of 512 (a partial last batch)", blocks(paths, 512), 0, 0},
      {"misaligned batches of 333", blocks(paths, 333), 0, 0},
      {"batches of 100 in reverse order", blocks(paths, 100, true), 0, 0},
      {"series of paths 200-449 never written", blocks(paths, 64), 200, 450},
  };
  for (const Pattern& pattern : patterns) {
    INFO(pattern.name);
    TempDir dir;
    const fs::path parallel_path = dir.path / "parallel.h5";
    const fs::path plain_path = dir.path / "plain.h5";
    ResultsWriterOptions options;
    {
      // Several TBB threads even on a one-core machine.
      tbb::global_control threads(tbb::global_control::max_allowed_parallelism, 4);
      write_run(parallel_path, options, paths, samples, pattern.writes, pattern.skip_first,
                pattern.skip_end);
    }
    options.parallel_compression = false;
    write_run(plain_path, options, paths, samples, pattern.writes, pattern.skip_first,
              pattern.skip_end);

    const ResultsReader parallel(parallel_path);
    const ResultsReader plain(plain_path);
    for (std::size_t m = 0; m < 2; ++m) {
      const std::string name = m == 0 ? "a" : "b";
      std::vector<double> expected;
      for (std::uint64_t p = 0; p < paths; ++p) expected.push_back(value_at(p, m, 7));
      CHECK(same_bits(parallel.outcomes(0, name), expected));
      CHECK(same_bits(plain.outcomes(0, name), expected));
    }
    for (std::size_t m = 0; m < 2; ++m) {
      const std::string name = m == 0 ? "x" : "y";
      std::vector<double> expected;
      for (std::uint64_t p = 0; p < paths; ++p) {
        const bool skipped = p >= pattern.skip_first && p < pattern.skip_end;
        for (std::size_t s = 0; s < samples; ++s) {
          expected.push_back(skipped ? std::numeric_limits<double>::quiet_NaN()
                                     : value_at(p, s, static_cast<int>(m)));
        }
      }
      std::uint64_t got_paths = 0;
      std::uint64_t got_samples = 0;
      CHECK(same_bits(parallel.series(0, name, &got_paths, &got_samples), expected));
      CHECK(got_paths == paths);
      CHECK(got_samples == samples);
      CHECK(same_bits(plain.series(0, name, &got_paths, &got_samples), expected));
    }

    // The same chunks, byte for byte, dataset by dataset.
    const hdf5::File parallel_file = hdf5::File::open_read_only(parallel_path);
    const hdf5::File plain_file = hdf5::File::open_read_only(plain_path);
    const hdf5::Group a = parallel_file.root().open_group("scenarios").open_group("0");
    const hdf5::Group b = plain_file.root().open_group("scenarios").open_group("0");
    for (const std::string group : {"outcomes", "series"}) {
      for (const std::string& name : a.open_group(group).child_names()) {
        if (name == "blocks") continue;
        INFO(group << "/" << name);
        const hdf5::Dataset da = a.open_group(group).open_dataset(name);
        const hdf5::Dataset db = b.open_group(group).open_dataset(name);
        const std::vector<hsize_t> chunk =
            group == "series" ? std::vector<hsize_t>{128, samples} : std::vector<hsize_t>{paths};
        // The chunk shape the writer chose.
        const hdf5::PropertyList create(H5Dget_create_plist(da.id()));
        std::vector<hsize_t> stored(chunk.size());
        REQUIRE(H5Pget_chunk(create.id(), static_cast<int>(stored.size()), stored.data()) ==
                static_cast<int>(chunk.size()));
        CHECK(stored == chunk);
        const std::vector<RawChunk> ca = raw_chunks(da, chunk);
        const std::vector<RawChunk> cb = raw_chunks(db, chunk);
        REQUIRE(ca.size() == cb.size());
        for (std::size_t i = 0; i < ca.size(); ++i) {
          INFO("chunk " << i);
          // Only a series chunk all of whose paths were never written is not in the file.
          const std::uint64_t begin = i * chunk[0];
          const std::uint64_t end = std::min<std::uint64_t>(begin + chunk[0], paths);
          const bool never_written =
              group == "series" && begin >= pattern.skip_first && end <= pattern.skip_end;
          CHECK(ca[i].allocated == !never_written);
          CHECK(ca[i] == cb[i]);
        }
      }
    }
  }
}

TEST_CASE("results file: the deflate level is a writer option", "[output][results][chunks]") {
  TempDir dir;
  const fs::path path = dir.path / "level.h5";
  ResultsWriterOptions options;
  options.deflate_level = 6;
  write_run(path, options, 40, 3, blocks(40, 16), 0, 0);
  const hdf5::File file = hdf5::File::open_read_only(path);
  const hdf5::Group scenario = file.root().open_group("scenarios").open_group("0");
  for (const hdf5::Dataset& dataset :
       {scenario.open_group("outcomes").open_dataset("a"), scenario.open_group("series").open_dataset("x")}) {
    const hdf5::PropertyList create(H5Dget_create_plist(dataset.id()));
    REQUIRE(H5Pget_nfilters(create.id()) == 2);
    unsigned flags = 0;
    std::size_t count = 1;
    unsigned level = 0;
    CHECK(H5Pget_filter2(create.id(), 0, &flags, &count, &level, 0, nullptr, nullptr) ==
          H5Z_FILTER_SHUFFLE);
    count = 1;
    CHECK(H5Pget_filter2(create.id(), 1, &flags, &count, &level, 0, nullptr, nullptr) ==
          H5Z_FILTER_DEFLATE);
    CHECK(level == 6);
  }
  CHECK(ResultsReader(path).outcomes(0, "a").size() == 40);

  for (const int bad : {-1, 10}) {
    options.deflate_level = bad;
    CHECK_THROWS_AS(ResultsWriter(dir.path / "bad.h5", false, chunk_metadata(1), options),
                    defisim::core::InputError);
  }
  CHECK_FALSE(fs::exists(dir.path / "bad.h5.partial"));
}
