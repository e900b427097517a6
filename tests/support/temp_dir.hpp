// A unique scratch directory for a test, removed with its contents at scope
// exit, and reading a whole file back.
#pragma once

#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <system_error>

namespace defisim::test_support {

// A fresh directory under the system temp directory (unique per process, per
// instance and per run), removed on destruction.
struct TempDir {
  const std::filesystem::path path;

  TempDir() : path(unique_path()) { std::filesystem::create_directories(path); }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // The path of `name` inside the directory.
  std::string file(const std::string& name) const { return (path / name).string(); }

  // Writes `text` to `name` inside the directory and returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream stream(path / name, std::ios::binary);
    stream << text;
    REQUIRE(stream.good());
    return file(name);
  }

 private:
  static std::filesystem::path unique_path() {
    static std::atomic<int> counter{0};
    std::random_device device;
    return std::filesystem::temp_directory_path() /
           ("defisim_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
            std::to_string(device()));
  }
};

// The whole content of `path` ("" if it cannot be read).
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream stream(path, std::ios::binary);
  std::stringstream buffer;
  buffer << stream.rdbuf();
  return buffer.str();
}

}  // namespace defisim::test_support
