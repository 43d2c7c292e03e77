// The CUDA backend: one device, one stream, kernels from kernels/cuda/, a caching allocator,
// pinned host staging for copies and CUDA graph capture.
#pragma once

#include <memory>
#include <vector>

#include "modules/backend/backend.h"
#include "modules/backend/cuda/cuda_context.h"
#include "modules/backend/cuda/cuda_kernel_table.h"

namespace hanvit {

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device);
  ~CudaBackend() override;

  std::string name() const override;
  Device device() const override { return Device::cuda(ctx_.device); }
  bool supports(const Node& node) const override;
  std::vector<OpKind> supported_ops() const override;
  void run(const Node& node, std::span<const Tensor> inputs, const Tensor& output) override;
  std::shared_ptr<Storage> allocate(size_t bytes) override;
  void copy(const Tensor& src, const Tensor& dst) override;
  void synchronize() override;
  void poison(Storage& storage) override;
  std::unique_ptr<CapturedWork> capture(const std::function<void()>& body) override;

  CudaContext& context() { return ctx_; }
  DeviceMemoryStats memory_stats() const { return allocator_->stats(); }
  DeviceAllocator& allocator() { return *allocator_; }

 private:
  std::unique_ptr<DeviceAllocator> allocator_;
  CudaContext ctx_;
  CudaKernelTable table_;
  bool capturing_ = false;
  // Pinned host buffer that pageable host tensors are staged through.
  void* staging_ = nullptr;
  size_t staging_bytes_ = 0;
};

// Ops with a CUDA kernel in this build (known without a device).
std::vector<OpKind> cuda_kernel_ops();
// Visible CUDA devices (0 when none or when the driver is missing).
int cuda_device_count();
// The backend of device `index`, created on first use.
CudaBackend& cuda_backend(int index);
// A host tensor in pinned (page-locked) memory: copies from and to it are asynchronous DMA.
Tensor pinned_host_empty(const Shape& shape, DType dtype);

}  // namespace hanvit
