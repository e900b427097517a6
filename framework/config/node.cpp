#include "framework/config/node.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

namespace defisim::config {

namespace {

std::string join(std::span<const std::string_view> words) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i) out += ", ";
    out += words[i];
  }
  return out;
}

std::string scalar_text(const YAML::Node& node) {
  if (node.IsScalar()) return node.Scalar();
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  return "nothing";
}

}  // namespace

ConfigNode::ConfigNode(YAML::Node node, std::string key_path, std::shared_ptr<const Origins> origins)
    : node_(std::move(node)), key_path_(std::move(key_path)), origins_(std::move(origins)) {}

core::SourceLocation ConfigNode::location() const {
  // A value that came from --set or a sweep has no line in the file: name the
  // override instead (the longest overridden prefix of this key path).
  for (auto it = origins_->overrides.rbegin(); it != origins_->overrides.rend(); ++it) {
    const std::string& overridden = it->first;
    if (key_path_ == overridden ||
        (key_path_.size() > overridden.size() && key_path_.compare(0, overridden.size(), overridden) == 0 &&
         (key_path_[overridden.size()] == '.' || key_path_[overridden.size()] == '['))) {
      return {it->second, 0, 0};
    }
  }
  const YAML::Mark mark = node_.Mark();
  if (mark.line < 0) {
    // A section an override created on its way (apply_override): name it.
    for (auto it = origins_->overrides.rbegin(); it != origins_->overrides.rend(); ++it) {
      const std::string& overridden = it->first;
      if (overridden.size() > key_path_.size() && overridden.compare(0, key_path_.size(), key_path_) == 0 &&
          (key_path_.empty() || overridden[key_path_.size()] == '.')) {
        return {it->second, 0, 0};
      }
    }
    return {origins_->file, 0, 0};
  }
  return {origins_->file, mark.line + 1, mark.column + 1};
}

void ConfigNode::fail(const std::string& problem) const {
  throw core::ConfigError(key_path_.empty() ? "<root>" : key_path_, location(), problem);
}

void ConfigNode::check_keys(std::span<const KeySpec> allowed) const {
  if (!node_.IsMap()) fail(fmt::format("expected a map of keys, got {}", scalar_text(node_)));
  std::vector<std::string_view> names;
  names.reserve(allowed.size());
  for (const KeySpec& spec : allowed) names.push_back(spec.name);
  std::vector<std::string> seen;
  for (const auto& entry : node_) {
    const std::string key = entry.first.Scalar();
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      // YAML says keys are unique; yaml-cpp keeps the first silently.
      ConfigNode(entry.first, key_path_.empty() ? key : key_path_ + "." + key, origins_)
          .fail("key given twice in the same map");
    }
    seen.push_back(key);
    if (std::find(names.begin(), names.end(), key) != names.end()) continue;
    ConfigNode key_node(entry.first, key_path_.empty() ? key : key_path_ + "." + key, origins_);
    const std::string suggestion = nearest(key, names);
    key_node.fail(suggestion.empty()
                      ? fmt::format("unknown key; valid keys here: {}", join(names))
                      : fmt::format("unknown key; did you mean '{}'? (valid keys here: {})",
                                    suggestion, join(names)));
  }
  for (const KeySpec& spec : allowed) {
    if (spec.required() && !has(spec.name)) {
      fail(fmt::format("missing required key '{}' ({})", spec.name, spec.description));
    }
  }
}

bool ConfigNode::has(std::string_view key) const {
  return node_.IsMap() && node_[std::string(key)].IsDefined() && !node_[std::string(key)].IsNull();
}

ConfigNode ConfigNode::child(std::string_view key) const {
  if (!node_.IsMap()) fail(fmt::format("expected a map, got {}", scalar_text(node_)));
  YAML::Node value = node_[std::string(key)];
  if (!value.IsDefined() || value.IsNull()) fail(fmt::format("missing required key '{}'", key));
  return ConfigNode(value, key_path_.empty() ? std::string(key) : key_path_ + "." + std::string(key),
                    origins_);
}

