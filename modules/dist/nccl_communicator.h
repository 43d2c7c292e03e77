// The NCCL communicator: collectives over CUDA tensors, one GPU per rank, bootstrapped over MPI.
#pragma once

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <memory>

#include "modules/dist/mpi_communicator.h"

namespace hanvit {

class NcclCommunicator final : public Communicator {
 public:
  // Joins the ranks of `mpi` on CUDA device `device`: rank 0's ncclGetUniqueId is broadcast
  // over MPI, then ncclCommInitRank. Collectives run on a stream of their own, ordered after the
  // work already queued on the CUDA backend's stream, and the backend's stream is ordered after
  // them (at once for all_reduce_sum / broadcast, at wait() for a started reduction), so the
  // backward pass keeps running while a bucket is summed. Scalars and barrier() go over MPI.
  NcclCommunicator(std::unique_ptr<MpiCommunicator> mpi, int device);
  ~NcclCommunicator() override;
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  std::string name() const override { return "nccl"; }
  int rank() const override { return mpi_->rank(); }
  int size() const override { return mpi_->size(); }
  Device device() const override { return Device::cuda(device_); }
  void all_reduce_sum(const Tensor& t) override;
  std::unique_ptr<PendingReduction> start_all_reduce_sum(const Tensor& t) override;
  void broadcast(const Tensor& t, int root) override;
  void all_reduce_sum(std::span<double> values) override { mpi_->all_reduce_sum(values); }
  void all_reduce_max(std::span<double> values) override { mpi_->all_reduce_max(values); }
  void barrier() override;
  [[noreturn]] void abort(int exit_code) override;

 private:
  std::unique_ptr<MpiCommunicator> mpi_;
  int device_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t backend_stream_ = nullptr;  // the CUDA backend's stream (not owned)
  cudaStream_t stream_ = nullptr;          // collectives
  cudaEvent_t inputs_ready_ = nullptr;     // recorded on backend_stream_ before each collective

  // Orders stream_ after the work queued on backend_stream_ so far.
  void wait_for_backend();
  // Records the end of the collectives queued on stream_ so far.
  cudaEvent_t record_done();
};

}  // namespace hanvit
