// What every CUDA kernel adapter needs: the device, its stream, the cuBLASLt handle with one
// cached workspace, the caching allocator and device properties.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <vector>

#include "modules/backend/cuda/device_allocator.h"

namespace hanvit {

struct CudaContext {
  int device = 0;
  cudaStream_t stream = nullptr;
  cublasLtHandle_t cublaslt = nullptr;
  void* workspace = nullptr;  // cuBLASLt workspace, kWorkspaceBytes
  static constexpr size_t kWorkspaceBytes = 32u << 20;
  DeviceAllocator* allocator = nullptr;
  int multiprocessors = 0;
  int compute_capability = 0;  // 90 for sm_90
  size_t shared_memory_per_block_optin = 0;
  // f32 matmuls may use TF32 tensor cores (about 1e-3 relative error instead of 1e-6).
  bool allow_tf32 = false;

  // Device scratch for one kernel's temporaries, valid until the next scratch() call (all work
  // is ordered on one stream). Outgrown buffers are kept until the context goes, so work
  // captured into a CUDA graph never points at freed memory.
  void* scratch(size_t bytes);
  std::vector<void*> scratch_buffers;  // the last is the current one
  size_t scratch_bytes = 0;
};

}  // namespace hanvit
