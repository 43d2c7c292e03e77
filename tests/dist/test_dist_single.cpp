// Data-parallel pieces in one process: the single-process communicator, launcher detection,
// gradient bucket assignment and start/wait order, and the executor's on_computed callbacks.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "modules/dist/communicator.h"
#include "modules/dist/gradient_buckets.h"
#include "modules/dist/launch_env.h"
#include "modules/dist/single_communicator.h"
#include "modules/exec/executor.h"
#include "modules/graph/autograd.h"
#include "modules/graph/ops.h"

using namespace hanvit;

namespace {

// Clears the launcher variables for one test and restores them afterwards.
class LauncherEnv {
 public:
  LauncherEnv() {
    for (const char* name : kNames) {
      const char* value = std::getenv(name);
      if (value) saved_[name] = value;
      unsetenv(name);
    }
  }
  ~LauncherEnv() {
    for (const char* name : kNames) {
      unsetenv(name);
      if (auto it = saved_.find(name); it != saved_.end()) setenv(name, it->second.c_str(), 1);
    }
  }
  void set(const char* name, const char* value) { setenv(name, value, 1); }

 private:
  static constexpr const char* kNames[] = {"OMPI_COMM_WORLD_SIZE",
                                           "OMPI_COMM_WORLD_RANK",
                                           "OMPI_COMM_WORLD_LOCAL_RANK",
                                           "PMI_SIZE",
                                           "PMI_RANK",
                                           "MPI_LOCALRANKID",
                                           "SLURM_NTASKS",
                                           "SLURM_PROCID",
                                           "SLURM_LOCALID",
                                           "PMIX_RANK"};
  std::map<std::string, std::string> saved_;
};

// Pretends to be rank 0 of `world` ranks that all hold the same values: a reduction multiplies
// the slice by `world` when waited for. Logs every start, poll and wait.
class FakeCommunicator final : public Communicator {
 public:
  explicit FakeCommunicator(int world) : world_(world) {}
  std::vector<std::string> log;
  int polls = 0;

  std::string name() const override { return "fake"; }
  int rank() const override { return 0; }
  int size() const override { return world_; }
  Device device() const override { return Device::cpu(); }
  void all_reduce_sum(const Tensor& t) override { start_all_reduce_sum(t)->wait(); }
  std::unique_ptr<PendingReduction> start_all_reduce_sum(const Tensor& t) override {
    check_collective_tensor(t, device(), "start_all_reduce_sum");
    log.push_back("start " + std::to_string(t.offset()) + "+" + std::to_string(t.numel()));
    return std::make_unique<Pending>(*this, t);
  }
  void broadcast(const Tensor& t, int root) override { (void)t, (void)root; }
  void all_reduce_sum(std::span<double> values) override { (void)values; }
  void all_reduce_max(std::span<double> values) override { (void)values; }
  void barrier() override {}
  [[noreturn]] void abort(int exit_code) override { std::exit(exit_code); }

 private:
  struct Pending final : PendingReduction {
    Pending(FakeCommunicator& comm, Tensor t) : comm_(comm), t_(std::move(t)) {}
    void wait() override {
      comm_.log.push_back("wait " + std::to_string(t_.offset()));
      float* data = t_.data<float>();
      for (int64_t i = 0; i < t_.numel(); ++i) data[i] *= static_cast<float>(comm_.world_);
    }
    bool done() override {
      ++comm_.polls;
      return false;
    }
    FakeCommunicator& comm_;
    Tensor t_;
  };
  int world_;
};

}  // namespace

TEST_CASE("dist/single-process communicator keeps values and checks its arguments", "[dist]") {
  SingleProcessCommunicator comm;
  CHECK(comm.rank() == 0);
  CHECK(comm.size() == 1);
  Tensor t = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  comm.all_reduce_sum(t);
  comm.start_all_reduce_sum(t)->wait();
  comm.broadcast(t, 0);
  CHECK(t.to_f64() == std::vector<double>{1, 2, 3, 4, 5, 6});
  std::vector<double> scalars{2.5, -1.0};
  comm.all_reduce_sum(scalars);
  comm.all_reduce_max(scalars);
  CHECK(scalars == std::vector<double>{2.5, -1.0});
  CHECK_THROWS_WITH(comm.broadcast(t, 1), Catch::Contains("root 1"));
  CHECK_THROWS_WITH(comm.all_reduce_sum(t.transpose(0, 1)), Catch::Contains("non-contiguous f32(3,2)"));
  CHECK_THROWS_WITH(comm.all_reduce_sum(Tensor::zeros({4}, DType::i32)), Catch::Contains("needs a contiguous f32"));
  SingleProcessCommunicator on_gpu(Device::cuda(0));
  CHECK_THROWS_WITH(on_gpu.all_reduce_sum(t), Catch::Contains("on cuda:0, got f32(2,3) on cpu"));
}

