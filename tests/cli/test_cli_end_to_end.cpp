// The real `defisim` binary, end to end: version, validate, run (and its
// refusal to overwrite), summarize, sweeps, interruption. Every run is small
// (tens of paths, hundreds of blocks) so the whole file takes a few seconds.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <hdf5.h>

#include "framework/core/build_info.hpp"
#include "framework/output/results_file.hpp"
#include "tests/support/bits.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

const std::string quickstart = std::string(DEFISIM_SOURCE_DIR) + "/configs/quickstart.yaml";

using defisim::test_support::finish_defisim;
using defisim::test_support::ProcessResult;
using defisim::test_support::read_file;
using defisim::test_support::run_defisim;
using defisim::test_support::start_defisim;
using defisim::test_support::TempDir;

// A small run of the quickstart into dir/name; checks it succeeded.
std::string small_run(const TempDir& dir, const std::string& name, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"run", quickstart, "--paths", "20", "--blocks", "300", "-o", dir.file(name)};
  args.insert(args.end(), extra.begin(), extra.end());
  const ProcessResult result = run_defisim(args, dir.path);
  INFO("stderr: " << result.err);
  REQUIRE(result.exited);
  REQUIRE(result.exit_code == 0);
  REQUIRE(fs::exists(dir.file(name)));
  REQUIRE_FALSE(fs::exists(dir.file(name) + ".partial"));
  return dir.file(name);
}

}  // namespace

TEST_CASE("cli: --version prints the version and the source revision", "[cli][e2e]") {
  const TempDir dir;
  const ProcessResult result = run_defisim({"--version"}, dir.path);
  CHECK(result.exit_code == 0);
  CHECK(result.out == std::string("defisim ") + defisim::core::defisim_version + " (source revision " +
                          defisim::core::source_revision + ")\n");
  CHECK(std::string(defisim::core::defisim_version).find('.') != std::string::npos);
  CHECK_FALSE(std::string(defisim::core::source_revision).empty());
}

TEST_CASE("cli: usage errors exit 2, no arguments prints help", "[cli][e2e]") {
  const TempDir dir;
  ProcessResult result = run_defisim({}, dir.path);
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Contains("Exit codes"));
  result = run_defisim({"frobnicate"}, dir.path);
  CHECK(result.exit_code == 2);
  result = run_defisim({"run"}, dir.path);  // the config is required
  CHECK(result.exit_code == 2);
  result = run_defisim({"validate", dir.file("missing.yaml")}, dir.path);
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.err, Contains("cannot open config file"));
}

TEST_CASE("cli: validate configs/quickstart.yaml", "[cli][e2e]") {
  const TempDir dir;
  const ProcessResult result = run_defisim({"validate", quickstart}, dir.path);
  INFO("stderr: " << result.err);
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Contains("valid") && Contains("'quickstart'") && Contains("3 agent(s)"));
  // Validation writes nothing.
  CHECK(fs::is_empty(dir.path));
}