std::vector<std::pair<std::string, ConfigNode>> ConfigNode::entries() const {
  if (!node_.IsMap()) fail(fmt::format("expected a map, got {}", scalar_text(node_)));
  std::vector<std::pair<std::string, ConfigNode>> out;
  for (const auto& entry : node_) {
    const std::string key = entry.first.Scalar();
    out.emplace_back(key, ConfigNode(entry.second, key_path_.empty() ? key : key_path_ + "." + key,
                                     origins_));
  }
  return out;
}

std::size_t ConfigNode::size() const {
  if (!node_.IsSequence()) fail(fmt::format("expected a list, got {}", scalar_text(node_)));
  return node_.size();
}

ConfigNode ConfigNode::element(std::size_t index) const {
  if (!node_.IsSequence()) fail(fmt::format("expected a list, got {}", scalar_text(node_)));
  YAML::Node value = node_[index];
  return ConfigNode(value, element_path(key_path_, value, index), origins_);
}

std::vector<ConfigNode> ConfigNode::elements() const {
  std::vector<ConfigNode> out;
  const std::size_t n = size();
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(element(i));
  return out;
}

double ConfigNode::as_number() const {
  if (!node_.IsScalar()) fail(fmt::format("expected a number, got {}", scalar_text(node_)));
  double value = 0;
  if (!YAML::convert<double>::decode(node_, value)) {
    fail(fmt::format("expected a number, got '{}'", node_.Scalar()));
  }
  if (!std::isfinite(value)) fail(fmt::format("expected a finite number, got '{}'", node_.Scalar()));
  return value;
}

std::int64_t ConfigNode::as_integer() const {
  if (!node_.IsScalar()) fail(fmt::format("expected an integer, got {}", scalar_text(node_)));
  std::int64_t value = 0;
  if (YAML::convert<std::int64_t>::decode(node_, value)) return value;
  // Accept integral values written as 1e6 or 10000.0, which people do write.
  double as_double = 0;
  if (YAML::convert<double>::decode(node_, as_double) && std::isfinite(as_double) &&
      as_double == std::floor(as_double) && std::fabs(as_double) < 9.0e15) {
    return static_cast<std::int64_t>(as_double);
  }
  fail(fmt::format("expected an integer, got '{}'", node_.Scalar()));
}

std::string ConfigNode::as_string() const {
  if (!node_.IsScalar()) fail(fmt::format("expected a string, got {}", scalar_text(node_)));
  return node_.Scalar();
}

bool ConfigNode::as_bool() const {
  bool value = false;
  if (!node_.IsScalar() || !YAML::convert<bool>::decode(node_, value)) {
    fail(fmt::format("expected true or false, got '{}'", scalar_text(node_)));
  }
  return value;
}

double ConfigNode::number(std::string_view key, double fallback) const {
  return has(key) ? child(key).as_number() : fallback;
}
std::int64_t ConfigNode::integer(std::string_view key, std::int64_t fallback) const {
  return has(key) ? child(key).as_integer() : fallback;
}
std::string ConfigNode::string(std::string_view key, std::string_view fallback) const {
  return has(key) ? child(key).as_string() : std::string(fallback);
}
bool ConfigNode::boolean(std::string_view key, bool fallback) const {
  return has(key) ? child(key).as_bool() : fallback;
}

double ConfigNode::in_range(double value, double min, bool min_inclusive, double max,
                            bool max_inclusive) const {
  const bool above_min = min_inclusive ? value >= min : value > min;
  const bool below_max = max_inclusive ? value <= max : value < max;
  if (!above_min || !below_max) {
    const std::string upper = std::isinf(max) ? "inf)" : fmt::format("{}{}", max, max_inclusive ? "]" : ")");
    fail(fmt::format("{} is out of range; valid: {}{}, {}", value, min_inclusive ? "[" : "(", min, upper));
  }
  return value;
}

std::int64_t ConfigNode::at_least(std::int64_t value, std::int64_t min) const {
  if (value < min) fail(fmt::format("{} is too small; must be at least {}", value, min));
  return value;
}

double ConfigNode::number_in(std::string_view key, double fallback, double min, bool min_inclusive,
                             double max, bool max_inclusive) const {
  if (!has(key)) return fallback;
  const ConfigNode value = child(key);
  return value.in_range(value.as_number(), min, min_inclusive, max, max_inclusive);
}