TEST_CASE("dist/launcher variables give world size, rank and local rank", "[dist]") {
  LauncherEnv env;
  CHECK(launched_ranks() == 1);
  CHECK(make_communicator(Device::cpu())->name() == "single");

  env.set("OMPI_COMM_WORLD_SIZE", "4");
  env.set("OMPI_COMM_WORLD_RANK", "2");
  env.set("OMPI_COMM_WORLD_LOCAL_RANK", "1");
  LaunchEnv ompi = launch_env();
  CHECK(ompi.ranks == 4);
  CHECK(ompi.rank == 2);
  CHECK(ompi.local_rank == 1);
  CHECK(ompi.mpi);
  CHECK(ompi.source == "OMPI_COMM_WORLD_SIZE=4");
  env.set("OMPI_COMM_WORLD_RANK", "4");
  CHECK_THROWS_WITH(launch_env(), Catch::Contains("OMPI_COMM_WORLD_RANK='4'"));
  env.set("OMPI_COMM_WORLD_SIZE", "two");
  CHECK_THROWS_WITH(launched_ranks(), Catch::Contains("OMPI_COMM_WORLD_SIZE='two' is not an integer"));
  unsetenv("OMPI_COMM_WORLD_SIZE");

  env.set("PMI_SIZE", "3");
  env.set("PMI_RANK", "0");
  CHECK(launched_ranks() == 3);
  unsetenv("PMI_SIZE");

  env.set("SLURM_NTASKS", "8");
  env.set("SLURM_PROCID", "5");
  env.set("SLURM_LOCALID", "1");
  LaunchEnv slurm = launch_env();
  CHECK(slurm.ranks == 8);
  CHECK(slurm.rank == 5);
  CHECK(slurm.local_rank == 1);
  CHECK(slurm.mpi);  // PMI_RANK is still set
  unsetenv("PMI_RANK");
  CHECK_FALSE(launch_env().mpi);
  CHECK_THROWS_WITH(make_communicator(Device::cpu()),
                    Catch::Contains("SLURM_NTASKS=8") && Catch::Contains("srun --mpi=pmix"));
  unsetenv("SLURM_NTASKS");
  env.set("PMIX_RANK", "0");
  CHECK_THROWS_WITH(launch_env(), Catch::Contains("PMIX_RANK"));
}

#ifndef HANVIT_WITH_MPI
TEST_CASE("dist/a build without MPI refuses several ranks", "[dist]") {
  LauncherEnv env;
  env.set("OMPI_COMM_WORLD_SIZE", "2");
  env.set("OMPI_COMM_WORLD_RANK", "0");
  CHECK_THROWS_WITH(make_communicator(Device::cpu()),
                    Catch::Contains("OMPI_COMM_WORLD_SIZE=2") && Catch::Contains("HANVIT_MPI"));
}
#endif

TEST_CASE("dist/gradient buckets group consecutive ranges up to bucket_bytes", "[dist]") {
  FakeCommunicator comm(2);
  Tensor flat = Tensor::zeros({22});
  // 8 floats per bucket: {3, 5} | {2} | {10} (larger than a bucket: alone) | {1, 1}
  GradientBuckets buckets(comm, flat, {3, 5, 2, 10, 1, 1}, 8 * sizeof(float));
  REQUIRE(buckets.range_count() == 6);
  REQUIRE(buckets.bucket_count() == 4);
  CHECK(buckets.bucket_ranges(0) == std::pair{0, 2});
  CHECK(buckets.bucket_ranges(1) == std::pair{2, 3});
  CHECK(buckets.bucket_ranges(2) == std::pair{3, 4});
  CHECK(buckets.bucket_ranges(3) == std::pair{4, 6});
  const std::vector<int> bucket_of{0, 0, 1, 2, 3, 3};
  const std::vector<int64_t> offsets{0, 3, 8, 10, 20, 21}, sizes{3, 5, 2, 10, 1, 1};
  for (int r = 0; r < 6; ++r) {
    CHECK(buckets.bucket_of(r) == bucket_of[static_cast<size_t>(r)]);
    Tensor range = buckets.range(r);
    CHECK(range.offset() == offsets[static_cast<size_t>(r)]);
    CHECK(range.numel() == sizes[static_cast<size_t>(r)]);
    CHECK(range.storage() == flat.storage());
  }
  GradientBuckets one(comm, flat, {3, 5, 2, 10, 1, 1});
  CHECK(one.bucket_count() == 1);
  CHECK_THROWS_WITH(GradientBuckets(comm, flat, {3, 5}),
                    Catch::Contains("hold 8 elements") && Catch::Contains("has 22"));
  CHECK_THROWS_WITH(GradientBuckets(comm, flat, {22}, 2), Catch::Contains("bucket_bytes 2"));
  CHECK_THROWS_WITH(GradientBuckets(comm, Tensor::zeros({22}, DType::i32), {22}), Catch::Contains("f32"));
  CHECK_THROWS_WITH(buckets.mark_ready(6), Catch::Contains("no range 6"));
  buckets.mark_ready(2);
  CHECK_THROWS_WITH(buckets.mark_ready(2), Catch::Contains("range 2 marked ready twice"));
}

