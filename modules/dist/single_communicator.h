// The communicator of a one-rank job: every collective leaves the values as they are.
#pragma once

#include "modules/dist/communicator.h"

namespace hanvit {

class SingleProcessCommunicator final : public Communicator {
 public:
  explicit SingleProcessCommunicator(Device device = Device::cpu()) : device_(device) {}

  std::string name() const override { return "single"; }
  int rank() const override { return 0; }
  int size() const override { return 1; }
  Device device() const override { return device_; }
  void all_reduce_sum(const Tensor& t) override;
  std::unique_ptr<PendingReduction> start_all_reduce_sum(const Tensor& t) override;
  void broadcast(const Tensor& t, int root) override;
  void all_reduce_sum(std::span<double> values) override { (void)values; }
  void all_reduce_max(std::span<double> values) override { (void)values; }
  void barrier() override {}
  [[noreturn]] void abort(int exit_code) override;

 private:
  Device device_;
};

}  // namespace hanvit
