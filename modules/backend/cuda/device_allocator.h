// A caching allocator for one CUDA device: freed blocks are kept in size-class free lists and
// reused (all work runs on one stream, so a block is reusable as soon as it is freed in stream
// order); cudaMalloc is called only when no cached block fits.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>

namespace hanvit {

struct DeviceMemoryStats {
  size_t allocated_bytes = 0;       // in use by tensors now
  size_t peak_allocated_bytes = 0;  // the most ever in use at once
  size_t reserved_bytes = 0;        // held from cudaMalloc (in use + cached)
  size_t cuda_malloc_calls = 0;
  size_t cache_hits = 0;
};

class DeviceAllocator {
 public:
  explicit DeviceAllocator(int device) : device_(device) {}
  DeviceAllocator(const DeviceAllocator&) = delete;
  DeviceAllocator& operator=(const DeviceAllocator&) = delete;
  ~DeviceAllocator();

  // 256-byte aligned device memory of at least `bytes` (0 gives a valid 256-byte block).
  // Out of memory: frees the cache and retries once, then throws naming the size.
  void* allocate(size_t bytes);
  void release(void* ptr);
  // Returns cached blocks to the driver.
  void empty_cache();
  DeviceMemoryStats stats() const;
  void reset_peak();

  // Size classes: 512-byte steps up to 1 MiB, then 2 MiB steps.
  static size_t round_size(size_t bytes);

 private:
  void free_cached_locked();

  int device_;
  mutable std::mutex mutex_;
  std::multimap<size_t, void*> cached_;  // rounded size -> free block
  std::map<void*, size_t> live_;         // block -> rounded size
  DeviceMemoryStats stats_;
};

}  // namespace hanvit