TEST_CASE("dist/gradient buckets start in index order and finish waits for every bucket", "[dist]") {
  FakeCommunicator comm(3);
  std::vector<float> values(22);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) + 0.25f;
  Tensor flat = Tensor::from_vector<float>({2, 11}, values);
  GradientBuckets buckets(comm, flat, {3, 5, 2, 10, 1, 1}, 8 * sizeof(float));

  buckets.mark_ready(3);  // bucket 2 is complete but buckets 0 and 1 are not started
  buckets.mark_ready(2);
  buckets.mark_ready(0);
  CHECK(comm.log.empty());
  CHECK_FALSE(buckets.started(0));
  buckets.mark_ready(1);  // bucket 0 completes: 0, 1 and 2 start, in that order
  CHECK(comm.log == std::vector<std::string>{"start 0+8", "start 8+2", "start 10+10"});
  CHECK(buckets.started(2));
  CHECK_FALSE(buckets.started(3));
  const int polls = comm.polls;
  buckets.mark_ready(5);
  CHECK(comm.polls == polls + 3);  // every started bucket is polled after a mark (MPI progress)
  CHECK(comm.log.size() == 3);
  buckets.finish();  // bucket 3 starts with range 4 unmarked
  CHECK(comm.log == std::vector<std::string>{"start 0+8", "start 8+2", "start 10+10", "start 20+2", "wait 0", "wait 8",
                                             "wait 10", "wait 20"});
  std::vector<double> reduced = flat.to_f64();
  for (size_t i = 0; i < values.size(); ++i) CHECK(reduced[i] == 3.0 * (static_cast<double>(i) + 0.25));

  comm.log.clear();  // the next step starts from no marks
  CHECK_FALSE(buckets.started(0));
  buckets.mark_ready(1);
  buckets.mark_ready(0);
  CHECK(comm.log == std::vector<std::string>{"start 0+8"});
  buckets.finish();
  CHECK(comm.log.size() == 8);
}

TEST_CASE("dist/executor on_computed runs each callback right after its output", "[dist]") {
  Graph g;
  Var x = g.parameter("x", {4});
  Var t = tanh(x);
  Var loss = sum_all(mul(t, t));
  Var grad = backward(loss)["x"];
  Executor exec(g, cpu_backend(), {t, loss, grad}, ExecutorOptions{.poison = true});
  const std::vector<double> xs{-1.5, -0.25, 0.5, 2.0};
  exec.bind("x", Tensor::from_values({4}, xs));

  std::vector<std::string> order;
  std::optional<bool> loss_pending_at_t, grad_pending_at_loss;
  std::vector<double> grad_seen;
  exec.on_computed(t, [&] {
    order.push_back("t");
    loss_pending_at_t = std::isnan(exec.value(loss).item());
  });
  exec.on_computed(t, [&] { order.push_back("t second"); });
  exec.on_computed(loss, [&] {
    order.push_back("loss");
    grad_pending_at_loss = std::isnan(exec.value(grad).to_f64()[0]);
  });
  exec.on_computed(grad, [&] {
    order.push_back("grad");
    grad_seen = exec.value(grad).to_f64();
  });
  CHECK_THROWS_WITH(exec.on_computed(mul(t, t), [] {}), Catch::Contains("is not an output of this executor"));
  exec.run();

  CHECK(order == std::vector<std::string>{"t", "t second", "loss", "grad"});
  CHECK(loss_pending_at_t == true);  // poisoned: the loss node has not run yet
  CHECK(grad_pending_at_loss == true);
  REQUIRE(grad_seen.size() == 4);
  for (size_t i = 0; i < xs.size(); ++i) {
    const double th = std::tanh(xs[i]);
    CHECK(grad_seen[i] == Approx(2 * th * (1 - th * th)).epsilon(1e-5));
  }
  order.clear();
  exec.run();
  CHECK(order.size() == 4);
  CHECK_FALSE(exec.capture());
}
