// The journal of a resumable run (framework/engine/checkpoint.hpp): batches
// read back bit for bit; a damaged or foreign batch is refused, a write cut
// short (a leftover temporary file) is ignored; a journal is never silently
// reused by another run or discarded by a fresh one.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <vector>

#include "framework/core/errors.hpp"
#include "framework/engine/checkpoint.hpp"
#include "tests/support/bits.hpp"

namespace {

namespace fs = std::filesystem;
using defisim::engine::Journal;

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("defisim_test_checkpoint_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

}  // namespace

TEST_CASE("checkpoint: saved batches read back bit for bit and damage is caught", "[engine][resume]") {
  const TempDir dir;
  const fs::path results = dir.path / "run.h5";
  // Values a text format would round: NaN, -0, denormals, infinities.
  const std::vector<double> outcomes = {1.0 / 3.0, -0.0, std::numeric_limits<double>::denorm_min(),
                                        std::numeric_limits<double>::quiet_NaN(), 1e308, -2.5};
  const std::vector<double> series = {std::numeric_limits<double>::infinity(), 0.1, 0.2, 0.30000000000000004};
  {
    Journal journal(results, "run A", false, false);
    journal.save(2, 64, 2, outcomes, series);
    journal.sync();
  }
  // A write cut short leaves only a temporary file: ignored.
  std::ofstream(Journal::directory_of(results) / "s2-96.batch.tmp") << "partial";
  Journal resumed(results, "run A", true, false);
  CHECK(resumed.saved_batches() == 1);
  std::vector<double> o(outcomes.size()), s(series.size());
  REQUIRE(resumed.load(2, 64, 2, o, s));
  CHECK(defisim::test_support::same_bits(o, outcomes));
  CHECK(defisim::test_support::same_bits(s, series));
  CHECK_FALSE(resumed.load(2, 96, 2, o, s));  // the cut-short batch is recomputed
  CHECK_FALSE(resumed.load(1, 64, 2, o, s));
  // The same batch with another layout (another metric count) is refused.
  std::vector<double> wider(outcomes.size() + 1);
  CHECK_THROWS_AS(resumed.load(2, 64, 2, wider, s), defisim::core::IoError);
  // One flipped bit fails the checksum.
  const fs::path batch = Journal::directory_of(results) / "s2-64.batch";
  {
    std::fstream file(batch, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(60);
    char byte = 0;
    file.read(&byte, 1);
    byte ^= 0x10;
    file.seekp(60);
    file.write(&byte, 1);
  }
  CHECK_THROWS_WITH(resumed.load(2, 64, 2, o, s), Catch::Contains("is damaged"));
}

TEST_CASE("checkpoint: a journal belongs to one run", "[engine][resume]") {
  const TempDir dir;
  const fs::path results = dir.path / "run.h5";
  using defisim::core::InputError;
  CHECK_THROWS_WITH(Journal(results, "run A", true, false), Catch::Contains("nothing to resume"));
  { Journal journal(results, "run A", false, false); }
  CHECK_THROWS_WITH(Journal(results, "run A", false, false), Catch::Contains("holds an interrupted run"));
  CHECK_THROWS_WITH(Journal(results, "run B", true, false), Catch::Contains("belongs to a different run"));
  { Journal resumed(results, "run A", true, false); }
  // --force starts over, emptying it.
  Journal fresh(results, "run B", false, true);
  CHECK(fresh.saved_batches() == 0);
  fresh.remove();
  CHECK_FALSE(fs::exists(Journal::directory_of(results)));
}
