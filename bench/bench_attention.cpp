// Benchmark: fused CPU attention, forward and forward+backward GFLOP/s against PyTorch measured in the same run.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cpu/attention.h"

namespace {

constexpr int64_t kBatch = 1, kHeads = 8, kDim = 64;
const std::vector<int64_t> kLengths = {256, 1024, 4096};

struct Timing {
  double fwd_ms = 0, fwdbwd_ms = 0;
};

using TorchTimings = std::map<std::pair<int64_t, int>, Timing>;  // (T, causal) -> times

struct Options {
  int reps = 3;
  std::string python = "/usr/bin/python3";
  std::string torch_script = HANVIT_SOURCE_DIR "/scripts/bench_attention_torch.py";
  bool torch = true;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_attention: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--reps") {
      o.reps = std::max(1, std::atoi(value().c_str()));
    } else if (arg == "--python") {
      o.python = value();
    } else if (arg == "--torch-script") {
      o.torch_script = value();
    } else if (arg == "--no-torch") {
      o.torch = false;
    } else {
      std::printf(
          "usage: bench_attention [--reps N] [--python PATH] [--torch-script PATH] [--no-torch]\n"
          "Times cpu::attention_forward_f32 and forward + attention_backward_f32 at B=%lld, H=%lld, D=%lld,\n"
          "T in {256, 1024, 4096}, causal and not (best of at least N runs, default 3, and 0.5 s after a\n"
          "warm-up), and the same shapes in PyTorch through PYTHON TORCH_SCRIPT (defaults /usr/bin/python3\n"
          "and scripts/bench_attention_torch.py: run from the repository root).\n",
          static_cast<long long>(kBatch), static_cast<long long>(kHeads), static_cast<long long>(kDim));
      std::exit(arg == "--help" || arg == "-h" ? 0 : 2);
    }
  }
  return o;
}

// Runs the PyTorch script and parses its "torch T=.. causal=.. fwd_ms=.. fwdbwd_ms=.." lines.
// Returns false with a reason when Python, torch or the script is unavailable.
bool torch_timings(const Options& o, int threads, TorchTimings& out, std::string& about, std::string& why) {
  std::string command = o.python + " " + o.torch_script + " --threads " + std::to_string(threads) + " --batch " +
                        std::to_string(kBatch) + " --heads " + std::to_string(kHeads) + " --dim " +
                        std::to_string(kDim) + " --reps " + std::to_string(o.reps) + " --lengths";
  for (int64_t t : kLengths) {
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
    long long t = 0;
    int causal = 0;
    Timing timing;
    char version[128] = {0}, impl[32] = {0};
    if (std::sscanf(line, "torch T=%lld causal=%d fwd_ms=%lf fwdbwd_ms=%lf", &t, &causal, &timing.fwd_ms,
                    &timing.fwdbwd_ms) == 4)
      out[{t, causal}] = timing;
    else if (std::sscanf(line, "torch version=%127s impl=%31s", version, impl) == 2)
      about = std::string("PyTorch ") + version + " (" + impl + ")";
    else
      last = line;
  }
  const int status = pclose(pipe);
  if (status != 0 || out.size() != 2 * kLengths.size()) {
    while (!last.empty() && (last.back() == '\n' || last.back() == '\r')) last.pop_back();
    why = o.python + " " + o.torch_script + " failed" + (last.empty() ? std::string() : ": " + last);
    return false;
  }
  return true;
}

// Best wall time after a warm-up run, over at least `reps` runs and at least half a second of
// runs (so short cases get many tries on a busy machine).
template <typename Fn>
double best_ms(int reps, Fn fn) {
  fn();
  double best = 1e300, total = 0;
  for (int r = 0; r < reps || (total < 500.0 && r < 1000); ++r) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    best = std::min(best, ms);
    total += ms;
  }
  return best;
}