std::int64_t ConfigNode::integer_at_least(std::string_view key, std::int64_t fallback,
                                          std::int64_t min) const {
  if (!has(key)) return fallback;
  const ConfigNode value = child(key);
  return value.at_least(value.as_integer(), min);
}

std::int64_t ConfigNode::integer_in(std::string_view key, std::int64_t fallback, std::int64_t min,
                                    std::int64_t max) const {
  const std::int64_t value = integer_at_least(key, fallback, min);
  if (value > max) child(key).fail(fmt::format("at most {}", max));
  return value;
}

std::string ConfigNode::one_of(std::string value, std::span<const std::string_view> choices) const {
  if (std::find(choices.begin(), choices.end(), value) != choices.end()) return value;
  const std::string suggestion = nearest(value, choices);
  fail(suggestion.empty() ? fmt::format("'{}' is not valid; valid: {}", value, join(choices))
                          : fmt::format("'{}' is not valid; did you mean '{}'? (valid: {})", value,
                                        suggestion, join(choices)));
}

std::size_t resolve_name(const ConfigNode& where, const std::string& name, std::span<const std::string> names,
                         std::string_view what) {
  const auto it = std::find(names.begin(), names.end(), name);
  if (it != names.end()) return static_cast<std::size_t>(it - names.begin());
  const std::vector<std::string_view> candidates(names.begin(), names.end());
  const std::string suggestion = nearest(name, candidates);
  where.fail(fmt::format("unknown {} '{}'{}; known: {}", what, name,
                         suggestion.empty() ? "" : fmt::format(" (did you mean '{}'?)", suggestion),
                         join(candidates)));
}