TEST_CASE("cli: run writes the results file and no partial file", "[cli][e2e]") {
  const TempDir dir;
  std::vector<std::string> args{"run",   quickstart, "--paths", "20", "--blocks", "300", "--set",
                                "markets.pool.fee=0.001", "-o", dir.file("OUT.h5")};
  const ProcessResult result = run_defisim(args, dir.path);
  INFO("stderr: " << result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(fs::exists(dir.file("OUT.h5")));
  CHECK_FALSE(fs::exists(dir.file("OUT.h5.partial")));
  CHECK_THAT(result.err, Contains("wrote " + dir.file("OUT.h5") + ": 20 paths x 300 blocks"));
  CHECK_THAT(result.out, Contains("lp.pnl_vs_hodl"));  // the summary table after the run

  const defisim::output::ResultsReader reader(dir.file("OUT.h5"));
  CHECK(reader.root_attribute_string("filetype") == "defisim-results");
  CHECK(reader.root_attribute_string("experiment_name") == "quickstart");
  CHECK(reader.root_attribute_string("defisim_version") == defisim::core::defisim_version);
  CHECK(reader.root_attribute_string("source_revision") == defisim::core::source_revision);
  // The stored config is the resolved one: the --set is in it.
  CHECK_THAT(reader.root_attribute_string("config"), Contains("0.001"));
  REQUIRE(reader.scenario_count() == 1);
  CHECK(reader.outcomes(0, "lp.pnl_vs_hodl").size() == 20);
  const auto summary = reader.summary(0);
  CHECK(summary.parameters.empty());
  CHECK(std::find(summary.metrics.begin(), summary.metrics.end(), "lp.pnl_vs_hodl") != summary.metrics.end());
  CHECK(std::find(summary.metrics.begin(), summary.metrics.end(), "arb.profit") != summary.metrics.end());
}

TEST_CASE("cli: run refuses to overwrite without --force (exit 3) and overwrites with it", "[cli][e2e]") {
  const TempDir dir;
  const std::string out = small_run(dir, "OUT.h5", {"--seed", "1"});
  const std::string before = read_file(out);
  const auto before_time = fs::last_write_time(out);
  REQUIRE_FALSE(before.empty());

  const ProcessResult refused =
      run_defisim({"run", quickstart, "--paths", "20", "--blocks", "300", "--seed", "2", "-q", "-o", out}, dir.path);
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Contains("refusing to overwrite") && Contains(out) && Contains("--force"));
  CHECK(read_file(out) == before);
  CHECK(fs::last_write_time(out) == before_time);
  CHECK_FALSE(fs::exists(out + ".partial"));

  const ProcessResult forced = run_defisim(
      {"run", quickstart, "--paths", "20", "--blocks", "300", "--seed", "2", "-q", "--force", "-o", out}, dir.path);
  INFO("stderr: " << forced.err);
  CHECK(forced.exit_code == 0);
  CHECK(forced.out.empty());  // --quiet: no table
  CHECK_FALSE(fs::exists(out + ".partial"));
  const defisim::output::ResultsReader reader(out);
  CHECK(reader.root_attribute_string("seed") == "2");
}

TEST_CASE("cli: run without -o writes results/<experiment name>.h5", "[cli][e2e]") {
  const TempDir dir;
  const ProcessResult result =
      run_defisim({"run", quickstart, "--paths", "4", "--blocks", "60", "-q"}, dir.path);
  INFO("stderr: " << result.err);
  CHECK(result.exit_code == 0);
  CHECK(fs::exists(dir.path / "results" / "quickstart.h5"));
}

TEST_CASE("cli: results are identical for any thread count", "[cli][e2e]") {
  const TempDir dir;
  const std::string one = small_run(dir, "one.h5", {"--threads", "1", "-q"});
  const std::string two = small_run(dir, "two.h5", {"--threads", "2", "-q"});
  const defisim::output::ResultsReader a(one), b(two);
  for (const std::string metric : {"lp.pnl_vs_hodl", "arb.profit", "noise.volume", "pool.fees"}) {
    INFO(metric);
    CHECK(a.outcomes(0, metric) == b.outcomes(0, metric));
  }
}

