// The defisim command line. Input errors are typed exceptions caught here,
// once, and mapped to the exit codes documented in README.md.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "framework/core/build_info.hpp"
#include "framework/core/errors.hpp"
#include "framework/core/mpi.hpp"
#include "framework/engine/config_loader.hpp"
#include "framework/engine/runner.hpp"
#include "framework/output/results_file.hpp"

namespace {

using defisim::core::ExitCode;

int code(ExitCode exit_code) { return static_cast<int>(exit_code); }

extern "C" void on_interrupt(int) { defisim::engine::interrupt_requested().store(true); }

struct RunArguments {
  std::string config;
  std::string output;
  std::int64_t paths = 0;
  std::int64_t blocks = 0;
  std::int64_t seed = -1;
  int threads = 0;
  std::vector<std::string> assignments;
  bool force = false;
  bool quiet = false;
  std::string shard;  // --shard i/n
  bool resume = false;
  double checkpoint_seconds = 10.0;
  std::string target_stderr;  // METRIC=VALUE
};

defisim::engine::LoadOptions load_options(const RunArguments& arguments) {
  defisim::engine::LoadOptions options;
  options.assignments = arguments.assignments;
  options.origins.resize(options.assignments.size());
  auto flag = [&](const char* key, const char* name, std::int64_t value) {
    options.assignments.push_back(fmt::format("experiment.{}={}", key, value));
    options.origins.push_back(fmt::format("{} {}", name, value));
  };
  if (arguments.paths > 0) flag("paths", "--paths", arguments.paths);
  if (arguments.blocks > 0) flag("blocks", "--blocks", arguments.blocks);
  if (arguments.seed >= 0) flag("seed", "--seed", arguments.seed);
  return options;
}

int run_command(const RunArguments& arguments, const std::string& command_line) {
  const defisim::engine::Experiment experiment =
      defisim::engine::load_experiment(arguments.config, load_options(arguments));
  defisim::engine::RunOptions options;
  if (!arguments.shard.empty()) options.shard = defisim::engine::parse_shard(arguments.shard);
  const std::string default_name =
      options.shard.whole() ? fmt::format("results/{}.h5", experiment.base().name)
                            : fmt::format("results/{}.shard-{}-of-{}.h5", experiment.base().name, options.shard.index,
                                          options.shard.count);
  options.output_path = arguments.output.empty() ? default_name : arguments.output;
  options.overwrite = arguments.force;
  options.threads = arguments.threads;
  options.command_line = command_line;
  options.progress = !arguments.quiet;
  options.resume = arguments.resume;
  options.checkpoint_seconds = arguments.checkpoint_seconds;
  if (!arguments.target_stderr.empty()) {
    const std::size_t equals = arguments.target_stderr.rfind('=');
    char* end = nullptr;
    const double value = equals == std::string::npos ? 0.0 : std::strtod(arguments.target_stderr.c_str() + equals + 1, &end);
    if (equals == std::string::npos || equals == 0 || end == nullptr || *end != '\0' || !(value > 0.0) ||
        !std::isfinite(value)) {
      throw defisim::core::InputError(fmt::format(
          "--target-stderr {}: expected METRIC=VALUE with VALUE > 0, e.g. bank.bad_debt=1000", arguments.target_stderr));
    }
    options.target_stderr_metric = arguments.target_stderr.substr(0, equals);
    options.target_stderr = value;
  }

  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  const auto statistics = defisim::engine::run_experiment(experiment, options);
  if (defisim::core::mpi::rank() != 0) return code(ExitCode::ok);  // rank 0 reports

  if (!arguments.quiet && options.shard.whole()) {
    const defisim::output::ResultsReader reader(options.output_path);
    for (std::size_t k = 0; k < reader.scenario_count(); ++k) {
      defisim::output::print_summary_table(reader.summary(k), "", stdout);
    }
    // The table (stdout, buffered) before the closing line (stderr), also
    // when both go to one log.
    std::fflush(stdout);
  }
  if (options.resume) {
    std::fprintf(stderr, "resumed: %llu batch(es) read back from the interrupted run, the rest computed\n",
                 static_cast<unsigned long long>(statistics.resumed_batches));
  }
  if (!options.shard.whole()) {
    std::fprintf(stderr, "wrote shard %u/%u to %s: %llu paths in %.2f s; combine all %u with `defisim merge`\n",
                 options.shard.index, options.shard.count, options.output_path.c_str(),
                 static_cast<unsigned long long>(statistics.paths), statistics.wall_seconds, options.shard.count);
    return code(ExitCode::ok);
  }
  const std::string workers = statistics.ranks > 1
                                  ? fmt::format("{} MPI ranks x {} thread(s)", statistics.ranks, statistics.threads)
                                  : fmt::format("{} thread(s)", statistics.threads);
  std::fprintf(stderr, "wrote %s: %llu paths x %llu blocks in %.2f s on %s, %.3g path-blocks/s\n",
               options.output_path.c_str(), static_cast<unsigned long long>(experiment.base().paths),
               static_cast<unsigned long long>(experiment.base().blocks), statistics.wall_seconds,
               workers.c_str(),
               statistics.wall_seconds > 0 ? static_cast<double>(statistics.path_blocks) / statistics.wall_seconds : 0.0);
  return code(ExitCode::ok);
}

int merge_command(const std::vector<std::string>& shards, const std::string& output, bool force,
                  const std::string& command_line) {
  defisim::engine::MergeOptions options;
  options.output_path = output;
  options.overwrite = force;
  options.command_line = command_line;
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  defisim::engine::merge_shards(shards, options);
  std::fprintf(stderr, "merged %zu shard(s) into %s\n", shards.size(), output.c_str());
  return code(ExitCode::ok);
}

int validate_command(const RunArguments& arguments) {
  const defisim::engine::Experiment experiment =
      defisim::engine::load_experiment(arguments.config, load_options(arguments));
  const auto& base = experiment.base();
  std::printf("%s: valid. experiment '%s': %zu scenario(s) x %llu paths x %llu blocks of %g s; %zu market(s), %zu agent(s)\n",
              arguments.config.c_str(), base.name.c_str(), experiment.scenarios.size(),
              static_cast<unsigned long long>(base.paths), static_cast<unsigned long long>(base.blocks),
              base.block_time_seconds, base.markets.size(), base.agents.size());
  return code(ExitCode::ok);
}

int summarize_command(const std::string& path, int scenario, const std::string& metric, bool intervals) {
  const defisim::output::ResultsReader reader(path);
  const std::size_t count = reader.scenario_count();
  if (scenario >= 0 && static_cast<std::size_t>(scenario) >= count) {
    throw defisim::core::InputError(
        fmt::format("--scenario {}: the file has {} scenario(s), 0..{}", scenario, count, count - 1));
  }
  for (std::size_t k = 0; k < count; ++k) {
    if (scenario >= 0 && static_cast<std::size_t>(scenario) != k) continue;
    defisim::output::print_summary_table(
        reader.summary(k), metric, stdout,
        intervals ? defisim::output::SummaryTable::intervals : defisim::output::SummaryTable::statistics);
  }
  return code(ExitCode::ok);
}


// Every message of a failing rank says which rank it is (under mpirun).
std::string rank_prefix() {
  if (!defisim::core::mpi::distributed()) return {};
  return fmt::format("rank {} of {}: ", defisim::core::mpi::rank(), defisim::core::mpi::size());
}

int run_main(int argc, char** argv) {
  std::string command_line;
  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);

