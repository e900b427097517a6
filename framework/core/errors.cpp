#include "framework/core/errors.hpp"

#include <fmt/format.h>

namespace defisim::core {

std::string SourceLocation::to_string() const {
  if (line <= 0) return file;
  return fmt::format("{}:{}:{}", file, line, column);
}

namespace {
std::string format_config_error(const std::string& key, const SourceLocation& location,
                                const std::string& problem) {
  return fmt::format("{}: error: '{}': {}", location.to_string(), key, problem);
}
}  // namespace

ConfigError::ConfigError(std::string key, SourceLocation location, std::string problem)
    : InputError(format_config_error(key, location, problem)),
      key_(std::move(key)),
      location_(std::move(location)),
      problem_(std::move(problem)) {}

}  // namespace defisim::core
