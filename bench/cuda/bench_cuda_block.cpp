// Benchmark: one pre-norm transformer block's training step on the CUDA backend, eager and as a CUDA graph,
// against PyTorch eager and torch.compile on the same GPU, shapes and dtype.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_check.h"
#include "modules/backend/cuda/cuda_backend.h"
#include "modules/exec/executor.h"
#include "modules/graph/autograd.h"
#include "modules/graph/ops.h"

namespace {

using namespace hanvit;

struct BlockShape {
  int64_t batch, seq, dim, heads;
};

struct Options {
  std::vector<BlockShape> shapes = {{8, 1024, 1024, 16}, {16, 512, 768, 12}};
  std::vector<DType> dtypes = {DType::bf16, DType::f32};
  int reps = 20, warmup = 3;
  bool torch = true, compile = true;
  std::string python = "python3";
  std::string script = HANVIT_SOURCE_DIR "/scripts/bench_block_cuda_torch.py";
};

// Milliseconds; negative where unavailable.
struct Timings {
  double eager_ms = -1, graph_ms = -1;
  double planned_peak_mib = 0, naive_mib = 0, device_peak_mib = 0;
  std::string why;  // why ours is missing, or why the graph replay is
};

struct TorchTimings {
  double eager_ms = -1, compile_ms = -1, peak_mib = -1;
  std::string about, why, compile_why;
};

// Records the block's training step into g: x (B, T, C) -> LayerNorm -> causal MHA -> residual -> LayerNorm ->
// GELU MLP (4C) -> residual, loss = sum(out * w), then its backward. Returns the loss and every parameter's gradient.
std::vector<Var> record_block(Graph& g, const BlockShape& s, DType dtype) {
  const int64_t rows = s.batch * s.seq, c = s.dim, head_dim = s.dim / s.heads;
  auto param = [&](const std::string& name, const Shape& shape) { return g.parameter(name, shape, dtype); };
  // y = in W^T + b with W (out, in), as torch.nn.Linear.
  auto linear = [&](Var in, const std::string& name, int64_t out) {
    return matmul(in, param(name + ".weight", {out, in.dim(1)}), false, true) + param(name + ".bias", {out});
  };
  auto layer = [&](Var in, const std::string& name) {
    return layer_norm(in, param(name + ".weight", {c}), param(name + ".bias", {c}), 1e-5);
  };
  auto split_heads = [&](Var y) { return permute(view(y, {s.batch, s.seq, s.heads, head_dim}), {0, 2, 1, 3}); };

  Var x = view(g.input("x", {s.batch, s.seq, c}, dtype), {rows, c});  // (N, C)
  Var w = view(g.input("w", {s.batch, s.seq, c}, dtype), {rows, c});
  Var h = layer(x, "ln1");
  Var q = split_heads(linear(h, "q", c));  // (B, H, T, D)
  Var k = split_heads(linear(h, "k", c));
  Var v = split_heads(linear(h, "v", c));
  Var a = attention(q, k, v, std::nullopt, true, 1.0 / std::sqrt(static_cast<double>(head_dim)));
  Var merged = view(permute(a, {0, 2, 1, 3}), {rows, c});  // (N, C)
  Var r = x + linear(merged, "o", c);
  Var f = gelu_tanh(linear(layer(r, "ln2"), "fc1", 4 * c));  // (N, 4C)
  Var out = r + linear(f, "fc2", c);
  Var loss = sum_all(out * w);
  std::vector<Var> outputs{loss};
  for (const Var& grad : backward(loss).all()) outputs.push_back(grad);
  return outputs;
}

// Uniform in [-bound, bound) from a counter hash (splitmix64) of (seed, index), stored as `dtype`.
Tensor uniform_host(const Shape& shape, DType dtype, double bound, uint64_t seed) {
  std::vector<double> values(static_cast<size_t>(numel(shape)));
  for (size_t i = 0; i < values.size(); ++i) {
    uint64_t z = seed * 0x100000001b3ull + i * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    values[i] = bound * (static_cast<double>(z >> 11) * 0x1p-52 - 1.0);
  }
  return Tensor::from_values(shape, values, dtype);
}

// Binds the parameters (LayerNorm weight 1 and bias 0, Linear weights and biases uniform in +-1/sqrt(fan_in) as
// torch initialises them) and x, w uniform in [-1, 1), all as device tensors the executor uses in place.
void bind_all(Executor& exec, Graph& g, const BlockShape& s, DType dtype, Backend& backend) {
  uint64_t seed = 1;
  for (const Var& p : g.parameters()) {
    const std::string& name = p.node().name;
    const Shape shape = p.shape();
    Tensor host;
    if (name.rfind("ln", 0) == 0) {
      host = Tensor::full(shape, name.ends_with(".weight") ? 1.0 : 0.0, dtype);
    } else {
      const std::string weight = name.substr(0, name.rfind('.')) + ".weight";
      const int64_t fan_in = g.node(g.find_leaf(weight)).shape[1];
      host = uniform_host(shape, dtype, 1.0 / std::sqrt(static_cast<double>(fan_in)), seed++);
    }
    exec.bind(name, to_device(host, backend));
  }
  exec.bind("x", to_device(uniform_host({s.batch, s.seq, s.dim}, dtype, 1.0, 1001), backend));
  exec.bind("w", to_device(uniform_host({s.batch, s.seq, s.dim}, dtype, 1.0, 1002), backend));
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// Median milliseconds of exec.run() (which waits for the device) between two CUDA events on the backend's stream.
double median_run_ms(Executor& exec, cudaStream_t stream, int warmup, int reps) {
  for (int i = 0; i < warmup; ++i) exec.run();
  cudaEvent_t start = nullptr, stop = nullptr;
  HANVIT_CUDA_CHECK(cudaEventCreate(&start));
  HANVIT_CUDA_CHECK(cudaEventCreate(&stop));
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) {
    HANVIT_CUDA_CHECK(cudaEventRecord(start, stream));
    exec.run();
    HANVIT_CUDA_CHECK(cudaEventRecord(stop, stream));
    HANVIT_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0.0f;
    HANVIT_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    times.push_back(ms);
  }
  HANVIT_CUDA_CHECK(cudaEventDestroy(start));
  HANVIT_CUDA_CHECK(cudaEventDestroy(stop));
  return median(times);
}

// Every output's bytes, copied to the host.
std::vector<std::vector<uint8_t>> output_bytes(const Executor& exec, const std::vector<Var>& outputs) {
  std::vector<std::vector<uint8_t>> all;
  for (const Var& out : outputs) {
    const Tensor host = to_host(exec.value(out));
    const uint8_t* data = static_cast<const uint8_t*>(host.raw_data());
    all.emplace_back(data, data + host.nbytes());
  }
  return all;
}

std::string case_name(const BlockShape& s, DType dtype) {
  return "B=" + std::to_string(s.batch) + " T=" + std::to_string(s.seq) + " C=" + std::to_string(s.dim) +
         " H=" + std::to_string(s.heads) + " " + std::string(dtype_name(dtype));
}

Timings run_ours(const Options& o, const BlockShape& s, DType dtype) {
  Timings t;
  CudaBackend& backend = cuda_backend(0);
  backend.allocator().reset_peak();
  Graph g;
  const std::vector<Var> outputs = record_block(g, s, dtype);
  Executor exec(g, backend, outputs);
  bind_all(exec, g, s, dtype, backend);
  t.planned_peak_mib = static_cast<double>(exec.planned_peak_bytes()) / 1048576.0;
  t.naive_mib = static_cast<double>(exec.naive_bytes()) / 1048576.0;
  t.eager_ms = median_run_ms(exec, backend.context().stream, o.warmup, o.reps);
  const double loss = to_host(exec.value(outputs[0])).item();
  const std::vector<std::vector<uint8_t>> eager = output_bytes(exec, outputs);
  try {
    if (exec.capture()) {
      t.graph_ms = median_run_ms(exec, backend.context().stream, o.warmup, o.reps);
      if (output_bytes(exec, outputs) != eager)
        t.why = "graph replay outputs differ from the eager run's (capture or determinism bug)";
    } else {
      t.why = "the backend cannot capture";
    }
  } catch (const std::exception& e) {
    t.why = std::string("capture failed: ") + e.what();
  }
  if (!std::isfinite(loss)) t.why += (t.why.empty() ? "" : "; ") + std::string("loss is not finite");
  t.device_peak_mib = static_cast<double>(backend.memory_stats().peak_allocated_bytes) / 1048576.0;
  return t;
}

// Runs the PyTorch script for one case and parses its torch_* lines.
TorchTimings run_torch(const Options& o, const BlockShape& s, DType dtype) {
  TorchTimings t;
  std::string command = o.python + " " + o.script + " --batch " + std::to_string(s.batch) + " --seq " +
                        std::to_string(s.seq) + " --dim " + std::to_string(s.dim) + " --heads " +
                        std::to_string(s.heads) + " --dtype " + std::string(dtype_name(dtype)) + " --reps " +
                        std::to_string(o.reps) + " --warmup " + std::to_string(o.warmup) +
                        (o.compile ? "" : " --no-compile") + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) {
    t.why = "could not start " + o.python;
    return t;
  }
  char line[1024];
  std::string last;
  while (std::fgets(line, sizeof line, pipe)) {
    std::string text = line;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (std::sscanf(line, "torch_eager_ms=%lf torch_eager_peak_MiB=%lf", &t.eager_ms, &t.peak_mib) == 2) continue;
    if (std::sscanf(line, "torch_compile_ms=%lf", &t.compile_ms) == 1) continue;
    if (text.rfind("torch_compile_ms=", 0) == 0) {
      const size_t reason = text.find("reason=");
      t.compile_why = reason == std::string::npos ? text : text.substr(reason + 7);
    } else if (text.rfind("torch_version=", 0) == 0) {
      t.about = text;
    } else if (!text.empty()) {
      last = text;
    }
  }
  const int status = pclose(pipe);
  if (t.eager_ms < 0) {
    t.why = o.python + " " + o.script + " failed" + (last.empty() ? std::string() : ": " + last);
  } else if (t.compile_ms < 0 && t.compile_why.empty()) {
    t.compile_why = "the script stopped (status " + std::to_string(status) + ")" + (last.empty() ? "" : ": " + last);
  }
  return t;
}

