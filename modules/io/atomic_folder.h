// Atomic folder replacement: fill a temp folder beside the target, then rename it into place.
#pragma once

#include <filesystem>
#include <functional>

namespace hanvit {

// Throws std::runtime_error naming `dir` when it exists and is not an empty folder, unless
// `overwrite` (a file in its place is refused either way).
void check_output_folder(const std::filesystem::path& dir, bool overwrite);

// check_output_folder, then `fill(temp)` writes the folder's files into DIR.tmp.<pid> (each file
// written with write_file_atomically, so fsynced), which is renamed to DIR; an old DIR is moved
// aside first and removed only after the rename. On any failure DIR keeps its old contents (or
// stays absent), the temp folder is removed and the exception propagates.
void write_folder_atomically(const std::filesystem::path& dir, bool overwrite,
                             const std::function<void(const std::filesystem::path& temp)>& fill);

}  // namespace hanvit