TEST_CASE("cli: summarize prints the metrics, --metric filters, errors exit 2 or 3", "[cli][e2e]") {
  const TempDir dir;
  const std::string out = small_run(dir, "OUT.h5", {"-q"});

  ProcessResult result = run_defisim({"summarize", out}, dir.path);
  CHECK(result.exit_code == 0);
  for (const char* metric : {"lp.pnl_vs_hodl", "lp.value", "lp.fees_earned", "arb.profit", "noise.volume",
                             "pool.fees", "chain.gas_paid"}) {
    CHECK_THAT(result.out, Contains(metric));
  }
  CHECK_THAT(result.out, Contains("20 paths"));

  result = run_defisim({"summarize", out, "--metric", "lp.pnl_vs_hodl"}, dir.path);
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Contains("lp.pnl_vs_hodl"));
  CHECK_THAT(result.out, !Contains("arb.profit"));

  result = run_defisim({"summarize", out, "--scenario", "0"}, dir.path);
  CHECK(result.exit_code == 0);

  result = run_defisim({"summarize", out, "--metric", "nope"}, dir.path);
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.err, Contains("no metric 'nope'") && Contains("lp.pnl_vs_hodl"));

  result = run_defisim({"summarize", out, "--scenario", "3"}, dir.path);
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.err, Contains("--scenario 3"));

  // A missing file is an I/O error (exit 3), and the message says so.
  result = run_defisim({"summarize", dir.file("missing.h5")}, dir.path);
  CHECK(result.exit_code == 3);
  CHECK_THAT(result.err, Contains("cannot read results file") && Contains("missing.h5") && Contains("no such file"));

  // Only a partial file: it says a run is writing it or was killed.
  { std::ofstream(dir.file("half.h5.partial")) << "x"; }
  result = run_defisim({"summarize", dir.file("half.h5")}, dir.path);
  CHECK(result.exit_code == 3);
  CHECK_THAT(result.err, Contains("half.h5.partial"));

  // Not HDF5 at all: bad input (exit 2).
  const std::string text = dir.write("notes.h5", "not a results file\n");
  result = run_defisim({"summarize", text}, dir.path);
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.err, Contains("is not a defisim results file"));
}

TEST_CASE("cli: a 2x2 sweep grid writes 4 scenarios with their parameters", "[cli][e2e]") {
  const TempDir dir;
  const std::string config = dir.write("sweep.yaml", read_file(quickstart) +
                                                         "sweep:\n"
                                                         "  grid:\n"
                                                         "    markets.pool.fee: [0.001, 0.003]\n"
                                                         "    price.volatility.ETH: [0.5, 1.0]\n");
  const ProcessResult validated = run_defisim({"validate", config}, dir.path);
  CHECK(validated.exit_code == 0);
  CHECK_THAT(validated.out, Contains("4 scenario(s)"));

  const ProcessResult result =
      run_defisim({"run", config, "--paths", "8", "--blocks", "120", "-q", "-o", dir.file("sweep.h5")}, dir.path);
  INFO("stderr: " << result.err);
  REQUIRE(result.exit_code == 0);
  CHECK_FALSE(fs::exists(dir.file("sweep.h5.partial")));

  const defisim::output::ResultsReader reader(dir.file("sweep.h5"));
  REQUIRE(reader.scenario_count() == 4);
  // The first grid key varies slowest.
  const std::vector<std::vector<std::pair<std::string, std::string>>> expected = {
      {{"markets.pool.fee", "0.001"}, {"price.volatility.ETH", "0.5"}},
      {{"markets.pool.fee", "0.001"}, {"price.volatility.ETH", "1.0"}},
      {{"markets.pool.fee", "0.003"}, {"price.volatility.ETH", "0.5"}},
      {{"markets.pool.fee", "0.003"}, {"price.volatility.ETH", "1.0"}},
  };
  std::vector<double> mean_fees;
  for (std::size_t k = 0; k < 4; ++k) {
    INFO("scenario " << k);
    const auto summary = reader.summary(k);
    CHECK(summary.name == std::to_string(k));
    CHECK(summary.parameters == expected[k]);
    const std::vector<double> fees = reader.outcomes(k, "pool.fees");
    CHECK(fees.size() == 8);
    double sum = 0;
    for (double fee : fees) sum += fee;
    mean_fees.push_back(sum / 8);
  }
  // The swept fee is really used: three times the fee earns the pool more.
  CHECK(mean_fees[2] > mean_fees[0]);
  CHECK(mean_fees[3] > mean_fees[1]);

  const ProcessResult summary = run_defisim({"summarize", dir.file("sweep.h5"), "--metric", "pool.fees"}, dir.path);
  CHECK(summary.exit_code == 0);
  CHECK_THAT(summary.out, Contains("scenario 3: markets.pool.fee=0.003, price.volatility.ETH=1.0"));
}

