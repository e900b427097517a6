// docs/CONFIG.md is generated from the KeySpec tables; these tests keep the
// file, the tables and the shipped config in agreement.
#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "framework/engine/config_loader.hpp"

namespace {

using defisim::config::KeySpec;
using defisim::engine::ConfigSection;

const std::string source_dir = DEFISIM_SOURCE_DIR;
const std::string regenerate_hint =
    "docs/CONFIG.md is generated from the KeySpec tables and must not be edited by hand. Regenerate it "
    "from the repository root with\n    build/<your build dir>/bin/defisim config-reference > docs/CONFIG.md\n"
    "(for this build: " DEFISIM_BINARY " config-reference > " DEFISIM_SOURCE_DIR "/docs/CONFIG.md)\n"
    "and commit the result.";

bool read_file(const std::string& path, std::string& text) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream) return false;
  std::stringstream buffer;
  buffer << stream.rdbuf();
  text = buffer.str();
  return true;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream stream(text);
  std::string line;
  while (std::getline(stream, line)) lines.push_back(line);
  return lines;
}

// The markdown split into sections: heading path -> the text below it.
std::map<std::string, std::string> markdown_sections(const std::string& markdown, std::vector<std::string>* order) {
  std::map<std::string, std::string> sections;
  const std::string marker = "\n## `";
  std::size_t at = markdown.find(marker);
  while (at != std::string::npos) {
    const std::size_t path_start = at + marker.size();
    const std::size_t path_end = markdown.find("`\n", path_start);
    REQUIRE(path_end != std::string::npos);
    const std::string path = markdown.substr(path_start, path_end - path_start);
    const std::size_t next = markdown.find(marker, path_end);
    const std::string body =
        markdown.substr(path_end + 2, next == std::string::npos ? std::string::npos : next - path_end - 2);
    CHECK(sections.count(path) == 0);  // each section once
    sections[path] = body;
    if (order) order->push_back(path);
    at = next;
  }
  return sections;
}

std::string expected_default(const KeySpec& key) {
  if (key.required()) return "**required**";
  if (key.default_text.front() == '(') return std::string(key.default_text);
  std::string text(1, '`');
  text.append(key.default_text);
  text.push_back('`');
  return text;
}

}  // namespace

TEST_CASE("config reference: docs/CONFIG.md is the output of config-reference", "[cli][docs]") {
  const std::string generated = defisim::engine::config_reference_markdown();
  std::string file;
  if (!read_file(source_dir + "/docs/CONFIG.md", file)) {
    FAIL("docs/CONFIG.md is missing.\n" << regenerate_hint);
  }
  if (file == generated) {
    SUCCEED();
    return;
  }
  // Point at the first difference.
  const std::vector<std::string> want = lines_of(generated), have = lines_of(file);
  std::size_t line = 0;
  while (line < want.size() && line < have.size() && want[line] == have[line]) ++line;
  FAIL("docs/CONFIG.md differs from `defisim config-reference` at line "
       << line + 1 << ":\n  file: " << (line < have.size() ? have[line] : std::string("<end of file>"))
       << "\n  code: " << (line < want.size() ? want[line] : std::string("<end of output>")) << "\n"
       << regenerate_hint);
}

TEST_CASE("config reference: the binary prints exactly config_reference_markdown()", "[cli][docs]") {
  const std::string command = std::string("'") + DEFISIM_BINARY + "' config-reference";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  REQUIRE(pipe);
  std::string output;
  char buffer[4096];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, pipe.get())) > 0) output.append(buffer, got);
  const int status = ::pclose(pipe.release());
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(output == defisim::engine::config_reference_markdown());
}

TEST_CASE("config reference: every key of every section is in the markdown", "[cli][docs]") {
  const std::string markdown = defisim::engine::config_reference_markdown();
  std::vector<std::string> order;
  const auto sections = markdown_sections(markdown, &order);
  const std::vector<ConfigSection> specs = defisim::engine::config_sections();
  REQUIRE_FALSE(specs.empty());
  CHECK(sections.size() == specs.size());

  // The sections the loader reads and the agent registry adds are all there.
  for (const char* path : {"(top level)", "experiment", "experiment.record", "chain", "price", "price.jumps",
                           "price.replay", "markets[] (type: cpmm)", "sweep", "agents[] (every type)",
                           "agents[] (type: arbitrageur)", "agents[] (type: noise_trader)", "agents[] (type: lp)"}) {
    INFO(path);
    CHECK(sections.count(path) == 1);
  }

  for (std::size_t s = 0; s < specs.size(); ++s) {
    const ConfigSection& section = specs[s];
    INFO("section " << section.path);
    REQUIRE(sections.count(section.path) == 1);
    CHECK(order[s] == section.path);  // in config_sections() order
    const std::string& body = sections.at(section.path);
    CHECK_THAT(body, Catch::Matchers::Contains(section.description));
    CHECK_FALSE(section.keys.empty());
    std::size_t rows = 0;
    for (const std::string& line : lines_of(body)) {
      if (line.rfind("| `", 0) == 0) ++rows;
    }
    CHECK(rows == section.keys.size());  // no stale rows
    for (std::size_t k = 0; k < section.keys.size(); ++k) {
      const KeySpec& key = section.keys[k];
      INFO("key " << key.name);
      CHECK_FALSE(key.name.empty());
      CHECK_FALSE(key.type.empty());
      CHECK_FALSE(key.description.empty());
      for (std::size_t other = 0; other < k; ++other) CHECK(section.keys[other].name != key.name);
      const std::string row = "| `" + std::string(key.name) + "` | " + std::string(key.type) + " | " +
                              expected_default(key) + " | " + std::string(key.description) + " |\n";
      CHECK_THAT(body, Catch::Matchers::Contains(row));
    }
  }
}

