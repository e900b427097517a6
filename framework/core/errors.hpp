#pragma once
// Errors and exit codes.
//
// Input errors (a bad config, a missing file) are typed exceptions thrown while
// an experiment is being prepared, caught once in main and mapped to an exit
// code. A broken invariant (money not conserved, a negative reserve) is a bug:
// it throws InvariantViolation with the values. Nothing throws per block in
// normal operation: a failed transaction is a Receipt with a revert reason.
#include <stdexcept>
#include <string>

namespace defisim::core {

// Documented in README.md ("Exit codes"); tests/cli checks each one.
enum class ExitCode : int {
  ok = 0,
  failure = 1,             // unexpected internal error
  bad_input = 2,           // invalid config, CLI usage, unreadable input data
  io_error = 3,            // cannot read or write a results file
  invariant_violation = 4, // a bug: conservation or another invariant broke
  interrupted = 130,       // SIGINT/SIGTERM: stopped cleanly, no result left
};

// Where in an input a problem is: file (or "--set", "sweep"), 1-based line and
// column (0 when unknown).
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
  std::string to_string() const;
};

// Any problem with what the user gave us. exit code 2.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A config value that is wrong: names the key path (e.g. "markets[0].fee"),
// where it is, and what would be valid.
class ConfigError : public InputError {
 public:
  ConfigError(std::string key, SourceLocation location, std::string problem);
  const std::string& key() const { return key_; }
  const SourceLocation& location() const { return location_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string key_;
  SourceLocation location_;
  std::string problem_;
};

// Reading or writing a file failed. exit code 3.
class IoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The user stopped the run (SIGINT/SIGTERM). exit code 130.
class Interrupted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A bug: an invariant the code relies on does not hold. exit code 4.
class InvariantViolation : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

}  // namespace defisim::core
