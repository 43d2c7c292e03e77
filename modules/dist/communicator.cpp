// The communicator factory (launcher → implementation) and the argument checks shared by the
// implementations.
#include "modules/dist/communicator.h"

#include <stdexcept>
#include <string>

#include "modules/dist/launch_env.h"
#include "modules/dist/single_communicator.h"
#ifdef HANVIT_WITH_MPI
#include "modules/dist/mpi_communicator.h"
#endif
#ifdef HANVIT_WITH_NCCL
#include "modules/backend/cuda/cuda_backend.h"
#include "modules/dist/nccl_communicator.h"
#endif

namespace hanvit {
namespace {

std::string launched(const LaunchEnv& launch) {
  return "launched with " + std::to_string(launch.ranks) + " ranks (" + launch.source + ")";
}

#ifdef HANVIT_WITH_MPI
std::unique_ptr<MpiCommunicator> make_mpi(const LaunchEnv& launch) {
  auto mpi = std::make_unique<MpiCommunicator>();
  if (mpi->size() != launch.ranks || mpi->rank() != launch.rank)
    throw std::runtime_error(launched(launch) + " but MPI reports rank " + std::to_string(mpi->rank()) + " of " +
                             std::to_string(mpi->size()) + ": is this binary built with the launcher's MPI?");
  return mpi;
}
#endif

}  // namespace

void check_collective_tensor(const Tensor& t, Device device, const char* op) {
  if (!t.defined()) throw std::invalid_argument(std::string(op) + ": the tensor is undefined");
  if (t.dtype() != DType::f32 || !t.is_contiguous() || t.device() != device)
    throw std::invalid_argument(std::string(op) + " needs a contiguous f32 tensor on " + device.str() + ", got " +
                                (t.is_contiguous() ? "" : "non-contiguous ") + t.str() + " on " + t.device().str());
}

void check_root(int root, int size) {
  if (root < 0 || root >= size)
    throw std::invalid_argument("broadcast root " + std::to_string(root) + " is not a rank of " + std::to_string(size));
}

std::unique_ptr<Communicator> make_communicator(Device device) {
  const LaunchEnv launch = launch_env();
  if (launch.ranks == 1) return std::make_unique<SingleProcessCommunicator>(device);
  if (!launch.mpi)
    throw std::invalid_argument(launched(launch) +
                                " without an MPI launcher (no PMIX_RANK or PMI_RANK): start "
                                "the ranks with mpirun or srun --mpi=pmix");
#ifndef HANVIT_WITH_MPI
  throw std::invalid_argument(launched(launch) +
                              " but this build has no MPI (HANVIT_MPI is off): run one process "
                              "or rebuild with an MPI library installed");
#else
  if (device.kind == DeviceKind::cpu) return make_mpi(launch);
#ifdef HANVIT_WITH_NCCL
  const int gpus = cuda_device_count();
  if (gpus == 0) throw std::runtime_error(launched(launch) + " on CUDA but no CUDA device is visible");
  return std::make_unique<NcclCommunicator>(make_mpi(launch), launch.local_rank % gpus);
#else
  throw std::invalid_argument(launched(launch) + " on " + device.str() +
                              " but this build has no NCCL (HANVIT_NCCL is off): use the CPU or rebuild with NCCL");
#endif
#endif
}

}  // namespace hanvit
