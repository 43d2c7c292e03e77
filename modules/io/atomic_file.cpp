// write_file_atomically: buffered POSIX writes to a temp file, fsync, rename, folder fsync.
#include "modules/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

namespace hanvit {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what, int error) {
  throw std::runtime_error("write '" + path + "': " + what + ": " + std::strerror(error));
}

// Owns the temp file: closes it and removes it unless the rename has happened.
class TempFile {
 public:
  TempFile(std::string target, std::string temp) : target_(std::move(target)), temp_(std::move(temp)) {
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd_ < 0) fail(target_, "cannot create '" + temp_ + "'", errno);
    buffer_.reserve(kBufferBytes);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!renamed_) ::unlink(temp_.c_str());
  }

  void append(const void* data, size_t size) {
    if (buffer_.size() + size > kBufferBytes) flush();
    if (size >= kBufferBytes) {
      write_all(data, size);
    } else {
      const auto* bytes = static_cast<const char*>(data);
      buffer_.insert(buffer_.end(), bytes, bytes + size);
    }
  }

  void commit() {
    flush();
    if (::fsync(fd_) != 0) fail(target_, "fsync of '" + temp_ + "'", errno);
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail(target_, "close of '" + temp_ + "'", errno);
    if (::rename(temp_.c_str(), target_.c_str()) != 0) fail(target_, "rename of '" + temp_ + "'", errno);
    renamed_ = true;
  }

 private:
  static constexpr size_t kBufferBytes = size_t{1} << 20;

  void flush() {
    write_all(buffer_.data(), buffer_.size());
    buffer_.clear();
  }

  void write_all(const void* data, size_t size) {
    const auto* bytes = static_cast<const char*>(data);
    while (size > 0) {
      ssize_t written = ::write(fd_, bytes, size);
      if (written < 0) {
        if (errno == EINTR) continue;
        fail(target_, "write to '" + temp_ + "'", errno);
      }
      bytes += written;
      size -= static_cast<size_t>(written);
    }
  }

  std::string target_;
  std::string temp_;
  int fd_ = -1;
  bool renamed_ = false;
  std::vector<char> buffer_;
};

void fsync_folder(const std::string& target) {
  std::filesystem::path folder = std::filesystem::path(target).parent_path();
  if (folder.empty()) folder = std::filesystem::current_path();
  int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail(target, "renamed, but cannot open folder '" + folder.string() + "' to fsync it", errno);
  if (::fsync(fd) != 0) {
    int error = errno;
    ::close(fd);
    fail(target, "renamed, but fsync of folder '" + folder.string() + "' failed", error);
  }
  ::close(fd);
}

}  // namespace

void write_file_atomically(const std::string& path, const std::function<void(const WriteBytes&)>& fill) {
  {
    TempFile temp(path, path + ".tmp." + std::to_string(::getpid()));
    fill([&temp](const void* data, size_t size) { temp.append(data, size); });
    temp.commit();
  }
  fsync_folder(path);
}

void write_text_atomically(const std::string& path, std::string_view text) {
  write_file_atomically(path, [&](const WriteBytes& write) { write(text.data(), text.size()); });
}

}  // namespace hanvit
