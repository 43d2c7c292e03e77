// Refcounted bytes on a device: owned allocations or borrowed memory kept alive by an owner.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "modules/tensor/device.h"

namespace hanvit {

class Storage {
 public:
  // Allocates `bytes` on the host, 64-byte aligned, zero-filled.
  static std::shared_ptr<Storage> allocate_host(size_t bytes);
  // Wraps memory owned by someone else (an mmap, a device allocator); `release` runs when the
  // last reference goes.
  static std::shared_ptr<Storage> wrap(void* data, size_t bytes, Device device,
                                       std::function<void()> release);

  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  Storage(void* data, size_t bytes, Device device, std::function<void()> release)
      : data_(data), bytes_(bytes), device_(device), release_(std::move(release)) {}

  void* data_;
  size_t bytes_;
  Device device_;
  std::function<void()> release_;
};

}  // namespace hanvit
