// The CUDA backend's own machinery: caching allocator, host <-> device copies (pageable,
// pinned, larger than the staging buffer), poisoning, CUDA graph capture and replay, and a
// training step that matches the CPU. Every case skips with a message when no GPU is visible.
#ifdef HANVIT_WITH_CUDA
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "modules/backend/cuda/cuda_backend.h"
#include "modules/exec/executor.h"
#include "modules/graph/autograd.h"
#include "modules/graph/ops.h"

using namespace hanvit;

TEST_CASE("cuda/allocator size classes") {
  CHECK(DeviceAllocator::round_size(0) == 512);
  CHECK(DeviceAllocator::round_size(1) == 512);
  CHECK(DeviceAllocator::round_size(513) == 1024);
  CHECK(DeviceAllocator::round_size(1u << 20) == (1u << 20));
  CHECK(DeviceAllocator::round_size((1u << 20) + 1) == (2u << 20));
  CHECK(DeviceAllocator::round_size(5u << 20) == (6u << 20));
}

namespace {

bool no_gpu() {
  if (cuda_device_count() > 0) return false;
  WARN("no CUDA device visible: CUDA backend test skipped");
  return true;
}

std::vector<float> random_values(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

}  // namespace

TEST_CASE("cuda/allocator caches freed blocks and tracks the peak") {
  if (no_gpu()) return;
  DeviceAllocator allocator(0);
  void* a = allocator.allocate(3u << 20);
  void* b = allocator.allocate(1000);
  CHECK(allocator.stats().allocated_bytes == (4u << 20) + 1024);
  allocator.release(a);
  void* c = allocator.allocate((3u << 20) - 100);  // same size class: the cached block comes back
  CHECK(c == a);
  CHECK(allocator.stats().cache_hits == 1);
  CHECK(allocator.stats().cuda_malloc_calls == 2);
  allocator.release(b);
  allocator.release(c);
  CHECK(allocator.stats().allocated_bytes == 0);
  CHECK(allocator.stats().peak_allocated_bytes == (4u << 20) + 1024);
  allocator.empty_cache();
  CHECK(allocator.stats().reserved_bytes == 0);
  CHECK_THROWS_WITH(allocator.allocate(size_t{1} << 50), Catch::Contains("out of memory") && Catch::Contains("batch"));
}

TEST_CASE("cuda/copies round trip through pageable and pinned host memory") {
  if (no_gpu()) return;
  CudaBackend& cuda = cuda_backend(0);
  for (int64_t n : {int64_t{1}, int64_t{1000}, int64_t{10'000'001}}) {  // the last exceeds the staging buffer
    INFO("elements " << n);
    const std::vector<float> values = random_values(static_cast<size_t>(n), 7);
    Tensor host = Tensor::from_vector<float>({n}, values);
    Tensor device = to_device(host, cuda);
    CHECK(device.device() == Device::cuda(0));
    Tensor back = to_host(device);
    CHECK(std::equal(values.begin(), values.end(), back.data<float>()));
    Tensor pinned = pinned_host_empty({n}, DType::f32);
    cuda.copy(device, pinned);
    CHECK(std::equal(values.begin(), values.end(), pinned.data<float>()));
  }
}

TEST_CASE("cuda/poison writes NaN over a whole buffer") {
  if (no_gpu()) return;
  CudaBackend& cuda = cuda_backend(0);
  Tensor device(cuda.allocate(4 * 33), {33}, DType::f32);
  cuda.poison(*device.storage());
  for (double x : to_host(device).to_f64()) CHECK(std::isnan(x));
}

TEST_CASE("cuda/executor captures a training step as a CUDA graph and replays it") {
  if (no_gpu()) return;
  Graph g;
  Var x = g.input("x", {64, 96});
  Var w = g.parameter("w", {128, 96});
  Var h = gelu_tanh(matmul(x, w, false, true));  // (64, 128)
  Var loss = mean(mul(h, h), {0, 1});
  Gradients grads = backward(loss);
  Executor cpu(g, cpu_backend(), {loss, grads["w"]});
  Executor gpu(g, cuda_backend(0), {loss, grads["w"]});
  const Tensor weights = Tensor::from_vector<float>({128, 96}, random_values(128 * 96, 1));
  cpu.bind("w", weights);
  gpu.bind("w", weights);

  auto compare = [&](uint64_t seed) {
    const Tensor batch = Tensor::from_vector<float>({64, 96}, random_values(64 * 96, seed));
    cpu.bind("x", batch);
    gpu.bind("x", batch);  // copied into the buffer of the previous copy: the capture stays valid
    cpu.run();
    gpu.run();
    CHECK(to_host(gpu.value(loss)).to_f64()[0] == Approx(cpu.value(loss).to_f64()[0]).epsilon(1e-5));
    const std::vector<double> ours = to_host(gpu.value(grads["w"])).to_f64(), ref = cpu.value(grads["w"]).to_f64();
    double worst = 0;
    for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::abs(ours[i] - ref[i]) / (1e-3 + std::abs(ref[i])));
    CHECK(worst < 1e-3);
  };
  compare(2);
  REQUIRE(gpu.capture());
  CHECK(gpu.captured());
  compare(3);  // replayed with new data
  compare(4);
  CHECK(gpu.captured());
  // Binding a different device buffer drops the capture; runs go on uncaptured.
  gpu.bind("w", to_device(weights, cuda_backend(0)));
  CHECK_FALSE(gpu.captured());
  compare(5);
}

TEST_CASE("cuda/executor reports the planned peak and the allocator stays bounded over runs") {
  if (no_gpu()) return;
  CudaBackend& cuda = cuda_backend(0);
  Graph g;
  Var x = g.input("x", {256, 256});
  Var y = x;
  for (int i = 0; i < 8; ++i) y = tanh(matmul(y, x));
  Executor exec(g, cuda, {y});
  CHECK(exec.planned_peak_bytes() < exec.naive_bytes());
  exec.bind("x", Tensor::from_vector<float>({256, 256}, random_values(256 * 256, 9)));
  exec.run();
  const size_t after_first = cuda.memory_stats().allocated_bytes;
  for (int i = 0; i < 5; ++i) exec.run();
  CHECK(cuda.memory_stats().allocated_bytes == after_first);
}

TEST_CASE("cuda/the CPU backend refuses bf16 compute that CUDA runs") {
  if (no_gpu()) return;
  Graph g;
  Var a = g.input("a", {4, 8}, DType::bf16);
  Var b = g.input("b", {8, 3}, DType::bf16);
  Var c = matmul(a, b);
  CHECK_THROWS_WITH(Executor(g, cpu_backend(), {c}), Catch::Contains("matmul") && Catch::Contains("bf16"));
  Executor exec(g, cuda_backend(0), {c});
  exec.bind("a", Tensor::full({4, 8}, 0.5, DType::bf16));
  exec.bind("b", Tensor::full({8, 3}, 0.25, DType::bf16));
  exec.run();
  for (double v : to_host(exec.value(c)).to_f64()) CHECK(v == 1.0);
}
#endif
