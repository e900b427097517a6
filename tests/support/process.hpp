// Running the real defisim binary (DEFISIM_BINARY, a compile definition of
// every test executable) and capturing its stdout, stderr, exit status and
// terminating signal.
#pragma once

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "tests/support/temp_dir.hpp"

namespace defisim::test_support {

struct ProcessResult {
  bool exited = false;
  int exit_code = -1;  // WEXITSTATUS when exited
  int signal = 0;      // WTERMSIG when killed by a signal
  std::string out;
  std::string err;
};

// Starts DEFISIM_BINARY with `args` in `cwd`, stdout/stderr to files there
// (defisim.stdout, defisim.stderr).
inline pid_t start_defisim(const std::vector<std::string>& args, const std::filesystem::path& cwd) {
  std::vector<std::string> storage{DEFISIM_BINARY};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const std::string out_file = (cwd / "defisim.stdout").string();
  const std::string err_file = (cwd / "defisim.stderr").string();
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    const int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0) ::_exit(126);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

// Waits for `pid` (killing it after `timeout`: a hung binary fails the test
// instead of hanging ctest) and collects its output from `cwd`.
inline ProcessResult finish_defisim(pid_t pid, const std::filesystem::path& cwd,
                                    std::chrono::seconds timeout = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    REQUIRE((done == 0 || errno == EINTR));
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      FAIL("defisim did not finish within " << timeout.count() << " s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ProcessResult result;
  result.exited = WIFEXITED(status);
  if (result.exited) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  result.out = read_file(cwd / "defisim.stdout");
  result.err = read_file(cwd / "defisim.stderr");
  std::error_code ignored;
  std::filesystem::remove(cwd / "defisim.stdout", ignored);
  std::filesystem::remove(cwd / "defisim.stderr", ignored);
  return result;
}

// Runs DEFISIM_BINARY with `args` in `cwd` to completion.
inline ProcessResult run_defisim(const std::vector<std::string>& args, const std::filesystem::path& cwd) {
  return finish_defisim(start_defisim(args, cwd), cwd);
}

}  // namespace defisim::test_support