std::vector<float> random_vector(size_t n, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  const int threads = omp_get_max_threads();
  TorchTimings torch;
  std::string about = "PyTorch", why = "disabled by --no-torch";
  const bool have_torch = options.torch && torch_timings(options, threads, torch, about, why);

  std::printf("attention f32, B=%lld H=%lld D=%lld, %d threads, best of >= %d runs and >= 0.5 s\n",
              static_cast<long long>(kBatch), static_cast<long long>(kHeads), static_cast<long long>(kDim), threads,
              options.reps);
  std::printf("FLOPs: forward 4*B*H*D*pairs (pairs = T*T, or T*(T+1)/2 causal); forward+backward 3.5x that\n");
  if (have_torch)
    std::printf("reference: %s, same shapes and thread count; ratio = torch time / ours (> 1: ours is faster)\n",
                about.c_str());
  else
    std::printf("reference: PyTorch unavailable (%s)\n", why.c_str());
  std::printf("%6s %6s | %10s %8s %10s %7s | %10s %8s %10s %7s\n", "T", "causal", "fwd ms", "GFLOP/s", "torch ms",
              "ratio", "fwd+bwd ms", "GFLOP/s", "torch ms", "ratio");

  std::mt19937 rng(0);
  for (int64_t t : kLengths) {
    const size_t n = static_cast<size_t>(kBatch * kHeads * t * kDim);
    const std::vector<float> q = random_vector(n, rng), k = random_vector(n, rng), v = random_vector(n, rng),
                             dout = random_vector(n, rng);
    std::vector<float> out(n), dq(n), dk(n), dv(n);
    const hanvit::cpu::AttentionDims dims{kBatch, kHeads, kHeads, t, t, kDim, kDim};
    const float scale = 1.0f / 8.0f;  // 1 / sqrt(64)
    for (int causal = 0; causal < 2; ++causal) {
      auto forward = [&] {
        hanvit::cpu::attention_forward_f32(dims, q.data(), k.data(), v.data(), nullptr, causal, scale, out.data());
      };
      const double fwd = best_ms(options.reps, forward);
      const double fwdbwd = best_ms(options.reps, [&] {
        forward();
        hanvit::cpu::attention_backward_f32(dims, q.data(), k.data(), v.data(), nullptr, dout.data(), causal, scale,
                                            dq.data(), dk.data(), dv.data());
      });
      const double pairs = causal ? 0.5 * static_cast<double>(t) * static_cast<double>(t + 1)
                                  : static_cast<double>(t) * static_cast<double>(t);
      const double fwd_flops = 4.0 * kBatch * kHeads * kDim * pairs, fwdbwd_flops = 3.5 * fwd_flops;
      auto gflops = [](double flops, double ms) { return flops / (ms * 1e6); };
      char torch_fwd[64] = "-", torch_fwdbwd[64] = "-", ratio_fwd[32] = "-", ratio_fwdbwd[32] = "-";
      if (have_torch) {
        const Timing& ref = torch.at({t, causal});
        std::snprintf(torch_fwd, sizeof torch_fwd, "%.2f", ref.fwd_ms);
        std::snprintf(torch_fwdbwd, sizeof torch_fwdbwd, "%.2f", ref.fwdbwd_ms);
        std::snprintf(ratio_fwd, sizeof ratio_fwd, "%.2f", ref.fwd_ms / fwd);
        std::snprintf(ratio_fwdbwd, sizeof ratio_fwdbwd, "%.2f", ref.fwdbwd_ms / fwdbwd);
      }
      std::printf("%6lld %6s | %10.2f %8.1f %10s %7s | %10.2f %8.1f %10s %7s\n", static_cast<long long>(t),
                  causal ? "yes" : "no", fwd, gflops(fwd_flops, fwd), torch_fwd, ratio_fwd, fwdbwd,
                  gflops(fwdbwd_flops, fwdbwd), torch_fwdbwd, ratio_fwdbwd);
    }
  }
  return 0;
}
