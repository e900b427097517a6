#pragma once
// What makes an interrupted run resumable (`defisim run --resume`): a
// journal directory NAME.resume/ next to the results file NAME, holding
//   run.txt                 what the run is: the resolved config and the
//                           shard; a resume must match it exactly
//   s<k>-<first>.batch      one completed batch: rows [first, first + rows)
//                           of scenario k, every outcome and series value
//                           (the runner's row layout), with a header and a
//                           checksum
// A batch file is written under a temporary name and renamed, so it is
// either complete or absent: a run killed at any instant (SIGKILL included)
// leaves only whole batches. The page cache keeps them when the process
// dies; sync() makes them durable against a machine crash, which the
// runner calls every checkpoint interval.
//
// Paths are keyed by (seed, path): a batch read back is bit-identical to
// the batch recomputed, so a resumed run writes the same file as an
// uninterrupted one. The journal is removed when the results file is
// committed.
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <utility>

namespace defisim::engine {

class Journal {
 public:
  // The journal of results file `results_path`: NAME.resume.
  static std::filesystem::path directory_of(const std::filesystem::path& results_path);

  // Starts a journal for a run described by `identity` (the resolved config
  // and the shard). resume = false: the directory must not exist unless
  // `overwrite` (then it is emptied). resume = true: it must exist and hold
  // the same identity; its complete batches are indexed. Throws
  // core::InputError (with what to do) or core::IoError.
  Journal(std::filesystem::path results_path, const std::string& identity, bool resume, bool overwrite);

  std::size_t saved_batches() const;
  // Whether rows [first, first + rows) of `scenario` are saved with this
  // shape; if so, reads them into the spans (sizes rows x outcome values and
  // rows x series values). Throws core::IoError on a damaged file.
  bool load(std::size_t scenario, std::uint64_t first, std::uint64_t rows, std::span<double> outcomes,
            std::span<double> series) const;
  // Saves a completed batch (atomically: temporary file, then rename).
  void save(std::size_t scenario, std::uint64_t first, std::uint64_t rows, std::span<const double> outcomes,
            std::span<const double> series);
  // fsync of the saved batches and the directory.
  void sync() const;
  // Deletes the journal (after the results file is committed).
  void remove();
  const std::filesystem::path& directory() const { return directory_; }

 private:
  std::filesystem::path directory_;
  // The runner loads on its thread while the writer thread saves.
  mutable std::mutex mutex_;
  std::map<std::pair<std::size_t, std::uint64_t>, std::filesystem::path> saved_;  // (scenario, first) -> file
};

}  // namespace defisim::engine
