// write_folder_atomically: a temp folder beside the target, filled, then renamed into place.
#include "modules/io/atomic_folder.h"

#include <fcntl.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <system_error>

namespace hanvit {
namespace fs = std::filesystem;
namespace {

// `dir` without a trailing separator, so that its name can take a suffix.
fs::path folder_path(const fs::path& dir) {
  fs::path path = dir.lexically_normal();
  return path.has_filename() ? path : path.parent_path();
}

fs::path sibling(const fs::path& folder, const std::string& suffix) {
  return folder.parent_path() / (folder.filename().string() + suffix + std::to_string(::getpid()));
}

// Makes the renames in `parent` durable.
void sync_folder(const fs::path& parent) {
  int fd = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// Removes a folder of ours when the write does not complete.
class TempFolder {
 public:
  explicit TempFolder(fs::path path) : path_(std::move(path)) {
    fs::remove_all(path_);
    fs::create_directory(path_);
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  ~TempFolder() {
    std::error_code ignored;
    if (!kept_) fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }
  void keep() { kept_ = true; }

 private:
  fs::path path_;
  bool kept_ = false;
};

}  // namespace

void check_output_folder(const fs::path& dir, bool overwrite) {
  const fs::path folder = folder_path(dir);
  if (!fs::exists(folder)) return;
  if (!fs::is_directory(folder)) throw std::runtime_error(folder.string() + ": exists and is not a folder");
  if (!overwrite && !fs::is_empty(folder))
    throw std::runtime_error(folder.string() + ": folder exists and is not empty (pass --overwrite to replace it)");
}

void write_folder_atomically(const fs::path& dir, bool overwrite, const std::function<void(const fs::path&)>& fill) {
  check_output_folder(dir, overwrite);
  const fs::path folder = folder_path(dir);
  if (!folder.parent_path().empty()) fs::create_directories(folder.parent_path());
  TempFolder temp(sibling(folder, ".tmp."));
  fill(temp.path());
  if (fs::exists(folder)) {
    const fs::path old = sibling(folder, ".old.");
    fs::rename(folder, old);
    try {
      fs::rename(temp.path(), folder);
    } catch (...) {
      fs::rename(old, folder);
      throw;
    }
    temp.keep();
    fs::remove_all(old);
  } else {
    fs::rename(temp.path(), folder);
    temp.keep();
  }
  sync_folder(folder.parent_path());
}

}  // namespace hanvit
