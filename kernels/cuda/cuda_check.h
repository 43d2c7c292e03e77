// Error checks for CUDA runtime and cuBLAS calls: a failure throws with the call, file and line.
#pragma once

#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

namespace hanvit::cuda {

[[noreturn]] inline void throw_cuda_error(cudaError_t status, const char* what, const char* file, int line) {
  throw std::runtime_error(std::string("CUDA error ") + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) +
                           ") in " + what + " at " + file + ":" + std::to_string(line));
}

}  // namespace hanvit::cuda

#define HANVIT_CUDA_CHECK(call)                                                              \
  do {                                                                                       \
    cudaError_t hanvit_status_ = (call);                                                     \
    if (hanvit_status_ != cudaSuccess) ::hanvit::cuda::throw_cuda_error(hanvit_status_, #call, __FILE__, __LINE__); \
  } while (0)

// After a kernel launch: reports bad launch configurations at once (asynchronous faults surface
// at the next synchronising call).
#define HANVIT_CUDA_CHECK_LAUNCH(name) HANVIT_CUDA_CHECK(cudaGetLastError())