TEST_CASE("cli: a sweep list writes one scenario per entry", "[cli][e2e]") {
  const TempDir dir;
  const std::string config = dir.write("list.yaml", read_file(quickstart) +
                                                        "sweep:\n"
                                                        "  list:\n"
                                                        "    - {markets.pool.fee: 0.0005}\n"
                                                        "    - {markets.pool.fee: 0.01, agents.noise.arrivals_per_block: 1}\n");
  const ProcessResult result =
      run_defisim({"run", config, "--paths", "4", "--blocks", "60", "-q", "-o", dir.file("list.h5")}, dir.path);
  INFO("stderr: " << result.err);
  REQUIRE(result.exit_code == 0);
  const defisim::output::ResultsReader reader(dir.file("list.h5"));
  REQUIRE(reader.scenario_count() == 2);
  CHECK(reader.summary(0).parameters ==
        std::vector<std::pair<std::string, std::string>>{{"markets.pool.fee", "0.0005"}});
  CHECK(reader.summary(1).parameters == std::vector<std::pair<std::string, std::string>>{
                                           {"markets.pool.fee", "0.01"}, {"agents.noise.arrivals_per_block", "1"}});
}

namespace {

// Starts a long run, sends `signal_number` once the partial file exists and
// about a second has passed, and checks the run stops cleanly with 130.
void check_interrupted_by(int signal_number) {
  const TempDir dir;
  const std::string out = dir.file("OUT.h5");
  const auto started = std::chrono::steady_clock::now();
  const pid_t pid = start_defisim({"run", quickstart, "--paths", "200000", "-q", "-o", out}, dir.path);
  // Wait until the run is writing (the partial file exists), at most 10 s.
  while (!fs::exists(out + ".partial") && std::chrono::steady_clock::now() - started < std::chrono::seconds(10)) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) FAIL("defisim exited before it was interrupted");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(fs::exists(out + ".partial"));
  std::this_thread::sleep_until(started + std::chrono::seconds(1));
  REQUIRE(::kill(pid, signal_number) == 0);
  const auto signalled = std::chrono::steady_clock::now();
  const ProcessResult result = finish_defisim(pid, dir.path, std::chrono::seconds(20));
  INFO("stderr: " << result.err);
  CHECK(result.exited);
  CHECK(result.exit_code == 130);
  CHECK_THAT(result.err, Contains("interrupted"));
  CHECK_FALSE(fs::exists(out));
  CHECK_FALSE(fs::exists(out + ".partial"));
  // It stops between paths, promptly.
  CHECK(std::chrono::steady_clock::now() - signalled < std::chrono::seconds(5));
}

}  // namespace

TEST_CASE("cli: SIGINT stops a run with exit 130 and leaves no file", "[cli][e2e][signal]") {
  check_interrupted_by(SIGINT);
}

TEST_CASE("cli: SIGTERM stops a run with exit 130 and leaves no file", "[cli][e2e][signal]") {
  check_interrupted_by(SIGTERM);
}

// Regression: a replay run whose CSV has exactly the blocks + 1 rows the loader
// asks for crashed (SIGSEGV in ReplayStepper::evolve) and left OUT.h5.partial
// behind: World::refill_price_chunk evolved a whole chunk of blocks ahead, past
// the end of the replayed returns.
TEST_CASE("cli: a replay run with exactly blocks + 1 rows of prices succeeds", "[cli][e2e][regression]") {
  const TempDir dir;
  std::string csv = "block,ETH\n";
  for (int row = 0; row <= 300; ++row) csv += std::to_string(row) + "," + std::to_string(2000 + row % 7) + "\n";
  dir.write("prices.csv", csv);
  std::string config = read_file(quickstart);
  const std::string gbm = "  process: gbm\n  initial: {ETH: 2000}\n  volatility: {ETH: 0.8}   # annualised\n";
  const std::size_t at = config.find(gbm);
  REQUIRE(at != std::string::npos);
  config.replace(at, gbm.size(), "  process: replay\n  initial: {ETH: 2000}\n  replay: {file: prices.csv}\n");
  const std::string path = dir.write("replay.yaml", config);
  CHECK(run_defisim({"validate", path, "--set", "experiment.blocks=300"}, dir.path).exit_code == 0);

  const ProcessResult result =
      run_defisim({"run", path, "--paths", "4", "--blocks", "300", "-q", "-o", dir.file("OUT.h5")}, dir.path);
  INFO("stderr: " << result.err);
  CHECK(result.exited);
  CHECK(result.signal == 0);
  CHECK(result.exit_code == 0);
  CHECK(fs::exists(dir.file("OUT.h5")));
  CHECK_FALSE(fs::exists(dir.file("OUT.h5.partial")));
}