std::string element_path(const std::string& parent, const YAML::Node& element, std::size_t index) {
  if (element.IsMap()) {
    for (const char* naming_key : {"id", "type"}) {
      const YAML::Node name = element[naming_key];
      if (name && name.IsScalar() && !name.Scalar().empty()) return parent + "." + name.Scalar();
    }
  }
  return fmt::format("{}[{}]", parent, index);
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> previous(b.size() + 1), current(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::string nearest(std::string_view word, std::span<const std::string_view> candidates) {
  std::string best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (std::string_view candidate : candidates) {
    const std::size_t distance = edit_distance(word, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  // Suggest only what a typo could explain: a third of the word, at least 2 edits.
  const std::size_t useful = std::max<std::size_t>(2, word.size() / 3);
  return best_distance <= useful ? best : std::string();
}

namespace {

// "[12]" -> 12; anything else -> nullopt.
std::optional<std::size_t> list_index(const std::string& segment) {
  if (segment.size() < 3 || segment.front() != '[' || segment.back() != ']') return std::nullopt;
  std::size_t index = 0;
  for (std::size_t i = 1; i + 1 < segment.size(); ++i) {
    if (segment[i] < '0' || segment[i] > '9' || index > 100000000) return std::nullopt;
    index = index * 10 + static_cast<std::size_t>(segment[i] - '0');
  }
  return index;
}

// Splits "markets.pool.fee" or "agents[1].gas_used" into segments; "[1]" -> "[1]".
std::vector<std::string> split_key_path(const std::string& key_path) {
  std::vector<std::string> segments;
  std::string current;
  for (char c : key_path) {
    if (c == '.') {
      if (!current.empty()) segments.push_back(current);
      current.clear();
    } else if (c == '[') {
      if (!current.empty()) segments.push_back(current);
      current = "[";
    } else if (c == ']') {
      current += ']';
      segments.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) segments.push_back(current);
  return segments;
}

}  // namespace

void apply_override(YAML::Node& root, const std::string& key_path, const YAML::Node& value,
                    const std::string& origin) {
  const std::vector<std::string> segments = split_key_path(key_path);
  auto fail = [&](const std::string& problem) -> void {
    throw core::ConfigError(key_path, core::SourceLocation{origin, 0, 0}, problem);
  };
  if (segments.empty()) fail("empty key");
  // yaml-cpp nodes are handles: assigning a child node to a local rebinds the
  // handle, so walk with a vector of handles instead of reassigning.
  std::vector<YAML::Node> trail{root};
  std::string walked;
  for (std::size_t i = 0; i + 1 < segments.size(); ++i) {
    const std::string& segment = segments[i];
    YAML::Node current = trail.back();
    // A map whose keys are themselves dotted paths (a sweep grid:
    // sweep.grid.chain.ordering) takes the rest of the path as one key.
    if (current.IsMap()) {
      std::string rest = segment;
      for (std::size_t j = i + 1; j < segments.size(); ++j) rest += "." + segments[j];
      const YAML::Node dotted = current[rest];
      if (dotted.IsDefined() && !dotted.IsNull()) {
        current[rest] = value;
        return;
      }
    }
    YAML::Node next;
    if (current.IsSequence()) {
      if (segment.front() == '[') {
        const std::optional<std::size_t> parsed = list_index(segment);
        if (!parsed) fail(fmt::format("'{}' is not a list index like [0]", segment));
        const std::size_t index = *parsed;
        if (index >= current.size()) fail(fmt::format("'{}' has no element {}", walked, index));
        next = current[index];
      } else {
        bool found = false;
        std::vector<std::string> names;
        for (std::size_t j = 0; j < current.size(); ++j) {
          const std::string path = element_path("", current[j], j);
          names.push_back(path.substr(path.front() == '.' ? 1 : 0));
          if (names.back() == segment) {
            next = current[j];
            found = true;
            break;
          }
        }
        if (!found) {
          std::string listing;
          for (const auto& name : names) listing += (listing.empty() ? "" : ", ") + name;
          fail(fmt::format("'{}' has no element with id '{}'; ids: {}", walked, segment, listing));
        }
      }
    } else if (current.IsMap()) {
      next = current[segment];
      if (!next.IsDefined() || next.IsNull()) {
        // An optional section the file leaves out (--set
        // experiment.importance_sampling.shift_log_return.ETH=-0.1): created
        // as a map. A misspelt key fails validation like any unknown key,
        // with its nearest valid key, and names this override as its origin.
        current[segment] = YAML::Node(YAML::NodeType::Map);
        next = current[segment];
      }
    } else {
      fail(fmt::format("'{}' is not a map or list", walked));
    }
    walked += (walked.empty() || segment.front() == '[' ? "" : ".") + segment;
    trail.push_back(next);
  }
  YAML::Node parent = trail.back();
  const std::string& last = segments.back();
  if (last.front() == '[' && !list_index(last)) fail(fmt::format("'{}' is not a list index like [0]", last));
  if (parent.IsSequence() && last.front() == '[') {
    const std::size_t index = *list_index(last);
    if (index >= parent.size()) fail(fmt::format("'{}' has no element {}", walked, index));
    parent[index] = value;
  } else if (parent.IsMap() || parent.IsNull()) {
    parent[last] = value;
  } else {
    fail(fmt::format("'{}' is not a map", walked));
  }
}

std::pair<std::string, YAML::Node> parse_assignment(const std::string& assignment) {
  const std::size_t equals = assignment.find('=');
  if (equals == std::string::npos || equals == 0) {
    throw core::InputError(fmt::format(
        "--set '{}': expected KEY=VALUE, e.g. --set markets.pool.fee=0.0005", assignment));
  }
  YAML::Node value;
  try {
    value = YAML::Load(assignment.substr(equals + 1));
  } catch (const YAML::Exception& error) {
    throw core::InputError(fmt::format("--set '{}': value is not valid YAML: {}", assignment, error.msg));
  }
  return {assignment.substr(0, equals), value};
}

YAML::Node load_yaml_file(const std::string& path) {
  std::ifstream stream(path);
  if (!stream) throw core::InputError(fmt::format("{}: error: cannot open config file", path));
  try {
    return YAML::Load(stream);
  } catch (const YAML::Exception& error) {
    throw core::ConfigError("<yaml syntax>", core::SourceLocation{path, error.mark.line + 1, error.mark.column + 1},
                            error.msg);
  }
}

}  // namespace defisim::config
