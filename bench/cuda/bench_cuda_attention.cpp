// Benchmark: fused CUDA attention in bf16, forward and forward+backward TFLOP/s against PyTorch SDPA in the same run.
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/cuda_check.h"

namespace {

constexpr int64_t kHeads = 16;
constexpr int64_t kTokens = 16 * 2048 * 16;  // B * H * T: batch = kTokens / (kHeads * T)
const std::vector<int64_t> kDims = {64, 128};
const std::vector<int64_t> kLengths = {512, 1024, 2048, 4096, 8192};
const std::vector<int64_t> kQuickLengths = {1024, 4096};

int64_t batch_for(int64_t length) { return std::max<int64_t>(1, kTokens / (kHeads * length)); }

struct Timing {
  double fwd_ms = 0, fwdbwd_ms = 0;
};

using Key = std::tuple<int64_t, int64_t, int>;  // (D, T, causal)
using Timings = std::map<Key, Timing>;

struct Options {
  int reps = 20;
  bool quick = false;
  bool torch = true;
  std::string python = "python3";
  std::string torch_script = HANVIT_SOURCE_DIR "/scripts/bench_attention_cuda_torch.py";
};

Options parse(int argc, char** argv) {
  Options o;
  bool reps_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_cuda_attention: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--reps") {
      o.reps = std::max(1, std::atoi(value().c_str()));
      reps_given = true;
    } else if (arg == "--quick") {
      o.quick = true;
    } else if (arg == "--no-torch") {
      o.torch = false;
    } else if (arg == "--python") {
      o.python = value();
    } else if (arg == "--torch-script") {
      o.torch_script = value();
    } else {
      std::printf(
          "usage: bench_cuda_attention [--quick] [--reps N] [--no-torch] [--python PATH] [--torch-script PATH]\n"
          "Times cuda::attention_forward and attention_forward + attention_backward in bf16 for D in {64, 128},\n"
          "T in {512, 1024, 2048, 4096, 8192} (--quick: 1024, 4096), H=%lld, B = %lld / (H * T), causal and not\n"
          "(median of N cudaEvent-timed runs after two warm-ups, default 20, --quick 5), and the same shapes in\n"
          "PyTorch's scaled_dot_product_attention through PYTHON TORCH_SCRIPT (defaults python3 and\n"
          "scripts/bench_attention_cuda_torch.py).\n",
          static_cast<long long>(kHeads), static_cast<long long>(kTokens));
      std::exit(arg == "--help" || arg == "-h" ? 0 : 2);
    }
  }
  if (o.quick && !reps_given) o.reps = 5;
  return o;
}

// Runs the PyTorch script and parses its "torch D=.. T=.. B=.. causal=.. fwd_ms=.. fwdbwd_ms=.." lines. Returns
// false with a reason when Python, torch, a GPU for torch or the script is unavailable.
bool torch_timings(const Options& o, const std::vector<int64_t>& lengths, Timings& out, std::string& about,
                   std::string& why) {
  std::string command = o.python + " " + o.torch_script + " --heads " + std::to_string(kHeads) + " --tokens " +
                        std::to_string(kTokens) + " --reps " + std::to_string(o.reps) + " --dims";
  for (int64_t d : kDims) {
    command += ' ';
    command += std::to_string(d);
  }
  command += " --lengths";
  for (int64_t t : lengths) {
    command += ' ';
    command += std::to_string(t);
  }
  command += " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) {
    why = "could not start " + o.python;
    return false;
  }
  char line[512];
  std::string last;
  while (std::fgets(line, sizeof line, pipe)) {
    long long d = 0, t = 0, b = 0;
    int causal = 0;
    Timing timing;
    char version[128] = {0}, device[128] = {0};
    if (std::sscanf(line, "torch D=%lld T=%lld B=%lld causal=%d fwd_ms=%lf fwdbwd_ms=%lf", &d, &t, &b, &causal,
                    &timing.fwd_ms, &timing.fwdbwd_ms) == 6) {
      if (b == batch_for(t)) out[{d, t, causal}] = timing;
    } else if (std::sscanf(line, "torch version=%127s device=%127s", version, device) == 2) {
      about = std::string("PyTorch ") + version + " on " + device;
    } else {
      last = line;
    }
  }
  const int status = pclose(pipe);
  if (status != 0 || out.size() != 2 * kDims.size() * lengths.size()) {
    while (!last.empty() && (last.back() == '\n' || last.back() == '\r')) last.pop_back();
    why = o.python + " " + o.torch_script + " failed" + (last.empty() ? std::string() : ": " + last);
    return false;
  }
  return true;
}

