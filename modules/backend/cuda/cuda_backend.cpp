// The CUDA backend: device setup, kernel dispatch by dtype, copies, poisoning and graph capture.
#include "modules/backend/cuda/cuda_backend.h"

#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>

#include "kernels/cuda/cuda_check.h"

namespace hanvit {
namespace {

void check_cublas(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string("cuBLASLt error ") + cublasLtGetStatusName(status) + " in " + what);
}

CudaKernelTable build_table() {
  CudaKernelTable table;
  register_cuda_elementwise(table);
  register_cuda_matmul(table);
  register_cuda_layout(table);
  register_cuda_reduce(table);
  register_cuda_softmax(table);
  register_cuda_norm(table);
  register_cuda_embedding(table);
  register_cuda_attention(table);
  register_cuda_patches(table);
  return table;
}

class CudaGraphWork final : public CapturedWork {
 public:
  CudaGraphWork(cudaGraph_t graph, cudaGraphExec_t exec, cudaStream_t stream)
      : graph_(graph), exec_(exec), stream_(stream) {}
  ~CudaGraphWork() override {
    cudaGraphExecDestroy(exec_);
    cudaGraphDestroy(graph_);
  }
  void replay() override { HANVIT_CUDA_CHECK(cudaGraphLaunch(exec_, stream_)); }

 private:
  cudaGraph_t graph_;
  cudaGraphExec_t exec_;
  cudaStream_t stream_;
};

}  // namespace

void* CudaContext::scratch(size_t bytes) {
  if (bytes > scratch_bytes || scratch_buffers.empty()) {
    scratch_bytes = DeviceAllocator::round_size(std::max(bytes, scratch_bytes * 2));
    scratch_buffers.push_back(allocator->allocate(scratch_bytes));
  }
  return scratch_buffers.back();
}

CudaBackend::CudaBackend(int device) : allocator_(std::make_unique<DeviceAllocator>(device)), table_(build_table()) {
  ctx_.device = device;
  ctx_.allocator = allocator_.get();
  HANVIT_CUDA_CHECK(cudaSetDevice(device));
  HANVIT_CUDA_CHECK(cudaStreamCreateWithFlags(&ctx_.stream, cudaStreamNonBlocking));
  check_cublas(cublasLtCreate(&ctx_.cublaslt), "cublasLtCreate");
  ctx_.workspace = allocator_->allocate(CudaContext::kWorkspaceBytes);
  cudaDeviceProp prop{};
  HANVIT_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  ctx_.multiprocessors = prop.multiProcessorCount;
  ctx_.compute_capability = prop.major * 10 + prop.minor;
  ctx_.shared_memory_per_block_optin = prop.sharedMemPerBlockOptin;
}

CudaBackend::~CudaBackend() {
  cudaSetDevice(ctx_.device);
  cudaStreamSynchronize(ctx_.stream);
  for (void* p : ctx_.scratch_buffers) allocator_->release(p);
  allocator_->release(ctx_.workspace);
  if (staging_) cudaFreeHost(staging_);
  cublasLtDestroy(ctx_.cublaslt);
  cudaStreamDestroy(ctx_.stream);
}

std::string CudaBackend::name() const { return "cuda"; }

bool CudaBackend::supports(const Node& node) const {
  const int op = static_cast<int>(node.op);
  return table_.kernels[op] != nullptr && (table_.dtypes[op] & dtype_bit(node.dtype)) != 0;
}

namespace {

std::vector<OpKind> table_ops(const CudaKernelTable& table) {
  std::vector<OpKind> ops;
  for (size_t i = 0; i < kOpCount; ++i)
    if (table.kernels[i]) ops.push_back(static_cast<OpKind>(i));
  return ops;
}

}  // namespace

std::vector<OpKind> CudaBackend::supported_ops() const { return table_ops(table_); }

std::vector<OpKind> cuda_kernel_ops() { return table_ops(build_table()); }

void CudaBackend::run(const Node& node, std::span<const Tensor> inputs, const Tensor& output) {
  CudaKernel kernel = table_.kernels[static_cast<int>(node.op)];
  if (!kernel) throw std::invalid_argument("cuda backend has no kernel for " + std::string(op_name(node.op)));
  kernel(ctx_, node, inputs, output);
}

std::shared_ptr<Storage> CudaBackend::allocate(size_t bytes) {
  void* ptr = allocator_->allocate(bytes);
  DeviceAllocator* allocator = allocator_.get();
  return Storage::wrap(ptr, bytes, device(), [allocator, ptr] { allocator->release(ptr); });
}

