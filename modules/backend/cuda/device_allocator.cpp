// Caching device allocator: size classes, reuse of freed blocks, statistics.
#include "modules/backend/cuda/device_allocator.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/cuda/cuda_check.h"

namespace hanvit {

size_t DeviceAllocator::round_size(size_t bytes) {
  constexpr size_t kSmallStep = 512, kLargeStep = 2u << 20, kSmallLimit = 1u << 20;
  if (bytes == 0) bytes = 1;
  if (bytes <= kSmallLimit) return (bytes + kSmallStep - 1) / kSmallStep * kSmallStep;
  return (bytes + kLargeStep - 1) / kLargeStep * kLargeStep;
}

DeviceAllocator::~DeviceAllocator() {
  std::lock_guard lock(mutex_);
  cudaSetDevice(device_);
  free_cached_locked();
  // Blocks still live belong to tensors that outlive the allocator (process exit): the driver
  // reclaims them.
}

void* DeviceAllocator::allocate(size_t bytes) {
  const size_t rounded = round_size(bytes);
  std::lock_guard lock(mutex_);
  void* ptr = nullptr;
  // Best fit among cached blocks of this size class or up to 2x larger.
  auto it = cached_.lower_bound(rounded);
  if (it != cached_.end() && it->first <= rounded * 2) {
    ptr = it->second;
    live_[ptr] = it->first;
    stats_.allocated_bytes += it->first;
    cached_.erase(it);
    ++stats_.cache_hits;
  } else {
    HANVIT_CUDA_CHECK(cudaSetDevice(device_));
    cudaError_t status = cudaMalloc(&ptr, rounded);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // clear the error this failed call recorded
      free_cached_locked();
      status = cudaMalloc(&ptr, rounded);
    }
    if (status != cudaSuccess) {
      cudaGetLastError();
      size_t free_bytes = 0, total_bytes = 0;
      cudaMemGetInfo(&free_bytes, &total_bytes);
      throw std::runtime_error("CUDA out of memory on cuda:" + std::to_string(device_) + ": asked for " +
                               std::to_string(rounded) + " bytes with " + std::to_string(free_bytes) + " of " +
                               std::to_string(total_bytes) + " free (" + cudaGetErrorString(status) +
                               "); reduce the batch size or sequence length");
    }
    live_[ptr] = rounded;
    stats_.allocated_bytes += rounded;
    stats_.reserved_bytes += rounded;
    ++stats_.cuda_malloc_calls;
  }
  stats_.peak_allocated_bytes = std::max(stats_.peak_allocated_bytes, stats_.allocated_bytes);
  return ptr;
}

void DeviceAllocator::release(void* ptr) {
  if (!ptr) return;
  std::lock_guard lock(mutex_);
  auto it = live_.find(ptr);
  if (it == live_.end()) throw std::logic_error("DeviceAllocator::release of a block it did not allocate");
  stats_.allocated_bytes -= it->second;
  cached_.emplace(it->second, ptr);
  live_.erase(it);
}

void DeviceAllocator::empty_cache() {
  std::lock_guard lock(mutex_);
  HANVIT_CUDA_CHECK(cudaSetDevice(device_));
  // Pending work may still use cached blocks' old contents only through freed tensors, which
  // nothing reads again; cudaFree synchronises the device before returning memory.
  free_cached_locked();
}

void DeviceAllocator::free_cached_locked() {
  for (auto& [size, ptr] : cached_) {
    cudaFree(ptr);
    stats_.reserved_bytes -= size;
  }
  cached_.clear();
}

DeviceMemoryStats DeviceAllocator::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void DeviceAllocator::reset_peak() {
  std::lock_guard lock(mutex_);
  stats_.peak_allocated_bytes = stats_.allocated_bytes;
}

}  // namespace hanvit