  CLI::App app{"defisim: agent-based Monte Carlo risk simulation for DeFi.\n"
               "Exit codes: 0 ok, 1 internal error, 2 bad input, 3 I/O error, 4 invariant violated (a bug), "
               "130 interrupted."};
  app.require_subcommand(0, 1);
  bool show_version = false;
  app.add_flag("--version", show_version, "print version and source revision");

  RunArguments run_arguments;
  CLI::App* run = app.add_subcommand("run", "run an experiment and write its HDF5 results");
  run->add_option("config", run_arguments.config, "experiment YAML")->required();
  run->add_option("-o,--output", run_arguments.output, "results file (default results/<experiment name>.h5)");
  run->add_option("--paths", run_arguments.paths, "override experiment.paths")->check(CLI::PositiveNumber);
  run->add_option("--blocks", run_arguments.blocks, "override experiment.blocks")->check(CLI::PositiveNumber);
  run->add_option("--seed", run_arguments.seed, "override experiment.seed")->check(CLI::Range(0LL, 4294967295LL));
  run->add_option("--threads", run_arguments.threads, "worker threads (default: all cores)")->check(CLI::NonNegativeNumber);
  run->add_option("--set", run_arguments.assignments, "override any key: --set markets.pool.fee=0.0005 (repeatable)");
  run->add_flag("--force", run_arguments.force, "overwrite an existing results file");
  run->add_flag("-q,--quiet", run_arguments.quiet, "no progress and no summary table");
  run->add_option("--shard", run_arguments.shard,
                  "i/n: run only shard i of n (0 <= i < n) into a shard file (default results/<name>.shard-i-of-n.h5); "
                  "`defisim merge` combines the n shard files");
  run->add_option("--target-stderr", run_arguments.target_stderr,
                  "METRIC=VALUE: stop each scenario after the first whole batch (at least two) at which the standard "
                  "error of METRIC's mean is <= VALUE (deterministic; the scenario's datasets then hold fewer paths)");
  run->add_flag("--resume", run_arguments.resume,
                "continue an interrupted run (the same command) from the batches it saved in OUTPUT.resume/");
  run->add_option("--checkpoint-seconds", run_arguments.checkpoint_seconds,
                  "save completed batches for --resume once the run has lasted this long, and fsync them this "
                  "often (default 10; 0: every batch)")
      ->check(CLI::NonNegativeNumber);