// "12.34" (with `digits` decimals), or `missing` where unavailable.
std::string ms_str(double ms, int digits = 2, const char* missing = "-") {
  if (ms < 0) return missing;
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", digits, ms);
  return text;
}

std::string ratio_str(double torch_ms, double ours_ms) {
  if (torch_ms < 0 || ours_ms < 0) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", torch_ms / ours_ms);
  return text;
}

[[noreturn]] void usage(int code) {
  std::fprintf(code == 0 ? stdout : stderr,
               "usage: bench_cuda_block [--quick] [--reps N] [--dtype bf16|f32] [--batch B --seq T --dim C --heads H]\n"
               "                        [--python PATH] [--torch-script PATH] [--no-torch] [--no-compile]\n"
               "Times one pre-norm transformer block's forward + backward (LayerNorm, causal attention, GELU MLP 4x,\n"
               "loss = sum(out * w)) on the CUDA backend, eager and replayed as a CUDA graph, against PyTorch eager\n"
               "and torch.compile (PYTHON TORCH_SCRIPT, defaults python3 and scripts/bench_block_cuda_torch.py).\n"
               "Defaults: B=8 T=1024 C=1024 H=16 and B=16 T=512 C=768 H=12, bf16 and f32, median of 20 runs.\n"
               "  --quick   one small shape (B=4 T=256 C=512 H=8), bf16 unless --dtype says otherwise\n"
               "  --batch/--seq/--dim/--heads  one shape instead (unset ones from B=8 T=1024 C=1024 H=16)\n");
  std::exit(code);
}

