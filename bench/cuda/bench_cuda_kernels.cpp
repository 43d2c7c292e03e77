// Benchmark: achieved bandwidth of the CUDA backend's memory-bound kernels against a device-to-device copy.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_check.h"
#include "modules/backend/cuda/cuda_backend.h"
#include "modules/graph/ops.h"

namespace {

using namespace hanvit;

struct Options {
  bool quick = false;
  int calls = 20;  // calls per timed batch (--reps)
};

// One op input: random floats in +-[0.25, 1] (never zero), or i32 values in [0, int_range), or 0..n-1.
struct InputSpec {
  Shape shape;
  DType dtype = DType::bf16;
  int64_t int_range = 0;
  bool iota = false;
};

struct Case {
  std::string op;
  DType dtype = DType::bf16;  // the float dtype the case is about
  bool targeted = false;      // norms, softmax family, cross entropy: expected >= kTarget of the copy bandwidth
  std::vector<InputSpec> inputs;
  std::function<Var(const std::vector<Var>&)> build;
  // Bytes the kernel must read, when not every input byte: a gather reads only the rows it picks.
  std::function<size_t(const std::vector<InputSpec>&, const Node&)> read_bytes;
  std::string shape;  // printed; the first input's shape when empty
};

constexpr double kTarget = 0.80;
constexpr size_t kCopyBytes = size_t{1} << 30;

size_t spec_bytes(const InputSpec& spec) { return static_cast<size_t>(numel(spec.shape)) * dtype_size(spec.dtype); }
size_t node_bytes(const Node& node) { return static_cast<size_t>(numel(node.shape)) * dtype_size(node.dtype); }

// splitmix64 of (seed, index): a counter hash, so every element is independent of fill order.
uint64_t mix(uint64_t seed, uint64_t index) {
  uint64_t z = seed * 0x100000001b3ull + index * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

Tensor random_host(const InputSpec& spec, uint64_t seed) {
  Tensor t = Tensor::empty(spec.shape, spec.dtype);
  const int64_t n = t.numel();
  uint8_t* bytes = static_cast<uint8_t*>(t.raw_data());
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t z = mix(seed, static_cast<uint64_t>(i));
    if (spec.dtype == DType::i32) {
      const int32_t v =
          static_cast<int32_t>(spec.iota ? i : static_cast<int64_t>(z % static_cast<uint64_t>(spec.int_range)));
      std::memcpy(bytes + 4 * i, &v, 4);
      continue;
    }
    const float magnitude = 0.25f + 0.75f * static_cast<float>(z >> 40) * 0x1p-24f;
    const float x = (z & 1) ? -magnitude : magnitude;
    if (spec.dtype == DType::f32) {
      std::memcpy(bytes + 4 * i, &x, 4);
    } else {
      const uint16_t h = spec.dtype == DType::bf16 ? f32_to_bf16(x) : f32_to_f16(x);
      std::memcpy(bytes + 2 * i, &h, 2);
    }
  }
  return t;
}

// Device inputs by (spec, seed), made once: several cases read the same activations.
class InputCache {
 public:
  explicit InputCache(Backend& backend) : backend_(backend) {}
  Tensor get(const InputSpec& spec, uint64_t seed) {
    const std::string key = shape_str(spec.shape) + std::string(dtype_name(spec.dtype)) + "/" +
                            std::to_string(spec.int_range) + (spec.iota ? "i" : "r") + "/" + std::to_string(seed);
    auto it = tensors_.find(key);
    if (it == tensors_.end()) it = tensors_.emplace(key, to_device(random_host(spec, seed), backend_)).first;
    return it->second;
  }

