// The MPI communicator: collectives over host tensors between the processes of an MPI launch.
#pragma once

#include <mpi.h>

#include "modules/dist/communicator.h"

namespace hanvit {

class MpiCommunicator final : public Communicator {
 public:
  // Initialises MPI on first use (MPI_Init_thread with MPI_THREAD_FUNNELED: MPI is called from
  // one thread; MPI_Finalize runs at exit) and works on a duplicate of MPI_COMM_WORLD whose
  // errors are returned and thrown as std::runtime_error.
  MpiCommunicator();
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  std::string name() const override { return "mpi"; }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  Device device() const override { return Device::cpu(); }
  void all_reduce_sum(const Tensor& t) override;
  // MPI_Iallreduce in place.
  std::unique_ptr<PendingReduction> start_all_reduce_sum(const Tensor& t) override;
  void broadcast(const Tensor& t, int root) override;
  void all_reduce_sum(std::span<double> values) override;
  void all_reduce_max(std::span<double> values) override;
  void barrier() override;
  [[noreturn]] void abort(int exit_code) override;

  // Host-side collectives of the NCCL communicator (its bootstrap, scalars, barrier).
  void broadcast_bytes(void* data, size_t bytes, int root);
  MPI_Comm comm() const { return comm_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace hanvit