Options parse(int argc, char** argv) {
  Options o;
  bool quick = false, custom = false, dtype_given = false;
  BlockShape shape{8, 1024, 1024, 16};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_cuda_block: %s needs a value\n", arg.c_str());
        usage(2);
      }
      return argv[++i];
    };
    auto positive = [&]() -> int64_t {
      const int64_t v = std::atoll(value().c_str());
      if (v <= 0) {
        std::fprintf(stderr, "bench_cuda_block: %s needs a positive value\n", arg.c_str());
        usage(2);
      }
      return v;
    };
    if (arg == "--quick") {
      quick = true;
    } else if (arg == "--reps") {
      o.reps = static_cast<int>(positive());
    } else if (arg == "--dtype") {
      const std::string name = value();
      if (name != "bf16" && name != "f32") usage(2);
      o.dtypes = {dtype_from_name(name)};
      dtype_given = true;
    } else if (arg == "--batch") {
      shape.batch = positive();
      custom = true;
    } else if (arg == "--seq") {
      shape.seq = positive();
      custom = true;
    } else if (arg == "--dim") {
      shape.dim = positive();
      custom = true;
    } else if (arg == "--heads") {
      shape.heads = positive();
      custom = true;
    } else if (arg == "--python") {
      o.python = value();
    } else if (arg == "--torch-script") {
      o.script = value();
    } else if (arg == "--no-torch") {
      o.torch = false;
    } else if (arg == "--no-compile") {
      o.compile = false;
    } else if (arg == "--help" || arg == "-h") {
      usage(0);
    } else {
      std::fprintf(stderr, "bench_cuda_block: unknown argument '%s'\n", arg.c_str());
      usage(2);
    }
  }
  if (quick) {
    o.shapes = {{4, 256, 512, 8}};
    if (!dtype_given) o.dtypes = {DType::bf16};
  }
  if (custom) o.shapes = {shape};
  for (const BlockShape& s : o.shapes)
    if (s.dim % s.heads != 0) {
      std::fprintf(stderr, "bench_cuda_block: dim %lld is not divisible by heads %lld\n", static_cast<long long>(s.dim),
                   static_cast<long long>(s.heads));
      std::exit(2);
    }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  if (cuda_device_count() == 0) {
    std::printf("bench_cuda_block: no CUDA device visible, nothing to measure\n");
    return 0;
  }
  bool failed = false;
  struct Row {
    std::string name;
    Timings ours;
    TorchTimings torch;
  };
  std::vector<Row> rows;
  try {
    CudaBackend& backend = cuda_backend(0);
    cudaDeviceProp prop{};
    HANVIT_CUDA_CHECK(cudaGetDeviceProperties(&prop, backend.context().device));
    std::printf(
        "bench_cuda_block: pre-norm block (LayerNorm, causal MHA via the attention op, GELU-tanh MLP 4x) forward + "
        "backward, loss = sum(out * w)\n");
    std::printf("device: %s; median of %d runs after %d warm-up runs, CUDA events; f32 matmuls without TF32\n",
                prop.name, o.reps, o.warmup);
    for (const BlockShape& s : o.shapes) {
      for (DType dtype : o.dtypes) {
        Row row{case_name(s, dtype), {}, {}};
        std::printf("block %s causal\n", row.name.c_str());
        try {
          row.ours = run_ours(o, s, dtype);
          std::printf(
              "hanvit_eager_ms=%s hanvit_graph_ms=%s planned_peak_MiB=%.1f naive_MiB=%.1f "
              "device_peak_MiB=%.1f\n",
              ms_str(row.ours.eager_ms, 3, "unavailable").c_str(), ms_str(row.ours.graph_ms, 3, "unavailable").c_str(),
              row.ours.planned_peak_mib, row.ours.naive_mib, row.ours.device_peak_mib);
          if (!row.ours.why.empty()) {
            failed = true;
            std::printf("hanvit problem: %s\n", row.ours.why.c_str());
          }
        } catch (const std::exception& e) {
          failed = true;
          row.ours.why = e.what();
          std::printf("hanvit unavailable: %s\n", e.what());
        }
        std::fflush(stdout);
        backend.allocator().empty_cache();  // leave the GPU's memory to the PyTorch process
        if (o.torch) {
          row.torch = run_torch(o, s, dtype);
          if (row.torch.eager_ms < 0) {
            std::printf("torch unavailable: %s\n", row.torch.why.c_str());
          } else {
            if (!row.torch.about.empty()) std::printf("%s\n", row.torch.about.c_str());
            const std::string compile = row.torch.compile_ms < 0 ? "unavailable (" + row.torch.compile_why + ")"
                                                                 : ms_str(row.torch.compile_ms, 3);
            std::printf("torch_eager_ms=%.3f torch_eager_peak_MiB=%.1f torch_compile_ms=%s\n", row.torch.eager_ms,
                        row.torch.peak_mib, compile.c_str());
            std::printf("ratio_eager=%s ratio_graph_vs_torch_eager=%s ratio_graph_vs_compile=%s\n",
                        ratio_str(row.torch.eager_ms, row.ours.eager_ms).c_str(),
                        ratio_str(row.torch.eager_ms, row.ours.graph_ms).c_str(),
                        ratio_str(row.torch.compile_ms, row.ours.graph_ms).c_str());
          }
        }
        std::fflush(stdout);
        rows.push_back(row);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cuda_block: %s\n", e.what());
    return 1;
  }
  std::printf("\nsummary (ms; ratio = torch ms / ours ms, > 1: ours is faster)\n");
  std::printf("%-30s %9s %9s %9s %9s | %11s %11s %13s\n", "case", "ours", "ours", "torch", "torch", "eager/eager",
              "eager/graph", "compile/graph");
  std::printf("%-30s %9s %9s %9s %9s |\n", "", "eager", "graph", "eager", "compile");
  for (const Row& r : rows)
    std::printf("%-30s %9s %9s %9s %9s | %11s %11s %13s\n", r.name.c_str(), ms_str(r.ours.eager_ms).c_str(),
                ms_str(r.ours.graph_ms).c_str(), ms_str(r.torch.eager_ms).c_str(), ms_str(r.torch.compile_ms).c_str(),
                ratio_str(r.torch.eager_ms, r.ours.eager_ms).c_str(),
                ratio_str(r.torch.eager_ms, r.ours.graph_ms).c_str(),
                ratio_str(r.torch.compile_ms, r.ours.graph_ms).c_str());
  return failed ? 1 : 0;
}
