// Benchmark: GFLOP/s of cpu::gemm_f32 against Eigen, OpenBLAS and oneDNN (when built in), measured in one run.
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kernels/cpu/gemm.h"

#ifdef HANVIT_BENCH_OPENBLAS
#include <cblas.h>
extern "C" void openblas_set_num_threads(int num_threads);
#endif
#ifdef HANVIT_BENCH_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif

namespace {

// A square product C (n, n) = A (n, n) * op(B); B is stored (n, n) and read transposed when trans_b.
struct Case {
  int64_t n;
  bool trans_b;
};

using RunFn = std::function<void(const Case&, const float* A, const float* B, float* C)>;

struct Impl {
  std::string name;
  RunFn run;
};

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::vector<Impl> implementations(int threads) {
  std::vector<Impl> impls;
  impls.push_back({"hanvit", [](const Case& c, const float* A, const float* B, float* C) {
                     hanvit::cpu::gemm_f32(false, c.trans_b, c.n, c.n, c.n, 1.0f, A, c.n, B, c.n, 0.0f, C, c.n);
                   }});
  Eigen::setNbThreads(threads);
  impls.push_back({"eigen", [](const Case& c, const float* A, const float* B, float* C) {
                     const Eigen::Map<const RowMatrix> a(A, c.n, c.n), b(B, c.n, c.n);
                     Eigen::Map<RowMatrix> out(C, c.n, c.n);
                     if (c.trans_b)
                       out.noalias() = a * b.transpose();
                     else
                       out.noalias() = a * b;
                   }});
#ifdef HANVIT_BENCH_OPENBLAS
  openblas_set_num_threads(threads);
  impls.push_back({"openblas", [](const Case& c, const float* A, const float* B, float* C) {
                     const int n = static_cast<int>(c.n);
                     cblas_sgemm(CblasRowMajor, CblasNoTrans, c.trans_b ? CblasTrans : CblasNoTrans, n, n, n, 1.0f, A,
                                 n, B, n, 0.0f, C, n);
                   }});
#endif
#ifdef HANVIT_BENCH_ONEDNN
  impls.push_back({"onednn", [](const Case& c, const float* A, const float* B, float* C) {
                     if (dnnl_sgemm('N', c.trans_b ? 'T' : 'N', c.n, c.n, c.n, 1.0f, A, c.n, B, c.n, 0.0f, C, c.n) !=
                         dnnl_success) {
                       std::fprintf(stderr, "bench_gemm: dnnl_sgemm failed at n=%lld\n", static_cast<long long>(c.n));
                       std::exit(1);
                     }
                   }});
#endif
  return impls;
}

// Pauses so the previous library's worker threads (OpenBLAS and OpenMP spin after a call) go idle and do not steal
// a core, then runs one warm-up and `reps` timed calls; returns the best wall time.
double best_seconds(const std::function<void()>& fn, int reps) {
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  fn();
  double best = INFINITY;
  for (int r = 0; r < reps; ++r) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

// The libraries take turns for kRounds rounds, so a burst of load from other processes hits them alike.
constexpr int kRounds = 3;

int default_reps(int64_t n) { return n <= 512 ? 10 : n <= 1024 ? 4 : n <= 2048 ? 2 : 1; }

[[noreturn]] void usage(const char* prog, int code) {
  std::fprintf(
      code == 0 ? stdout : stderr,
      "usage: %s [--quick] [--reps N]\n"
      "  --quick   only 512 and 1024 (no transposed case)\n"
      "  --reps N  timed runs per size, library and round (default 10/4/2/1 by size; 3 rounds), best reported\n",
      prog);
  std::exit(code);
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  int reps_override = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      reps_override = std::atoi(argv[++i]);
      if (reps_override <= 0) usage(argv[0], 2);
    } else if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      usage(argv[0], 0);
    } else {
      std::fprintf(stderr, "bench_gemm: unknown argument '%s'\n", argv[i]);
      usage(argv[0], 2);
    }
  }

  std::vector<Case> cases = {{512, false}, {1024, false}};
  if (!quick) cases.insert(cases.end(), {{2048, false}, {4096, false}, {2048, true}});

  const int threads = omp_get_max_threads();
  const std::vector<Impl> impls = implementations(threads);
  std::printf(
      "bench_gemm: f32 C = A * op(B), row-major, GFLOP/s, best of 3 rounds x N timed runs, each after a warm-up\n");
  std::printf("threads=%d\n", threads);
  std::printf("%-16s", "size");
  for (const Impl& impl : impls) std::printf(" %9s", impl.name.c_str());
  std::printf(" %9s %7s %9s\n", "best_ref", "ratio", "max_diff");

  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (const Case& c : cases) {
    const size_t elems = static_cast<size_t>(c.n * c.n);
    std::vector<float> A(elems), B(elems), C_ours(elems), C(elems);
    for (float& x : A) x = dist(rng);
    for (float& x : B) x = dist(rng);
    const int reps = reps_override > 0 ? reps_override : default_reps(c.n);
    const double flops = 2.0 * static_cast<double>(c.n) * c.n * c.n;

    std::vector<double> seconds(impls.size(), INFINITY);
    double max_diff = 0.0;
    for (int round = 0; round < kRounds; ++round) {
      for (size_t i = 0; i < impls.size(); ++i) {
        float* out = i == 0 ? C_ours.data() : C.data();
        seconds[i] = std::min(seconds[i], best_seconds([&] { impls[i].run(c, A.data(), B.data(), out); }, reps));
        if (i > 0 && round == 0)
          for (size_t e = 0; e < elems; ++e) max_diff = std::max(max_diff, std::fabs(double{C[e]} - C_ours[e]));
      }
    }
    std::vector<double> gflops;
    for (double s : seconds) gflops.push_back(flops / s * 1e-9);
    const auto best_ref = std::max_element(gflops.begin() + 1, gflops.end());
    const std::string label = std::to_string(c.n) + "^3 " + (c.trans_b ? "A*B^T" : "A*B");
    std::printf("%-16s", label.c_str());
    for (double g : gflops) std::printf(" %9.1f", g);
    std::printf(" %9s %7.2f %9.1e\n", impls[best_ref - gflops.begin()].name.c_str(), gflops[0] / *best_ref, max_diff);
    std::fflush(stdout);
  }
  return 0;
}
