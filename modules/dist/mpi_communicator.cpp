// MPI collectives on host tensors; counts above MPI's int range are split into chunks.
#include "modules/dist/mpi_communicator.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace hanvit {
namespace {

constexpr int64_t kChunk = int64_t{1} << 30;  // elements per MPI call (MPI counts are int)

void mpi_check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw std::runtime_error(std::string(what) + " failed: " + std::string(text, static_cast<size_t>(length)));
}

void finalize_mpi() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void initialize_mpi() {
  static std::once_flag once;
  std::call_once(once, [] {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) throw std::runtime_error("MPI was already finalised: no communicator can be created");
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) return;  // the host program initialised MPI and finalises it
    int provided = 0;
    mpi_check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    std::atexit(finalize_mpi);
    if (provided < MPI_THREAD_FUNNELED)
      throw std::runtime_error("MPI_Init_thread: the MPI library gives no MPI_THREAD_FUNNELED support");
  });
}

// Calls op(offset, count) over [0, n) in chunks MPI's int counts can hold.
template <typename Op>
void chunked(int64_t n, Op op) {
  for (int64_t offset = 0; offset < n; offset += kChunk) op(offset, static_cast<int>(std::min(kChunk, n - offset)));
}

class MpiReduction final : public PendingReduction {
 public:
  explicit MpiReduction(std::vector<MPI_Request> requests) : requests_(std::move(requests)) {}
  ~MpiReduction() override {
    if (!requests_.empty()) MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
  }
  void wait() override {
    if (requests_.empty()) return;
    mpi_check(MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
    requests_.clear();
  }
  bool done() override {
    if (requests_.empty()) return true;
    int flag = 0;
    mpi_check(MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &flag, MPI_STATUSES_IGNORE),
              "MPI_Testall");
    if (flag) requests_.clear();
    return flag != 0;
  }

 private:
  std::vector<MPI_Request> requests_;
};

}  // namespace

MpiCommunicator::MpiCommunicator() {
  initialize_mpi();
  mpi_check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
  mpi_check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  mpi_check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  mpi_check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void MpiCommunicator::all_reduce_sum(const Tensor& t) {
  check_collective_tensor(t, device(), "all_reduce_sum");
  float* data = t.data<float>();
  chunked(t.numel(), [&](int64_t offset, int count) {
    mpi_check(MPI_Allreduce(MPI_IN_PLACE, data + offset, count, MPI_FLOAT, MPI_SUM, comm_), "MPI_Allreduce");
  });
}

std::unique_ptr<PendingReduction> MpiCommunicator::start_all_reduce_sum(const Tensor& t) {
  check_collective_tensor(t, device(), "start_all_reduce_sum");
  float* data = t.data<float>();
  std::vector<MPI_Request> requests;
  chunked(t.numel(), [&](int64_t offset, int count) {
    MPI_Request request = MPI_REQUEST_NULL;
    mpi_check(MPI_Iallreduce(MPI_IN_PLACE, data + offset, count, MPI_FLOAT, MPI_SUM, comm_, &request),
              "MPI_Iallreduce");
    requests.push_back(request);
  });
  return std::make_unique<MpiReduction>(std::move(requests));
}

void MpiCommunicator::broadcast(const Tensor& t, int root) {
  check_collective_tensor(t, device(), "broadcast");
  check_root(root, size_);
  float* data = t.data<float>();
  chunked(t.numel(), [&](int64_t offset, int count) {
    mpi_check(MPI_Bcast(data + offset, count, MPI_FLOAT, root, comm_), "MPI_Bcast");
  });
}

void MpiCommunicator::broadcast_bytes(void* data, size_t bytes, int root) {
  check_root(root, size_);
  chunked(static_cast<int64_t>(bytes), [&](int64_t offset, int count) {
    mpi_check(MPI_Bcast(static_cast<char*>(data) + offset, count, MPI_BYTE, root, comm_), "MPI_Bcast");
  });
}

void MpiCommunicator::all_reduce_sum(std::span<double> values) {
  mpi_check(MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_SUM, comm_),
            "MPI_Allreduce");
}

void MpiCommunicator::all_reduce_max(std::span<double> values) {
  mpi_check(MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_MAX, comm_),
            "MPI_Allreduce");
}

void MpiCommunicator::barrier() { mpi_check(MPI_Barrier(comm_), "MPI_Barrier"); }

void MpiCommunicator::abort(int exit_code) {
  MPI_Abort(comm_, exit_code);
  std::_Exit(exit_code);
}

}  // namespace hanvit