void CudaBackend::copy(const Tensor& src, const Tensor& dst) {
  if (src.shape() != dst.shape() || src.dtype() != dst.dtype() || !src.is_contiguous() || !dst.is_contiguous())
    throw std::invalid_argument("cuda copy needs contiguous tensors of one shape and dtype, got " + src.str() +
                                " -> " + dst.str());
  const size_t bytes = src.nbytes();
  if (bytes == 0) return;
  const bool from_host = src.device().kind == DeviceKind::cpu, to_host = dst.device().kind == DeviceKind::cpu;
  if (capturing_ && (from_host || to_host)) throw std::logic_error("host copies cannot be captured in a CUDA graph");
  HANVIT_CUDA_CHECK(cudaSetDevice(ctx_.device));
  if (!from_host && !to_host) {
    HANVIT_CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), src.raw_data(), bytes, cudaMemcpyDeviceToDevice, ctx_.stream));
    return;
  }
  if (from_host && to_host) throw std::invalid_argument("cuda copy between two host tensors");
  // Pinned host memory takes the DMA path directly; pageable memory is staged through a pinned
  // buffer so the transfer itself is asynchronous and full speed.
  cudaPointerAttributes attributes{};
  const void* host_ptr = from_host ? src.raw_data() : dst.raw_data();
  const bool pinned = cudaPointerGetAttributes(&attributes, host_ptr) == cudaSuccess &&
                      attributes.type == cudaMemoryTypeHost;
  if (pinned) {
    HANVIT_CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), src.raw_data(), bytes,
                                      from_host ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost, ctx_.stream));
    if (to_host) HANVIT_CUDA_CHECK(cudaStreamSynchronize(ctx_.stream));
    return;
  }
  cudaGetLastError();  // cudaPointerGetAttributes on pageable memory may record an error
  constexpr size_t kStagingBytes = 16u << 20;
  if (!staging_) {
    HANVIT_CUDA_CHECK(cudaMallocHost(&staging_, kStagingBytes));
    staging_bytes_ = kStagingBytes;
  }
  for (size_t done = 0; done < bytes; done += staging_bytes_) {
    const size_t chunk = std::min(staging_bytes_, bytes - done);
    if (from_host) {
      // The previous chunk's DMA must have left the staging buffer before it is refilled.
      HANVIT_CUDA_CHECK(cudaStreamSynchronize(ctx_.stream));
      std::memcpy(staging_, static_cast<const char*>(src.raw_data()) + done, chunk);
      HANVIT_CUDA_CHECK(cudaMemcpyAsync(static_cast<char*>(dst.raw_data()) + done, staging_, chunk,
                                        cudaMemcpyHostToDevice, ctx_.stream));
    } else {
      HANVIT_CUDA_CHECK(cudaMemcpyAsync(staging_, static_cast<const char*>(src.raw_data()) + done, chunk,
                                        cudaMemcpyDeviceToHost, ctx_.stream));
      HANVIT_CUDA_CHECK(cudaStreamSynchronize(ctx_.stream));
      std::memcpy(static_cast<char*>(dst.raw_data()) + done, staging_, chunk);
    }
  }
  // The last host-to-device chunk may still be in flight from the staging buffer: later work on
  // the stream is ordered after it, and the next refill waits for it.
}

void CudaBackend::synchronize() {
  if (capturing_) return;
  HANVIT_CUDA_CHECK(cudaStreamSynchronize(ctx_.stream));
}

void CudaBackend::poison(Storage& storage) {
  HANVIT_CUDA_CHECK(cudaMemsetAsync(storage.data(), 0xff, storage.bytes(), ctx_.stream));
}

std::unique_ptr<CapturedWork> CudaBackend::capture(const std::function<void()>& body) {
  HANVIT_CUDA_CHECK(cudaSetDevice(ctx_.device));
  HANVIT_CUDA_CHECK(cudaStreamSynchronize(ctx_.stream));
  HANVIT_CUDA_CHECK(cudaStreamBeginCapture(ctx_.stream, cudaStreamCaptureModeThreadLocal));
  capturing_ = true;
  cudaGraph_t graph = nullptr;
  try {
    body();
  } catch (...) {
    capturing_ = false;
    cudaStreamEndCapture(ctx_.stream, &graph);
    if (graph) cudaGraphDestroy(graph);
    throw;
  }
  capturing_ = false;
  HANVIT_CUDA_CHECK(cudaStreamEndCapture(ctx_.stream, &graph));
  cudaGraphExec_t exec = nullptr;
  cudaError_t status = cudaGraphInstantiate(&exec, graph, 0);
  if (status != cudaSuccess) {
    cudaGraphDestroy(graph);
    cuda::throw_cuda_error(status, "cudaGraphInstantiate", __FILE__, __LINE__);
  }
  return std::make_unique<CudaGraphWork>(graph, exec, ctx_.stream);
}

int cuda_device_count() {
  static const int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();
      return 0;
    }
    return n;
  }();
  return count;
}

CudaBackend& cuda_backend(int index) {
  static std::mutex mutex;
  static std::map<int, std::unique_ptr<CudaBackend>> backends;
  if (index < 0 || index >= cuda_device_count())
    throw std::invalid_argument("no CUDA device " + std::to_string(index) + " (" +
                                std::to_string(cuda_device_count()) + " visible)");
  std::lock_guard lock(mutex);
  auto& slot = backends[index];
  if (!slot) slot = std::make_unique<CudaBackend>(index);
  return *slot;
}

Tensor pinned_host_empty(const Shape& shape, DType dtype) {
  const size_t bytes = static_cast<size_t>(numel(shape)) * dtype_size(dtype);
  void* ptr = nullptr;
  HANVIT_CUDA_CHECK(cudaMallocHost(&ptr, bytes ? bytes : 1));
  return Tensor(Storage::wrap(ptr, bytes, Device::cpu(), [ptr] { cudaFreeHost(ptr); }), shape, dtype);
}

}  // namespace hanvit
