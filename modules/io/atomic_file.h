// Atomic file replacement: fill a temp file beside the target, fsync, rename over it, fsync the folder.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace hanvit {

// Appends bytes to the file being written; throws std::runtime_error on an OS error.
using WriteBytes = std::function<void(const void* data, size_t size)>;

// Writes `path` + ".tmp.<pid>" through `fill`, fsyncs it, renames it over `path` and fsyncs the
// folder. When `fill` throws or any step fails, the temp file is removed, `path` keeps its old
// contents (or stays absent) and the exception propagates.
void write_file_atomically(const std::string& path, const std::function<void(const WriteBytes&)>& fill);

// write_file_atomically with `text` as the whole contents.
void write_text_atomically(const std::string& path, std::string_view text);

}  // namespace hanvit
