#pragma once
// A validating view of a YAML config.
//
// Every read names what it reads: a ConfigNode knows its key path (as the user
// writes it in --set and sweeps: "markets.pool.fee", "agents.arb.gas_used",
// "markets[0]" for a list element without an id), the file, line and column
// it came from, or the --set/sweep entry that overrode it. Every problem
// becomes a core::ConfigError naming all of that and what would be valid.
//
// Maps are checked against a table of KeySpecs: an unknown key is an error
// that suggests the nearest valid key; a missing required key is an error at
// the enclosing map. The same tables generate docs/CONFIG.md
// (`defisim config-reference`), so the documentation cannot drift.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "framework/core/errors.hpp"

namespace defisim::config {

struct KeySpec {
  std::string_view name;
  std::string_view type;          // as documented: "number", "integer", "string", "list", ...
  std::string_view default_text;  // empty: required
  std::string_view description;   // units and valid range included
  bool required() const { return default_text.empty(); }
};

// Where values came from that are not in the file: --set and sweep overrides,
// keyed by the key path they replaced.
struct Origins {
  std::string file;
  std::map<std::string, std::string> overrides;  // key path -> "--set k=v" / "sweep.grid.k"
};

class ConfigNode {
 public:
  ConfigNode(YAML::Node node, std::string key_path, std::shared_ptr<const Origins> origins);

  const std::string& key_path() const { return key_path_; }
  core::SourceLocation location() const;
  [[noreturn]] void fail(const std::string& problem) const;

  bool is_map() const { return node_.IsMap(); }
  bool is_sequence() const { return node_.IsSequence(); }
  bool is_scalar() const { return node_.IsScalar(); }
  const YAML::Node& yaml() const { return node_; }

  // Map access. check_keys: the node must be a map; every key must be in
  // `allowed` (else: unknown key, did you mean ...), every required key present.
  void check_keys(std::span<const KeySpec> allowed) const;
  bool has(std::string_view key) const;
  ConfigNode child(std::string_view key) const;  // fails "missing required key" if absent
  std::vector<std::pair<std::string, ConfigNode>> entries() const;  // a map's entries, in order

  // Sequence access.
  std::size_t size() const;
  ConfigNode element(std::size_t index) const;
  std::vector<ConfigNode> elements() const;  // fails unless a sequence

  // Scalars, with the type named in the error.
  double as_number() const;  // finite
  std::int64_t as_integer() const;
  std::string as_string() const;
  bool as_bool() const;

  // Keyed reads with defaults (the default must equal the KeySpec's default_text).
  double number(std::string_view key, double fallback) const;
  std::int64_t integer(std::string_view key, std::int64_t fallback) const;
  std::string string(std::string_view key, std::string_view fallback) const;
  bool boolean(std::string_view key, bool fallback) const;

  // Range checks that fail with the valid range in the message.
  double in_range(double value, double min, bool min_inclusive, double max, bool max_inclusive) const;
  std::int64_t at_least(std::int64_t value, std::int64_t min) const;
  // Keyed reads with a default and a range check in one step.
  double number_in(std::string_view key, double fallback, double min, bool min_inclusive,
                   double max, bool max_inclusive) const;
  std::int64_t integer_at_least(std::string_view key, std::int64_t fallback, std::int64_t min) const;
  // ... and at most `max` ("at most <max>" otherwise): capacities and counts.
  std::int64_t integer_in(std::string_view key, std::int64_t fallback, std::int64_t min, std::int64_t max) const;
  // One of a fixed set of strings.
  std::string one_of(std::string value, std::span<const std::string_view> choices) const;

 private:
  YAML::Node node_;
  std::string key_path_;
  std::shared_ptr<const Origins> origins_;
};

// The element part of a child key path: ".id" when the element is a map with
// an "id" (or, for agents, a "type" that serves as default id), else "[i]".
std::string element_path(const std::string& parent, const YAML::Node& element, std::size_t index);

// Levenshtein distance, and the nearest candidate within a useful distance
// (empty if none is close).
std::size_t edit_distance(std::string_view a, std::string_view b);
std::string nearest(std::string_view word, std::span<const std::string_view> candidates);

// The index of `name` in `names`, or fail at `where` with "unknown <what>
// 'name' (did you mean '...'?); known: a, b, ...". `where` is the node to
// blame: the name's own scalar, or the value of a map keyed by it.
std::size_t resolve_name(const ConfigNode& where, const std::string& name, std::span<const std::string> names,
                         std::string_view what);

// Applies "a.b.c = value" to a YAML tree. Segments address map keys, list
// elements by their id (or type) or by [index]. The value is parsed as YAML.
// A map key missing on the way is created as a map (validation then judges
// it like any key); throws ConfigError (key = the override's key) if a list
// element does not exist or the path runs through a scalar.
void apply_override(YAML::Node& root, const std::string& key_path, const YAML::Node& value,
                    const std::string& origin);

// "k=v" -> (k, parsed v); fails with an InputError naming the argument.
std::pair<std::string, YAML::Node> parse_assignment(const std::string& assignment);

// Loads a YAML file; a syntax error is a ConfigError with its line and column;
// a missing file an InputError.
YAML::Node load_yaml_file(const std::string& path);

}  // namespace defisim::config