// Median of `reps` cudaEvent-timed runs of fn (which enqueues work on the default stream) after two warm-ups.
template <typename Fn>
double median_ms(int reps, Fn fn) {
  cudaEvent_t start, stop;
  HANVIT_CUDA_CHECK(cudaEventCreate(&start));
  HANVIT_CUDA_CHECK(cudaEventCreate(&stop));
  fn();
  fn();
  std::vector<float> times;
  for (int r = 0; r < reps; ++r) {
    HANVIT_CUDA_CHECK(cudaEventRecord(start, nullptr));
    fn();
    HANVIT_CUDA_CHECK(cudaEventRecord(stop, nullptr));
    HANVIT_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    HANVIT_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    times.push_back(ms);
  }
  HANVIT_CUDA_CHECK(cudaEventDestroy(start));
  HANVIT_CUDA_CHECK(cudaEventDestroy(stop));
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// A device buffer of n bf16 values drawn from N(0, 1).
void* random_device_bf16(size_t n, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<__nv_bfloat16> host(n);
  for (auto& x : host) x = __float2bfloat16(normal(rng));
  void* device = nullptr;
  HANVIT_CUDA_CHECK(cudaMalloc(&device, n * sizeof(__nv_bfloat16)));
  HANVIT_CUDA_CHECK(cudaMemcpy(device, host.data(), n * sizeof(__nv_bfloat16), cudaMemcpyHostToDevice));
  return device;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("bench_cuda_attention: no CUDA device available, nothing to time\n");
    return 0;
  }
  cudaDeviceProp prop{};
  HANVIT_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  const std::vector<int64_t>& lengths = options.quick ? kQuickLengths : kLengths;

  Timings torch;
  std::string about = "PyTorch", why = "disabled by --no-torch";
  const bool have_torch = options.torch && torch_timings(options, lengths, torch, about, why);

  std::printf("attention bf16 on %s, H=%lld, B*H*T=%lld, median of %d cudaEvent-timed runs\n", prop.name,
              static_cast<long long>(kHeads), static_cast<long long>(kTokens), options.reps);
  std::printf("FLOPs: forward 4*B*H*T*T*D (halved when causal), backward 2.5x forward, forward+backward 3.5x\n");
  std::printf(
      "ours: the backward first recomputes a forward pass for its row statistics (the op gets no forward state)\n");
  if (have_torch)
    std::printf("reference: %s, scaled_dot_product_attention; ratio = torch time / ours (> 1: ours is faster)\n",
                about.c_str());
  else
    std::printf("reference: PyTorch unavailable (%s)\n", why.c_str());
  std::printf("%4s %5s %3s %6s | %8s %7s %8s %7s %6s | %8s %7s %8s %7s %6s\n", "D", "T", "B", "causal", "fwd ms",
              "TFLOP/s", "torch ms", "TFLOP/s", "ratio", "f+b ms", "TFLOP/s", "torch ms", "TFLOP/s", "ratio");

  std::mt19937 rng(0);
  for (int64_t d : kDims)
    for (int64_t t : lengths) {
      const int64_t b = batch_for(t);
      const size_t n = static_cast<size_t>(b * kHeads * t * d);
      void* q = random_device_bf16(n, rng);
      void* k = random_device_bf16(n, rng);
      void* v = random_device_bf16(n, rng);
      void* dout = random_device_bf16(n, rng);
      void *out = nullptr, *grads = nullptr, *scratch = nullptr;
      const hanvit::cuda::AttentionShape shape{b, kHeads, kHeads, t, t, d, d};
      HANVIT_CUDA_CHECK(cudaMalloc(&out, n * sizeof(__nv_bfloat16)));
      HANVIT_CUDA_CHECK(cudaMalloc(&grads, 3 * n * sizeof(__nv_bfloat16)));
      HANVIT_CUDA_CHECK(cudaMalloc(&scratch, hanvit::cuda::attention_backward_scratch_bytes(shape)));
      auto* dq = static_cast<__nv_bfloat16*>(grads);
      const float scale = 1.0f / std::sqrt(static_cast<float>(d));
      for (int causal = 0; causal < 2; ++causal) {
        auto forward = [&] {
          hanvit::cuda::attention_forward(hanvit::DType::bf16, shape, q, k, v, nullptr, causal, scale, out, nullptr);
        };
        const double fwd = median_ms(options.reps, forward);
        const double fwdbwd = median_ms(options.reps, [&] {
          forward();
          hanvit::cuda::attention_backward(hanvit::DType::bf16, shape, q, k, v, nullptr, dout, causal, scale, dq,
                                           dq + n, dq + 2 * n, scratch, nullptr);
        });
        const double fwd_flops =
            4.0 * static_cast<double>(b * kHeads * d) * static_cast<double>(t * t) * (causal ? 0.5 : 1.0);
        const double fwdbwd_flops = 3.5 * fwd_flops;
        auto tflops = [](double flops, double ms) { return flops / (ms * 1e9); };
        char torch_fwd[32] = "-", torch_fwd_tf[32] = "-", ratio_fwd[32] = "-";
        char torch_fb[32] = "-", torch_fb_tf[32] = "-", ratio_fb[32] = "-";
        if (have_torch) {
          const Timing& ref = torch.at({d, t, causal});
          std::snprintf(torch_fwd, sizeof torch_fwd, "%.3f", ref.fwd_ms);
          std::snprintf(torch_fwd_tf, sizeof torch_fwd_tf, "%.1f", tflops(fwd_flops, ref.fwd_ms));
          std::snprintf(ratio_fwd, sizeof ratio_fwd, "%.2f", ref.fwd_ms / fwd);
          std::snprintf(torch_fb, sizeof torch_fb, "%.3f", ref.fwdbwd_ms);
          std::snprintf(torch_fb_tf, sizeof torch_fb_tf, "%.1f", tflops(fwdbwd_flops, ref.fwdbwd_ms));
          std::snprintf(ratio_fb, sizeof ratio_fb, "%.2f", ref.fwdbwd_ms / fwdbwd);
        }
        std::printf("%4lld %5lld %3lld %6s | %8.3f %7.1f %8s %7s %6s | %8.3f %7.1f %8s %7s %6s\n",
                    static_cast<long long>(d), static_cast<long long>(t), static_cast<long long>(b),
                    causal ? "yes" : "no", fwd, tflops(fwd_flops, fwd), torch_fwd, torch_fwd_tf, ratio_fwd, fwdbwd,
                    tflops(fwdbwd_flops, fwdbwd), torch_fb, torch_fb_tf, ratio_fb);
        std::fflush(stdout);
      }
      for (void* p : {q, k, v, dout, out, grads, scratch}) HANVIT_CUDA_CHECK(cudaFree(p));
    }
  return 0;
}
