// NCCL collectives on a side stream, synchronised with the CUDA backend's stream by events.
#include "modules/dist/nccl_communicator.h"

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "kernels/cuda/cuda_check.h"
#include "modules/backend/cuda/cuda_backend.h"

namespace hanvit {
namespace {

void nccl_check(ncclResult_t result, const char* what) {
  if (result != ncclSuccess) throw std::runtime_error(std::string(what) + " failed: " + ncclGetErrorString(result));
}

// A reduction queued on the collective stream; `done` is recorded after it.
class NcclReduction final : public PendingReduction {
 public:
  NcclReduction(cudaEvent_t done, cudaStream_t backend_stream) : done_(done), backend_stream_(backend_stream) {}
  ~NcclReduction() override {
    if (!waited_) cudaStreamWaitEvent(backend_stream_, done_, 0);
    cudaEventDestroy(done_);
  }
  void wait() override {
    if (waited_) return;
    HANVIT_CUDA_CHECK(cudaStreamWaitEvent(backend_stream_, done_, 0));
    waited_ = true;
  }
  bool done() override {
    cudaError_t status = cudaEventQuery(done_);
    if (status == cudaErrorNotReady) return false;
    HANVIT_CUDA_CHECK(status);
    return true;
  }

 private:
  cudaEvent_t done_;
  cudaStream_t backend_stream_;
  bool waited_ = false;
};

}  // namespace

NcclCommunicator::NcclCommunicator(std::unique_ptr<MpiCommunicator> mpi, int device)
    : mpi_(std::move(mpi)), device_(device) {
  backend_stream_ = cuda_backend(device).context().stream;
  HANVIT_CUDA_CHECK(cudaSetDevice(device));
  ncclUniqueId id{};
  if (mpi_->rank() == 0) nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
  mpi_->broadcast_bytes(&id, sizeof id, 0);
  nccl_check(ncclCommInitRank(&comm_, mpi_->size(), id, mpi_->rank()),
             ("ncclCommInitRank on cuda:" + std::to_string(device)).c_str());
  HANVIT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  HANVIT_CUDA_CHECK(cudaEventCreateWithFlags(&inputs_ready_, cudaEventDisableTiming));
}

NcclCommunicator::~NcclCommunicator() {
  cudaSetDevice(device_);
  if (stream_) cudaStreamSynchronize(stream_);
  if (comm_) ncclCommDestroy(comm_);
  if (inputs_ready_) cudaEventDestroy(inputs_ready_);
  if (stream_) cudaStreamDestroy(stream_);
}

void NcclCommunicator::wait_for_backend() {
  HANVIT_CUDA_CHECK(cudaEventRecord(inputs_ready_, backend_stream_));
  HANVIT_CUDA_CHECK(cudaStreamWaitEvent(stream_, inputs_ready_, 0));
}

cudaEvent_t NcclCommunicator::record_done() {
  cudaEvent_t done = nullptr;
  HANVIT_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
  cudaError_t status = cudaEventRecord(done, stream_);
  if (status != cudaSuccess) {
    cudaEventDestroy(done);
    HANVIT_CUDA_CHECK(status);
  }
  return done;
}

void NcclCommunicator::all_reduce_sum(const Tensor& t) { start_all_reduce_sum(t)->wait(); }

std::unique_ptr<PendingReduction> NcclCommunicator::start_all_reduce_sum(const Tensor& t) {
  check_collective_tensor(t, device(), "start_all_reduce_sum");
  wait_for_backend();
  void* data = t.raw_data();
  nccl_check(ncclAllReduce(data, data, static_cast<size_t>(t.numel()), ncclFloat, ncclSum, comm_, stream_),
             "ncclAllReduce");
  return std::make_unique<NcclReduction>(record_done(), backend_stream_);
}

void NcclCommunicator::broadcast(const Tensor& t, int root) {
  check_collective_tensor(t, device(), "broadcast");
  check_root(root, size());
  wait_for_backend();
  void* data = t.raw_data();
  nccl_check(ncclBroadcast(data, data, static_cast<size_t>(t.numel()), ncclFloat, root, comm_, stream_),
             "ncclBroadcast");
  NcclReduction(record_done(), backend_stream_).wait();
}

void NcclCommunicator::barrier() {
  HANVIT_CUDA_CHECK(cudaStreamSynchronize(stream_));
  mpi_->barrier();
}

void NcclCommunicator::abort(int exit_code) {
  ncclCommAbort(comm_);
  comm_ = nullptr;
  mpi_->abort(exit_code);
}

}  // namespace hanvit