  std::vector<std::string> merge_shards;
  std::string merge_output;
  bool merge_force = false;
  CLI::App* merge = app.add_subcommand("merge", "combine the shard files of a sharded run into its results file");
  merge->add_option("shards", merge_shards, "every shard file of the run (any order)")->required();
  merge->add_option("-o,--output", merge_output, "the results file to write")->required();
  merge->add_flag("--force", merge_force, "overwrite an existing results file");

  RunArguments validate_arguments;
  CLI::App* validate = app.add_subcommand("validate", "check an experiment without running it");
  validate->add_option("config", validate_arguments.config, "experiment YAML")->required();
  validate->add_option("--set", validate_arguments.assignments, "override any key (repeatable)");

  std::string summarize_path;
  int summarize_scenario = -1;
  std::string summarize_metric;
  CLI::App* summarize = app.add_subcommand("summarize", "print the summary table of a results file");
  summarize->add_option("results", summarize_path, "results HDF5 file")->required();
  summarize->add_option("--scenario", summarize_scenario, "only this scenario index");
  summarize->add_option("--metric", summarize_metric, "only this metric (exact name)");
  bool summarize_intervals = false;
  summarize->add_flag("--intervals", summarize_intervals,
                      "the mean, VaR95 and VaR99 with their 95% confidence intervals (stored in the file's summary)");

  CLI::App* reference = app.add_subcommand("config-reference", "print the configuration reference (docs/CONFIG.md)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int exit_code = app.exit(error);
    return exit_code == 0 ? 0 : code(ExitCode::bad_input);
  }

  try {
    if (show_version) {
      std::printf("defisim %s (source revision %s)\n", defisim::core::defisim_version, defisim::core::source_revision);
      return code(ExitCode::ok);
    }
    if (defisim::core::mpi::distributed() && !*run) {
      throw defisim::core::InputError("under mpirun only `defisim run` splits its work across ranks; run other "
                                      "commands as one process");
    }
    if (*run) return run_command(run_arguments, command_line);
    if (*merge) return merge_command(merge_shards, merge_output, merge_force, command_line);
    if (*validate) return validate_command(validate_arguments);
    if (*summarize) return summarize_command(summarize_path, summarize_scenario, summarize_metric, summarize_intervals);
    if (*reference) {
      std::fputs(defisim::engine::config_reference_markdown().c_str(), stdout);
      return code(ExitCode::ok);
    }
    std::fputs(app.help().c_str(), stdout);
    return code(ExitCode::ok);
  } catch (const defisim::core::InputError& error) {
    std::fprintf(stderr, "%s%s\n", rank_prefix().c_str(), error.what());
    return code(ExitCode::bad_input);
  } catch (const defisim::core::IoError& error) {
    std::fprintf(stderr, "%serror: %s\n", rank_prefix().c_str(), error.what());
    return code(ExitCode::io_error);
  } catch (const defisim::core::Interrupted& interrupted) {
    std::fprintf(stderr, "\n%s%s\n", rank_prefix().c_str(), interrupted.what());
    return code(ExitCode::interrupted);
  } catch (const defisim::core::InvariantViolation& error) {
    std::fprintf(stderr, "%sinternal error (a bug, please report): %s\n", rank_prefix().c_str(), error.what());
    return code(ExitCode::invariant_violation);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%sinternal error: %s\n", rank_prefix().c_str(), error.what());
    return code(ExitCode::failure);
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    defisim::core::mpi::Session mpi(&argc, &argv);
    const int exit_code = run_main(argc, argv);
    // A failing rank ends them all with its exit code (which mpirun returns):
    // the others may be waiting for it in a collective call.
    if (exit_code != 0 && defisim::core::mpi::distributed()) {
      std::fflush(stderr);
      defisim::core::mpi::abort(exit_code);
    }
    return exit_code;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return code(ExitCode::io_error);
  }
}
