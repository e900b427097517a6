#include "framework/engine/checkpoint.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "framework/core/errors.hpp"
#include "framework/core/fsync.hpp"

namespace defisim::engine {

namespace fs = std::filesystem;

namespace {

constexpr char batch_magic[8] = {'D', 'F', 'S', 'M', 'B', 'A', 'T', '1'};
constexpr const char* identity_file = "run.txt";

struct BatchHeader {
  char magic[8];
  std::uint64_t scenario;
  std::uint64_t first;
  std::uint64_t rows;
  std::uint64_t outcome_values;
  std::uint64_t series_values;
};

// FNV-1a, 64 bit: detects a torn or damaged file (not an adversary).
std::uint64_t fnv1a(const void* data, std::size_t size, std::uint64_t hash = 14695981039346656037ull) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 1099511628211ull;
  }
  return hash;
}

std::string batch_name(std::size_t scenario, std::uint64_t first) { return fmt::format("s{}-{}.batch", scenario, first); }

std::string read_text(const fs::path& path) {
  std::ifstream stream(path, std::ios::binary);
  std::stringstream text;
  text << stream.rdbuf();
  return text.str();
}

void write_all(int fd, const void* data, std::size_t size, const fs::path& path) {
  const auto* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t written = ::write(fd, bytes, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      throw core::IoError(fmt::format("cannot write '{}': {}", path.string(), std::strerror(errno)));
    }
    bytes += written;
    size -= static_cast<std::size_t>(written);
  }
}

}  // namespace

fs::path Journal::directory_of(const fs::path& results_path) {
  return fs::path(results_path.string() + ".resume");
}

Journal::Journal(fs::path results_path, const std::string& identity, bool resume, bool overwrite)
    : directory_(directory_of(results_path)) {
  std::error_code error;
  const bool exists = fs::exists(directory_, error);
  if (!resume) {
    if (exists && !overwrite) {
      throw core::InputError(fmt::format(
          "{} holds an interrupted run: continue it with --resume, or start over with --force", directory_.string()));
    }
    if (exists) fs::remove_all(directory_, error);
    fs::create_directories(directory_, error);
    if (error) {
      throw core::IoError(fmt::format("cannot create '{}': {}", directory_.string(), error.message()));
    }
    std::ofstream out(directory_ / identity_file, std::ios::binary);
    out << identity;
    if (!out) throw core::IoError(fmt::format("cannot write '{}'", (directory_ / identity_file).string()));
    return;
  }
  if (!exists) {
    throw core::InputError(fmt::format("--resume: nothing to resume, {} does not exist (the run was never "
                                       "interrupted, or it completed)",
                                       directory_.string()));
  }
  if (read_text(directory_ / identity_file) != identity) {
    throw core::InputError(fmt::format(
        "--resume: {} belongs to a different run (another config, --set, --paths, --seed or --shard); resume with "
        "exactly the same command, or start over with --force",
        directory_.string()));
  }
  for (const fs::directory_entry& entry : fs::directory_iterator(directory_)) {
    const std::string name = entry.path().filename().string();
    unsigned long long scenario = 0, first = 0;
    char tail = 0;
    // Temporary files of a write cut short end in .tmp and do not match.
    if (std::sscanf(name.c_str(), "s%llu-%llu.batc%c", &scenario, &first, &tail) == 3 && tail == 'h' &&
        name == batch_name(scenario, first)) {
      saved_.emplace(std::pair{static_cast<std::size_t>(scenario), static_cast<std::uint64_t>(first)}, entry.path());
    }
  }
}

std::size_t Journal::saved_batches() const {
  const std::lock_guard lock(mutex_);
  return saved_.size();
}

bool Journal::load(std::size_t scenario, std::uint64_t first, std::uint64_t rows, std::span<double> outcomes,
                   std::span<double> series) const {
  fs::path path;
  {
    const std::lock_guard lock(mutex_);
    const auto it = saved_.find({scenario, first});
    if (it == saved_.end()) return false;
    path = it->second;
  }
  std::ifstream in(path, std::ios::binary);
  BatchHeader header{};
  in.read(reinterpret_cast<char*>(&header), sizeof header);
  const bool shape = in && std::memcmp(header.magic, batch_magic, sizeof batch_magic) == 0 &&
                     header.scenario == scenario && header.first == first && header.rows == rows &&
                     header.outcome_values == outcomes.size() && header.series_values == series.size();
  if (!shape) {
    throw core::IoError(fmt::format("{} does not hold rows {} to {} of scenario {} as this run lays them out; "
                                    "start over with --force",
                                    path.string(), first, first + rows, scenario));
  }
  in.read(reinterpret_cast<char*>(outcomes.data()), static_cast<std::streamsize>(outcomes.size_bytes()));
  in.read(reinterpret_cast<char*>(series.data()), static_cast<std::streamsize>(series.size_bytes()));
  std::uint64_t stored = 0;
  in.read(reinterpret_cast<char*>(&stored), sizeof stored);
  std::uint64_t hash = fnv1a(&header, sizeof header);
  hash = fnv1a(outcomes.data(), outcomes.size_bytes(), hash);
  hash = fnv1a(series.data(), series.size_bytes(), hash);
  if (!in || stored != hash) {
    throw core::IoError(fmt::format("{} is damaged (checksum); delete it to recompute its rows", path.string()));
  }
  return true;
}

void Journal::save(std::size_t scenario, std::uint64_t first, std::uint64_t rows, std::span<const double> outcomes,
                   std::span<const double> series) {
  BatchHeader header{};
  std::memcpy(header.magic, batch_magic, sizeof batch_magic);
  header.scenario = scenario;
  header.first = first;
  header.rows = rows;
  header.outcome_values = outcomes.size();
  header.series_values = series.size();
  std::uint64_t hash = fnv1a(&header, sizeof header);
  hash = fnv1a(outcomes.data(), outcomes.size_bytes(), hash);
  hash = fnv1a(series.data(), series.size_bytes(), hash);
  const fs::path final_path = directory_ / batch_name(scenario, first);
  const fs::path temporary = fs::path(final_path.string() + ".tmp");
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw core::IoError(fmt::format("cannot create '{}': {}", temporary.string(), std::strerror(errno)));
  try {
    write_all(fd, &header, sizeof header, temporary);
    write_all(fd, outcomes.data(), outcomes.size_bytes(), temporary);
    write_all(fd, series.data(), series.size_bytes(), temporary);
    write_all(fd, &hash, sizeof hash, temporary);
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) throw core::IoError(fmt::format("cannot write '{}': {}", temporary.string(), std::strerror(errno)));
  std::error_code error;
  fs::rename(temporary, final_path, error);
  if (error) throw core::IoError(fmt::format("cannot rename '{}': {}", temporary.string(), error.message()));
  const std::lock_guard lock(mutex_);
  saved_[{scenario, first}] = final_path;
}

void Journal::sync() const {
  std::vector<fs::path> paths;
  {
    const std::lock_guard lock(mutex_);
    for (const auto& [key, path] : saved_) paths.push_back(path);
  }
  for (const fs::path& path : paths) core::fsync_path(path);
  core::fsync_path(directory_, true);
}

void Journal::remove() {
  std::error_code ignored;
  fs::remove_all(directory_, ignored);
  const std::lock_guard lock(mutex_);
  saved_.clear();
}

}  // namespace defisim::engine