namespace {

const ConfigSection* find_section(const std::vector<ConfigSection>& specs, const std::string& path) {
  for (const ConfigSection& section : specs) {
    if (section.path == path) return &section;
  }
  return nullptr;
}

// The section documenting the map under `key` of a map documented by
// `parents`: "experiment" + "record" -> "experiment.record"; for list
// elements "agents[] (type: noise_trader)" + "size_numeraire" ->
// "agents[] (type: noise_trader).size_numeraire", "agents[].size_numeraire"
// or "agents[].size_numeraire (type: noise_trader)".
const ConfigSection* sub_section(const std::vector<ConfigSection>& specs,
                                 const std::vector<const ConfigSection*>& parents, const std::string& key) {
  for (const ConfigSection* parent : parents) {
    if (parent->path == "(top level)") {
      if (const ConfigSection* found = find_section(specs, key)) return found;
      continue;
    }
    std::vector<std::string> candidates{parent->path + "." + key};
    const std::size_t type_at = parent->path.find(" (");
    if (type_at != std::string::npos) {
      const std::string base = parent->path.substr(0, type_at);
      candidates.push_back(base + "." + key);
      candidates.push_back(base + "." + key + parent->path.substr(type_at));
    }
    for (const std::string& candidate : candidates) {
      if (const ConfigSection* found = find_section(specs, candidate)) return found;
    }
  }
  return nullptr;
}

const KeySpec* find_key(const std::vector<const ConfigSection*>& sections, const std::string& name) {
  for (const ConfigSection* section : sections) {
    for (const KeySpec& key : section->keys) {
      if (key.name == name) return &key;
    }
  }
  return nullptr;
}

// Walks a config map documented by `sections`, collecting every key (as a
// path) that no section documents.
void collect_undocumented(const YAML::Node& map, const std::vector<const ConfigSection*>& sections,
                          const std::vector<ConfigSection>& specs, const std::string& path,
                          std::vector<std::string>& undocumented) {
  for (const auto& entry : map) {
    const std::string name = entry.first.as<std::string>();
    const std::string key_path = path.empty() ? name : path + "." + name;
    const KeySpec* key = find_key(sections, name);
    if (key == nullptr) {
      undocumented.push_back(key_path);
      continue;
    }
    const YAML::Node& value = entry.second;
    const std::string type(key->type);
    if (value.IsMap() && type == "map") {
      // A map of named keys: they must be documented in their own section.
      // ("map asset -> number" and the like have data, not keys.)
      const ConfigSection* section = sub_section(specs, sections, name);
      if (section == nullptr) {
        for (const auto& child : value) undocumented.push_back(key_path + "." + child.first.as<std::string>());
      } else {
        collect_undocumented(value, {section}, specs, key_path, undocumented);
      }
    } else if (value.IsSequence() && (name == "markets" || name == "agents") && path.empty()) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        const YAML::Node element = value[i];
        const std::string element_path = key_path + "[" + std::to_string(i) + "]";
        REQUIRE(element.IsMap());
        const std::string element_type = element["type"].as<std::string>();
        std::vector<const ConfigSection*> element_sections;
        if (name == "agents") {
          if (const ConfigSection* common = find_section(specs, "agents[] (every type)")) {
            element_sections.push_back(common);
          }
        }
        if (const ConfigSection* typed = find_section(specs, name + "[] (type: " + element_type + ")")) {
          element_sections.push_back(typed);
        }
        if (element_sections.empty()) {
          undocumented.push_back(element_path + " (no section for type " + element_type + ")");
          continue;
        }
        collect_undocumented(element, element_sections, specs, element_path, undocumented);
      }
    }
  }
}

}  // namespace

// Every key the quickstart uses has a row in the reference, in the section
// for where it is used (nested maps included: the noise_trader's
// size_numeraire keys are documented through AgentType::subsections).
TEST_CASE("config reference: every key used in configs/quickstart.yaml is documented", "[cli][docs]") {
  const YAML::Node root = YAML::LoadFile(source_dir + "/configs/quickstart.yaml");
  REQUIRE(root.IsMap());
  const std::vector<ConfigSection> specs = defisim::engine::config_sections();
  const ConfigSection* top = find_section(specs, "(top level)");
  REQUIRE(top != nullptr);
  std::vector<std::string> undocumented;
  collect_undocumented(root, {top}, specs, "", undocumented);
  std::string listing;
  for (const std::string& key : undocumented) listing += "\n  " + key;
  INFO("keys of configs/quickstart.yaml without a row in docs/CONFIG.md:" << listing);
  CHECK(undocumented.empty());

  // And the quickstart loads (the keys are not only documented but valid).
  CHECK_NOTHROW(defisim::engine::load_experiment(source_dir + "/configs/quickstart.yaml"));
}

TEST_CASE("config reference: the checker itself finds an undocumented key", "[cli][docs]") {
  const YAML::Node root = YAML::Load(
      "experiment: {name: x, record: {every: 5, evry: 6}, bogus: 1}\n"
      "markets:\n"
      "  - {id: pool, type: cpmm, feez: 1}\n"
      "agents:\n"
      "  - {type: lp, id: lp, market: pool, extra: 2}\n"
      "price: {initial: {ETH: 1}}\n");
  const std::vector<ConfigSection> specs = defisim::engine::config_sections();
  std::vector<std::string> undocumented;
  collect_undocumented(root, {find_section(specs, "(top level)")}, specs, "", undocumented);
  CHECK(undocumented == std::vector<std::string>{"experiment.record.evry", "experiment.bogus", "markets[0].feez",
                                                 "agents[0].extra"});
}
