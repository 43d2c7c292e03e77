// Collective communication between the ranks of a data-parallel job: the Communicator
// interface, its pending nonblocking reduction, and the factory that picks an implementation
// from the device and the launcher (single process, MPI on host tensors, NCCL on CUDA tensors).
#pragma once

#include <memory>
#include <span>
#include <string>

#include "modules/tensor/device.h"
#include "modules/tensor/tensor.h"

namespace hanvit {

// A nonblocking all-reduce in flight. The tensor must stay alive and untouched until wait().
// Destroying an unwaited reduction waits for it.
class PendingReduction {
 public:
  virtual ~PendingReduction() = default;
  // Host tensors (MPI): returns once the sum is in the tensor. CUDA tensors (NCCL): later work
  // on the CUDA backend's stream is ordered after the sum; the host does not block.
  virtual void wait() = 0;
  // Whether the reduction has completed; also lets MPI progress it (Open MPI advances
  // nonblocking collectives only inside MPI calls).
  virtual bool done() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual std::string name() const = 0;  // "single", "mpi", "nccl"
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Where the tensors of all_reduce_sum / broadcast live.
  virtual Device device() const = 0;

  // Tensor collectives: `t` is a contiguous f32 tensor on device(); the result replaces its
  // values on every rank. Every rank calls them in the same order with the same sizes.
  virtual void all_reduce_sum(const Tensor& t) = 0;
  virtual std::unique_ptr<PendingReduction> start_all_reduce_sum(const Tensor& t) = 0;
  // Copies root's values into `t` on every other rank.
  virtual void broadcast(const Tensor& t, int root) = 0;

  // Host scalars (token counts, non-finite flags, squared norms): elementwise over ranks.
  virtual void all_reduce_sum(std::span<double> values) = 0;
  virtual void all_reduce_max(std::span<double> values) = 0;
  virtual void barrier() = 0;
  // Ends the process of every rank with `exit_code`. For an error on one rank, whose peers would
  // otherwise wait forever in their next collective.
  [[noreturn]] virtual void abort(int exit_code) = 0;
};

// The communicator for this process, from launch_env():
// - one rank: a single-process communicator on `device` (no MPI initialised);
// - several ranks, CPU: MPI (initialised once with MPI_Init_thread, finalised at exit);
// - several ranks, CUDA: NCCL bootstrapped over MPI, on GPU local_rank % visible devices
//   (device.index is not used then: read the GPU back from device()).
// Throws naming the launcher variable when several ranks were launched and the build lacks
// MPI (HANVIT_MPI) or NCCL, or the launcher is not an MPI one.
std::unique_ptr<Communicator> make_communicator(Device device);

// For implementations: throws unless `t` is a contiguous f32 tensor on `device`, naming `op`.
void check_collective_tensor(const Tensor& t, Device device, const char* op);
// For implementations: throws unless 0 <= root < size.
void check_root(int root, int size);

}  // namespace hanvit