// Every shipped config (configs/, experiments/*/) stays valid as the code
// changes: `defisim validate` accepts each one (exit 0). Found by walking the
// folders, so a new experiment is covered without editing this test.
TEST_CASE("cli: every shipped config and experiment YAML validates", "[cli][e2e]") {
  const TempDir dir;
  std::vector<fs::path> configs;
  for (const char* folder : {"configs", "experiments"}) {
    for (const auto& entry : fs::recursive_directory_iterator(fs::path(DEFISIM_SOURCE_DIR) / folder)) {
      if (entry.is_regular_file() && entry.path().extension() == ".yaml") configs.push_back(entry.path());
    }
  }
  REQUIRE(configs.size() >= 4);  // quickstart, w1 and the two LVR configs at least
  for (const fs::path& config : configs) {
    const ProcessResult result = run_defisim({"validate", config.string()}, dir.path);
    INFO(config.string() << "\nstderr: " << result.err);
    CHECK(result.exit_code == 0);
  }
}

TEST_CASE("cli: run --shard and merge make the unsharded file, and bad shards exit 2", "[cli][e2e][shards]") {
  const TempDir dir;
  // 20 paths in batches of 16: 2 batches (16 and 4 paths), one per shard.
  const std::vector<std::string> batching{"--set", "experiment.batch_paths=16"};
  const std::string whole = small_run(dir, "whole.h5", batching);
  std::vector<std::string> shard_files;
  for (const char* shard : {"1/2", "0/2"}) {
    std::vector<std::string> args{"run", quickstart, "--paths", "20", "--blocks", "300", "--shard", shard, "-q"};
    args.insert(args.end(), batching.begin(), batching.end());
    const ProcessResult result = run_defisim(args, dir.path);
    INFO("stderr: " << result.err);
    REQUIRE(result.exit_code == 0);
    // The default name says which shard it is.
    shard_files.push_back(dir.file(fmt::format("results/quickstart.shard-{}-of-2.h5", shard[0])));
    CHECK(fs::exists(shard_files.back()));
    CHECK_THAT(result.err, Contains(fmt::format("wrote shard {}/2", shard[0])));
  }
  ProcessResult result = run_defisim({"merge", shard_files[0], shard_files[1], "-o", dir.file("merged.h5")}, dir.path);
  INFO("stderr: " << result.err);
  REQUIRE(result.exit_code == 0);
  const defisim::output::ResultsReader a(whole), b(dir.file("merged.h5"));
  CHECK(a.outcomes(0, "lp.pnl_vs_hodl") == b.outcomes(0, "lp.pnl_vs_hodl"));
  CHECK(a.summary(0).columns == b.summary(0).columns);
  // A shard alone is not a result: summarize says how to merge it (exit 2).
  result = run_defisim({"summarize", shard_files[0]}, dir.path);
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.err, Contains("defisim merge"));
  // A missing shard, and a malformed --shard, are input errors.
  result = run_defisim({"merge", shard_files[0], "-o", dir.file("incomplete.h5")}, dir.path);
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.err, Contains("missing shard(s) 0/2"));
  CHECK_FALSE(fs::exists(dir.file("incomplete.h5")));
  result = run_defisim({"run", quickstart, "--paths", "20", "--shard", "2/2"}, dir.path);
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.err, Contains("--shard 2/2: need 0 <= i < n"));
}

namespace {

// Batch files saved in `journal` so far.
std::size_t saved_batches(const fs::path& journal) {
  std::size_t count = 0;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(journal, error)) {
    const std::string name = entry.path().filename().string();
    count += name.size() > 6 && name.substr(name.size() - 6) == ".batch" ? 1 : 0;
  }
  return count;
}

