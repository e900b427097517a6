#pragma once
// Making a written file durable before it is exposed: the results file
// before its rename, the resume journal's batches every checkpoint.
#include <filesystem>

namespace defisim::core {

// fsync of a closed file (or, with directory = true, of a directory, which
// makes renames and new entries in it durable). Best effort: the data was
// already written and closed, so a failure to open it only loses durability
// against a machine crash.
void fsync_path(const std::filesystem::path& path, bool directory = false);

}  // namespace defisim::core
