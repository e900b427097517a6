#pragma once
// YAML -> Experiment: every key checked, every name resolved, sweeps expanded.
#include <span>
#include <string>
#include <vector>

#include "framework/config/node.hpp"
#include "framework/engine/experiment_spec.hpp"

namespace defisim::engine {

struct LoadOptions {
  std::vector<std::string> assignments;  // "--set key=value", applied in order
  // What the user typed for each assignment, for error messages (e.g.
  // "--paths 5"); empty or missing: "--set key=value".
  std::vector<std::string> origins;
};

// Throws core::ConfigError / core::InputError on any problem.
Experiment load_experiment(const std::string& config_path, const LoadOptions& options = {});
// The same from YAML text (tests); `source_name` stands for the file in messages.
Experiment load_experiment_text(const std::string& yaml_text, const std::string& source_name,
                                const LoadOptions& options = {});

// A documented section of the config, for `defisim config-reference`.
struct ConfigSection {
  std::string path;  // "experiment", "markets[] (type: cpmm)", ...
  std::string description;
  std::span<const config::KeySpec> keys;
};
std::vector<ConfigSection> config_sections();
// docs/CONFIG.md's generated reference (a test keeps the file equal to this).
std::string config_reference_markdown();

}  // namespace defisim::engine