// Starts a resumable quickstart run of `paths` paths in batches of 32 that
// saves every batch, waits until it has saved at least `batches`, and stops
// it with `signal`.
ProcessResult interrupt_run(const TempDir& dir, const std::string& name, int paths, std::size_t batches, int signal) {
  const std::vector<std::string> args{"run", quickstart, "--paths", std::to_string(paths), "--set",
                                      "experiment.batch_paths=32", "--checkpoint-seconds", "0", "-q", "-o",
                                      dir.file(name)};
  const pid_t pid = defisim::test_support::start_defisim(args, dir.path);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (saved_batches(dir.file(name) + ".resume") < batches && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ::kill(pid, signal);
  return finish_defisim(pid, dir.path);
}

}  // namespace

TEST_CASE("cli: a run stopped by SIGINT or killed resumes with --resume into the uninterrupted file",
          "[cli][e2e][resume]") {
  const TempDir dir;
  const int paths = 4000;  // 125 batches of 32; the run takes about a second
  const std::vector<std::string> same{"--paths", std::to_string(paths), "--set", "experiment.batch_paths=32",
                                      "--checkpoint-seconds", "0", "-q"};
  const std::string whole = dir.file("whole.h5");
  {
    std::vector<std::string> args{"run", quickstart, "-o", whole};
    args.insert(args.end(), same.begin(), same.end());
    const ProcessResult result = run_defisim(args, dir.path);
    REQUIRE(result.exit_code == 0);
  }
  for (const int signal : {SIGINT, SIGKILL}) {
    INFO("signal " << signal);
    const std::string name = signal == SIGINT ? "int.h5" : "kill.h5";
    ProcessResult result = interrupt_run(dir, name, paths, 5, signal);
    const std::size_t saved = saved_batches(dir.file(name) + ".resume");
    INFO("stderr: " << result.err << " saved " << saved);
    if (signal == SIGINT) {
      // Stopped cleanly between batches, saying how to continue (exit 130).
      REQUIRE(result.exited);
      CHECK(result.exit_code == 130);
      CHECK_THAT(result.err, Contains("run the same command with --resume"));
      CHECK_FALSE(fs::exists(dir.file(name) + ".partial"));
    } else {
      CHECK(result.signal == SIGKILL);
    }
    CHECK_FALSE(fs::exists(dir.file(name)));
    REQUIRE(saved >= 5);
    REQUIRE(saved < 125);  // stopped part-way, so the resume has work to do
    // A fresh run may not silently discard the saved work ...
    std::vector<std::string> args{"run", quickstart, "-o", dir.file(name)};
    args.insert(args.end(), same.begin(), same.end());
    result = run_defisim(args, dir.path);
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err, Contains("holds an interrupted run: continue it with --resume"));
    // ... nor may a different run resume from it.
    std::vector<std::string> other = args;
    other.insert(other.end(), {"--resume", "--set", "markets.pool.fee=0.001"});
    result = run_defisim(other, dir.path);
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err, Contains("belongs to a different run"));
    // The same command with --resume reads the saved batches back and
    // writes the file an uninterrupted run writes.
    args.push_back("--resume");
    result = run_defisim(args, dir.path);
    REQUIRE(result.exit_code == 0);
    CHECK_THAT(result.err, Contains(fmt::format("resumed: {} batch(es) read back", saved)));
    CHECK_FALSE(fs::exists(dir.file(name) + ".resume"));  // removed with the commit
    const defisim::output::ResultsReader a(whole), b(dir.file(name));
    for (const char* metric : {"lp.pnl_vs_hodl", "arb.profit", "pool.swaps"}) {
      INFO(metric);
      CHECK(defisim::test_support::same_bits(a.outcomes(0, metric), b.outcomes(0, metric)));
    }
    CHECK(defisim::test_support::same_bits(a.series(0, "pool.value", nullptr, nullptr),
                                           b.series(0, "pool.value", nullptr, nullptr)));
    CHECK(a.summary(0).columns == b.summary(0).columns);
    // Nothing is left to resume.
    result = run_defisim(args, dir.path);
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err, Contains("is already complete"));
  }
}

