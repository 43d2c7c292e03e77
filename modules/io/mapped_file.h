// A whole file memory-mapped read-only; the mapping lives as long as the object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace hanvit {

class MappedFile {
 public:
  // Maps the regular file at `path`; throws std::runtime_error naming the path and the OS error.
  static std::shared_ptr<const MappedFile> open(const std::string& path);

  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const std::string& path() const { return path_; }
  // Null for an empty file. The pages are mapped PROT_READ: writing through them faults.
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  MappedFile(std::string path, const uint8_t* data, size_t size) : path_(std::move(path)), data_(data), size_(size) {}

  std::string path_;
  const uint8_t* data_;
  size_t size_;
};

}  // namespace hanvit