 private:
  Backend& backend_;
  std::map<std::string, Tensor> tensors_;
};

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// Median microseconds per call of `fn(call index)`: `batches` batches of `calls` calls, each batch between two
// events on `stream`. Calls run until 100 ms (and at least three calls) have passed first, so clocks are up.
double median_call_us(cudaStream_t stream, int batches, int calls, const std::function<void(int)>& fn) {
  const auto warm_start = std::chrono::steady_clock::now();
  for (int w = 0; w < 3 || std::chrono::steady_clock::now() - warm_start < std::chrono::milliseconds(100); ++w) {
    fn(w);
    HANVIT_CUDA_CHECK(cudaStreamSynchronize(stream));
  }
  std::vector<cudaEvent_t> events(2 * static_cast<size_t>(batches));
  for (cudaEvent_t& e : events) HANVIT_CUDA_CHECK(cudaEventCreate(&e));
  for (int b = 0; b < batches; ++b) {
    HANVIT_CUDA_CHECK(cudaEventRecord(events[2 * static_cast<size_t>(b)], stream));
    for (int c = 0; c < calls; ++c) fn(c);
    HANVIT_CUDA_CHECK(cudaEventRecord(events[2 * static_cast<size_t>(b) + 1], stream));
  }
  HANVIT_CUDA_CHECK(cudaStreamSynchronize(stream));
  std::vector<double> per_call;
  for (int b = 0; b < batches; ++b) {
    float ms = 0.0f;
    HANVIT_CUDA_CHECK(
        cudaEventElapsedTime(&ms, events[2 * static_cast<size_t>(b)], events[2 * static_cast<size_t>(b) + 1]));
    per_call.push_back(1e3 * ms / calls);
  }
  for (cudaEvent_t e : events) HANVIT_CUDA_CHECK(cudaEventDestroy(e));
  return median(per_call);
}

InputSpec floats(const Shape& shape, DType dtype) { return InputSpec{shape, dtype, 0, false}; }
InputSpec labels(const Shape& shape, int64_t range) { return InputSpec{shape, DType::i32, range, false}; }
InputSpec positions(int64_t count) { return InputSpec{{count}, DType::i32, 0, true}; }

using Builder = std::function<Var(const std::vector<Var>&)>;

Case& add_case(std::vector<Case>& list, std::string op, DType dtype, bool targeted, std::vector<InputSpec> inputs,
               Builder build) {
  Case c;
  c.op = std::move(op);
  c.dtype = dtype;
  c.targeted = targeted;
  c.inputs = std::move(inputs);
  c.build = std::move(build);
  list.push_back(std::move(c));
  return list.back();
}

std::vector<Case> cases(bool quick) {
  const int64_t rows = 16384, width = 4096;
  std::vector<Case> list;
  std::vector<DType> norm_dtypes = {DType::bf16};
  if (!quick) norm_dtypes.push_back(DType::f32);
  for (DType dt : norm_dtypes) {
    const InputSpec x = floats({rows, width}, dt), channel = floats({width}, dt);
    add_case(list, "layer_norm", dt, true, {x, channel, channel},
             [](const std::vector<Var>& in) { return layer_norm(in[0], in[1], in[2], 1e-5); });
    add_case(list, "layer_norm_backward", dt, true, {x, channel, x},
             [](const std::vector<Var>& in) { return layer_norm_backward(in[0], in[1], in[2], 1e-5); });
    add_case(list, "rms_norm", dt, true, {x, channel},
             [](const std::vector<Var>& in) { return rms_norm(in[0], in[1], 1e-6); });
    add_case(list, "rms_norm_backward", dt, true, {x, channel, x},
             [](const std::vector<Var>& in) { return rms_norm_backward(in[0], in[1], in[2], 1e-6); });
  }
  const InputSpec scores = floats({8192, 4096}, DType::bf16);
  add_case(list, "softmax", DType::bf16, true, {scores}, [](const std::vector<Var>& in) { return softmax(in[0]); });
  add_case(list, "softmax_backward", DType::bf16, true, {scores, scores},
           [](const std::vector<Var>& in) { return softmax_backward(in[0], in[1]); });
  add_case(list, "log_softmax", DType::bf16, true, {floats({8192, 32000}, DType::bf16)},
           [](const std::vector<Var>& in) { return log_softmax(in[0]); });
  std::vector<std::pair<int64_t, int64_t>> vocabularies = {{8192, 32000}};
  if (!quick) vocabularies.emplace_back(4096, 128256);
  for (const auto& [n, vocab] : vocabularies) {
    const InputSpec logits = floats({n, vocab}, DType::bf16), targets = labels({n}, vocab);
    add_case(list, "cross_entropy", DType::bf16, true, {logits, targets},
             [](const std::vector<Var>& in) { return cross_entropy(in[0], in[1]); });
    add_case(
        list, "cross_entropy_backward", DType::bf16, true, {logits, targets, floats({}, DType::f32)},
        [](const std::vector<Var>& in) { return cross_entropy_backward(in[0], in[1], in[2], CrossEntropyAttrs{}); });
  }
  const InputSpec activations = floats({rows, width}, DType::bf16);
  add_case(list, "add(bias)", DType::bf16, false, {activations, floats({width}, DType::bf16)},
           [](const std::vector<Var>& in) { return add(in[0], in[1]); });
  add_case(list, "gelu_tanh", DType::bf16, false, {activations},
           [](const std::vector<Var>& in) { return gelu_tanh(in[0]); });
  const int64_t batch = 4, heads = 32, seq = 2048, head_dim = 128;
  add_case(list, "rope", DType::bf16, false, {floats({batch, heads, seq, head_dim}, DType::bf16), positions(seq)},
           [](const std::vector<Var>& in) { return rope(in[0], in[1]); });
  const int64_t vocab = 32000, tokens = 16384;
  Case& lookup =
      add_case(list, "embedding", DType::bf16, false, {floats({vocab, width}, DType::bf16), labels({tokens}, vocab)},
               [](const std::vector<Var>& in) { return embedding(in[0], in[1]); });
  lookup.read_bytes = [](const std::vector<InputSpec>& in, const Node& node) {
    return spec_bytes(in[1]) + node_bytes(node);
  };
  lookup.shape = shape_str({vocab, width}) + "[" + std::to_string(tokens) + "]";
  add_case(list, "permute(0,2,1,3)", DType::bf16, false, {floats({batch, seq, heads, head_dim}, DType::bf16)},
           [](const std::vector<Var>& in) {
             return permute(in[0], {0, 2, 1, 3});
           });
  return list;
}

[[noreturn]] void usage(int code) {
  std::fprintf(code == 0 ? stdout : stderr,
               "usage: bench_cuda_kernels [--quick] [--reps N]\n"
               "  --quick   bf16 only, one cross-entropy shape, fewer batches\n"
               "  --reps N  calls per timed batch (default 20); the median batch is reported\n");
  std::exit(code);
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      options.quick = true;
    } else if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      options.calls = std::atoi(argv[++i]);
      if (options.calls <= 0) usage(2);
    } else if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      usage(0);
    } else {
      std::fprintf(stderr, "bench_cuda_kernels: unknown argument '%s'\n", argv[i]);
      usage(2);
    }
  }
  if (cuda_device_count() == 0) {
    std::printf("bench_cuda_kernels: no CUDA device visible, nothing to measure\n");
    return 0;
  }
  const int batches = options.quick ? 3 : 7;
  bool failed = false;
  try {
    CudaBackend& backend = cuda_backend(0);
    cudaStream_t stream = backend.context().stream;
    cudaDeviceProp prop{};
    HANVIT_CUDA_CHECK(cudaGetDeviceProperties(&prop, backend.context().device));
    int l2_bytes = 0;
    HANVIT_CUDA_CHECK(cudaDeviceGetAttribute(&l2_bytes, cudaDevAttrL2CacheSize, backend.context().device));

    // The ceiling: a device-to-device copy of 1 GiB, bytes read + bytes written (the bytes' values do not matter).
    double copy_gbps = 0.0;
    {
      const std::shared_ptr<Storage> src = backend.allocate(kCopyBytes), dst = backend.allocate(kCopyBytes);
      HANVIT_CUDA_CHECK(cudaMemsetAsync(src->data(), 0x3c, kCopyBytes, stream));
      const double us = median_call_us(stream, batches, std::max(1, options.calls / 4), [&](int) {
        HANVIT_CUDA_CHECK(cudaMemcpyAsync(dst->data(), src->data(), kCopyBytes, cudaMemcpyDeviceToDevice, stream));
      });
      copy_gbps = 2.0 * static_cast<double>(kCopyBytes) / (us * 1e3);
    }

    std::printf("bench_cuda_kernels: CUDA backend kernels, bytes = inputs read once + output written once\n");
    std::printf("device: %s, %d SMs, L2 %d MiB; time = median over %d batches of %d calls (CUDA events)\n", prop.name,
                prop.multiProcessorCount, l2_bytes >> 20, batches, options.calls);
    std::printf("copy_GBps=%.1f (cudaMemcpyAsync device-to-device, 1 GiB, read + write)\n", copy_gbps);
    std::printf("target: >= %.2f of the copy for norms, softmax family and cross entropy\n", kTarget);
    std::printf("%-24s %-20s %-5s %10s %9s %7s %s\n", "op", "shape", "dtype", "time_us", "GB/s", "of_copy", "target");

    InputCache cache(backend);
    for (const Case& c : cases(options.quick)) {
      const std::string shape = c.shape.empty() ? shape_str(c.inputs[0].shape) : c.shape;
      const std::string dtype(dtype_name(c.dtype));
      try {
        Graph graph(false);
        std::vector<Var> leaves;
        for (size_t i = 0; i < c.inputs.size(); ++i)
          leaves.push_back(graph.input("in" + std::to_string(i), c.inputs[i].shape, c.inputs[i].dtype));
        const Node& node = c.build(leaves).node();
        if (!backend.supports(node)) {
          std::printf("%-24s %-20s %-5s %10s\n", c.op.c_str(), shape.c_str(), dtype.c_str(), "unsupported");
          continue;
        }
        size_t read = 0;
        for (const InputSpec& spec : c.inputs) read += spec_bytes(spec);
        if (c.read_bytes) read = c.read_bytes(c.inputs, node);
        const size_t bytes = read + node_bytes(node);
        // Working sets that L2 could hold take turns with a second input set.
        const size_t sets = bytes < 4 * static_cast<size_t>(l2_bytes) ? 2 : 1;
        std::vector<std::vector<Tensor>> inputs(sets);
        for (size_t s = 0; s < sets; ++s)
          for (size_t i = 0; i < c.inputs.size(); ++i) inputs[s].push_back(cache.get(c.inputs[i], 10 * s + i + 2));
        const Tensor output(backend.allocate(node_bytes(node)), node.shape, node.dtype);
        const double us = median_call_us(stream, batches, options.calls, [&](int call) {
          backend.run(node, inputs[static_cast<size_t>(call) % sets], output);
        });
        const double gbps = static_cast<double>(bytes) / (us * 1e3), fraction = gbps / copy_gbps;
        const char* verdict = !c.targeted ? "-" : fraction >= kTarget ? "ok" : "BELOW";
        std::printf("%-24s %-20s %-5s %10.1f %9.1f %7.3f %s\n", c.op.c_str(), shape.c_str(), dtype.c_str(), us, gbps,
                    fraction, verdict);
      } catch (const std::exception& e) {
        failed = true;
        std::printf("%-24s %-20s %-5s failed: %s\n", c.op.c_str(), shape.c_str(), dtype.c_str(), e.what());
      }
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cuda_kernels: %s\n", e.what());
    return 1;
  }
  return failed ? 1 : 0;
}