TEST_CASE("cli: --target-stderr stops early and says so, a malformed one exits 2", "[cli][e2e][target_stderr]") {
  const TempDir dir;
  ProcessResult result = run_defisim({"run", quickstart, "--paths", "400", "--blocks", "300", "--set",
                                      "experiment.batch_paths=50", "--target-stderr", "lp.pnl_vs_hodl=1e9", "-o",
                                      dir.file("early.h5")},
                                     dir.path);
  INFO("stderr: " << result.err);
  REQUIRE(result.exit_code == 0);
  // A target any two batches meet: the scenario stops after 100 paths.
  CHECK_THAT(result.err, Contains("scenario 1 stopped: --target-stderr lp.pnl_vs_hodl=1000000000"));
  CHECK(defisim::output::ResultsReader(dir.file("early.h5")).outcomes(0, "lp.pnl_vs_hodl").size() == 100);
  for (const char* bad : {"lp.pnl_vs_hodl", "lp.pnl_vs_hodl=0", "=5", "lp.pnl_vs_hodl=x"}) {
    result = run_defisim({"run", quickstart, "--paths", "20", "--target-stderr", bad, "-o", dir.file("bad.h5")}, dir.path);
    INFO(bad << ": " << result.err);
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err, Contains("expected METRIC=VALUE"));
  }
}

TEST_CASE("cli: importance sampling warns when it leaves few effective paths, and stores them",
          "[cli][e2e][importance_sampling]") {
  // The quickstart's ETH (80% a year) over 300 blocks moves by sd 0.8
  // sqrt(3600 / (365 x 86400)) = 0.0086 in log terms. A shift of -0.05 (5.8 sd)
  // leaves Kish's ESS = n exp(-(shift / sd)^2) ~ 400 x 2e-15: degenerate. A
  // shift of -0.001 (0.12 sd) leaves n exp(-0.0135) ~ 395 of 400: no warning.
  const TempDir dir;
  const auto run = [&](const std::string& shift, const std::string& name) {
    const ProcessResult result =
        run_defisim({"run", quickstart, "--paths", "400", "--blocks", "300", "-q", "--set",
                     "experiment.importance_sampling.shift_log_return.ETH=" + shift, "-o", dir.file(name)},
                    dir.path);
    INFO("stderr: " << result.err);
    REQUIRE(result.exit_code == 0);
    return result.err;
  };
  CHECK_THAT(run("-0.05", "strong.h5"),
             Contains("warning: scenario 0: importance sampling leaves an effective sample size of"));
  CHECK_THAT(run("-0.001", "weak.h5"), !Contains("warning"));
  // summary/ stores the ESS and the ratio's mean: Kish's formula on the stored ratios.
  for (const char* name : {"strong.h5", "weak.h5"}) {
    const defisim::output::ResultsReader reader(dir.file(name));
    const std::vector<double> w = reader.outcomes(0, "sampling.likelihood_ratio");
    double sum = 0, squares = 0;
    for (const double x : w) {
      sum += x;
      squares += x * x;
    }
    const hid_t file = H5Fopen(dir.file(name).c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    REQUIRE(file >= 0);
    double ess = 0, mean = 0;
    const hid_t a = H5Aopen_by_name(file, "/scenarios/0/summary", "effective_sample_size", H5P_DEFAULT, H5P_DEFAULT);
    const hid_t b = H5Aopen_by_name(file, "/scenarios/0/summary", "likelihood_ratio_mean", H5P_DEFAULT, H5P_DEFAULT);
    REQUIRE(a >= 0);
    REQUIRE(b >= 0);
    H5Aread(a, H5T_NATIVE_DOUBLE, &ess);
    H5Aread(b, H5T_NATIVE_DOUBLE, &mean);
    H5Aclose(a);
    H5Aclose(b);
    H5Fclose(file);
    INFO(name << ": ESS " << ess);
    CHECK(ess == Approx(sum * sum / squares).epsilon(1e-12));
    CHECK(mean == Approx(sum / static_cast<double>(w.size())).epsilon(1e-12));
  }
}
