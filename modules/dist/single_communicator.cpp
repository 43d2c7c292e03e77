// Single-process collectives: argument checks only, so code written for N ranks runs on one.
#include "modules/dist/single_communicator.h"

#include <cstdlib>

namespace hanvit {
namespace {

class CompletedReduction final : public PendingReduction {
 public:
  void wait() override {}
  bool done() override { return true; }
};

}  // namespace

void SingleProcessCommunicator::all_reduce_sum(const Tensor& t) {
  check_collective_tensor(t, device_, "all_reduce_sum");
}

std::unique_ptr<PendingReduction> SingleProcessCommunicator::start_all_reduce_sum(const Tensor& t) {
  check_collective_tensor(t, device_, "start_all_reduce_sum");
  return std::make_unique<CompletedReduction>();
}

void SingleProcessCommunicator::broadcast(const Tensor& t, int root) {
  check_collective_tensor(t, device_, "broadcast");
  check_root(root, 1);
}

void SingleProcessCommunicator::abort(int exit_code) { std::exit(exit_code); }

}  // namespace hanvit
