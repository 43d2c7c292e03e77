// Benchmark: TFLOP/s of hanvit::cuda::gemm (cuBLASLt, cached plans) against cublasGemmEx on the same inputs.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/gemm.h"
#include "modules/tensor/dtype.h"

namespace {

using hanvit::DType;

// C (M, N) = A (M, K) * op(B), row-major; B is stored (K, N), or (N, K) and read transposed when trans_b.
// f32 cases run on TF32 tensor cores in both implementations.
struct Case {
  int64_t m, n, k;
  bool trans_b;
  DType dtype;
};

void check_cublas(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string("cuBLAS error ") + cublasGetStatusName(status) + " in " + what);
}

class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t bytes) { HANVIT_CUDA_CHECK(cudaMalloc(&ptr_, bytes)); }
  DeviceBuffer(DeviceBuffer&& other) noexcept : ptr_(std::exchange(other.ptr_, nullptr)) {}
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(DeviceBuffer&&) = delete;
  ~DeviceBuffer() {
    if (ptr_) cudaFree(ptr_);
  }
  void* get() const { return ptr_; }

 private:
  void* ptr_ = nullptr;
};

// One input set: A, B and the C both implementations write.
struct Operands {
  DeviceBuffer a, b, c;
};

// Uniform values in [-1, 1) from a counter hash (splitmix64), stored as `dtype`.
std::vector<uint8_t> random_matrix(int64_t elems, DType dtype, uint64_t seed) {
  std::vector<uint8_t> bytes(static_cast<size_t>(elems) * hanvit::dtype_size(dtype));
  for (int64_t i = 0; i < elems; ++i) {
    uint64_t z = seed * 0x100000001b3ull + static_cast<uint64_t>(i) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    const float x = static_cast<float>(z >> 40) * 0x1p-23f - 1.0f;
    if (dtype == DType::f32) {
      std::memcpy(bytes.data() + 4 * i, &x, 4);
    } else {
      const uint16_t h = dtype == DType::bf16 ? hanvit::f32_to_bf16(x) : hanvit::f32_to_f16(x);
      std::memcpy(bytes.data() + 2 * i, &h, 2);
    }
  }
  return bytes;
}

double element(const std::vector<uint8_t>& bytes, int64_t i, DType dtype) {
  if (dtype == DType::f32) {
    float x;
    std::memcpy(&x, bytes.data() + 4 * i, 4);
    return x;
  }
  uint16_t h;
  std::memcpy(&h, bytes.data() + 2 * i, 2);
  return dtype == DType::bf16 ? hanvit::bf16_to_f32(h) : hanvit::f16_to_f32(h);
}

// ||ours - reference||_F / ||reference||_F
double relative_error(const std::vector<uint8_t>& ours, const std::vector<uint8_t>& reference, int64_t elems,
                      DType dtype) {
  double diff = 0.0, norm = 0.0;
  for (int64_t i = 0; i < elems; ++i) {
    const double o = element(ours, i, dtype), r = element(reference, i, dtype);
    diff += (o - r) * (o - r);
    norm += r * r;
  }
  return std::sqrt(diff / norm);
}

std::vector<uint8_t> download(const DeviceBuffer& buffer, size_t bytes) {
  std::vector<uint8_t> host(bytes);
  HANVIT_CUDA_CHECK(cudaMemcpy(host.data(), buffer.get(), bytes, cudaMemcpyDeviceToHost));
  return host;
}

cudaDataType cuda_type(DType dtype) {
  return dtype == DType::f32 ? CUDA_R_32F : dtype == DType::bf16 ? CUDA_R_16BF : CUDA_R_16F;
}

// What both implementations need: one stream, a cuBLASLt handle for ours, a cuBLAS handle for the reference, and a
// 32 MiB workspace each (the size CudaContext gives cuBLASLt).
struct Libraries {
  static constexpr size_t kWorkspaceBytes = 32u << 20;
  cudaStream_t stream = nullptr;
  cublasLtHandle_t lt = nullptr;
  cublasHandle_t blas = nullptr;
  DeviceBuffer lt_workspace{kWorkspaceBytes};
  DeviceBuffer blas_workspace{kWorkspaceBytes};

  Libraries() {
    HANVIT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    check_cublas(cublasLtCreate(&lt), "cublasLtCreate");
    check_cublas(cublasCreate(&blas), "cublasCreate");
    check_cublas(cublasSetStream(blas, stream), "cublasSetStream");
    check_cublas(cublasSetWorkspace(blas, blas_workspace.get(), kWorkspaceBytes), "cublasSetWorkspace");
  }
  Libraries(const Libraries&) = delete;
  Libraries& operator=(const Libraries&) = delete;
  ~Libraries() {
    cudaStreamSynchronize(stream);
    cublasDestroy(blas);
    cublasLtDestroy(lt);
    cudaStreamDestroy(stream);
  }
};

void run_ours(Libraries& libs, const Case& c, const Operands& x) {
  hanvit::cuda::GemmArgs args;
  args.dtype = c.dtype;
  args.trans_b = c.trans_b;
  args.m = c.m;
  args.n = c.n;
  args.k = c.k;
  args.a = x.a.get();
  args.lda = c.k;
  args.b = x.b.get();
  args.ldb = c.trans_b ? c.k : c.n;
  args.c = x.c.get();
  args.ldc = c.n;
  args.allow_tf32 = true;
  hanvit::cuda::gemm(libs.lt, args, libs.lt_workspace.get(), Libraries::kWorkspaceBytes, libs.stream);
}

// Row-major C = A op(B) is column-major C^T = op(B)^T A^T.
void run_cublas(Libraries& libs, const Case& c, const Operands& x) {
  const float alpha = 1.0f, beta = 0.0f;
  const cudaDataType type = cuda_type(c.dtype);
  const cublasComputeType_t compute = c.dtype == DType::f32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  const int m = static_cast<int>(c.m), n = static_cast<int>(c.n), k = static_cast<int>(c.k);
  check_cublas(cublasGemmEx(libs.blas, c.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &alpha, x.b.get(),
                            type, c.trans_b ? k : n, x.a.get(), type, k, &beta, x.c.get(), type, n, compute,
                            CUBLAS_GEMM_DEFAULT_TENSOR_OP),
               "cublasGemmEx");
}

using RunFn = std::function<void(const Operands&)>;

// Median milliseconds of each implementation over `reps` calls, each between its own pair of events. The two take
// turns (which goes first flips every call) so clock and temperature drift hits both alike; call r reads input set
// r % sets. Before timing, both run until 200 ms have passed, so clocks are up and our plan is cached.
std::array<double, 2> median_ms(const std::array<RunFn, 2>& impls, const std::vector<Operands>& sets, int reps,
                                cudaStream_t stream) {
  const auto warm_start = std::chrono::steady_clock::now();
  for (size_t w = 0; w < sets.size() || std::chrono::steady_clock::now() - warm_start < std::chrono::milliseconds(200);
       ++w) {
    for (const RunFn& run : impls) run(sets[w % sets.size()]);
    HANVIT_CUDA_CHECK(cudaStreamSynchronize(stream));
  }
  std::vector<cudaEvent_t> events(4 * static_cast<size_t>(reps));
  for (cudaEvent_t& e : events) HANVIT_CUDA_CHECK(cudaEventCreate(&e));
  for (int r = 0; r < reps; ++r) {
    for (int turn = 0; turn < 2; ++turn) {
      const int i = r % 2 == 0 ? turn : 1 - turn;
      const size_t slot = 4 * static_cast<size_t>(r) + 2 * static_cast<size_t>(i);
      HANVIT_CUDA_CHECK(cudaEventRecord(events[slot], stream));
      impls[i](sets[static_cast<size_t>(r) % sets.size()]);
      HANVIT_CUDA_CHECK(cudaEventRecord(events[slot + 1], stream));
    }
  }
  HANVIT_CUDA_CHECK(cudaStreamSynchronize(stream));
  std::array<double, 2> medians{};
  for (int i = 0; i < 2; ++i) {
    std::vector<double> ms(static_cast<size_t>(reps));
    for (int r = 0; r < reps; ++r) {
      float elapsed = 0.0f;
      const size_t slot = 4 * static_cast<size_t>(r) + 2 * static_cast<size_t>(i);
      HANVIT_CUDA_CHECK(cudaEventElapsedTime(&elapsed, events[slot], events[slot + 1]));
      ms[static_cast<size_t>(r)] = elapsed;
    }
    std::sort(ms.begin(), ms.end());
    medians[i] = reps % 2 == 1 ? ms[reps / 2] : 0.5 * (ms[reps / 2 - 1] + ms[reps / 2]);
  }
  for (cudaEvent_t e : events) HANVIT_CUDA_CHECK(cudaEventDestroy(e));
  return medians;
}

std::string label(const Case& c) {
  const std::string op = c.trans_b ? " A*B^T" : " A*B";
  if (c.m == c.n && c.n == c.k) return std::to_string(c.m) + "^3" + op;
  return std::to_string(c.m) + "x" + std::to_string(c.n) + "x" + std::to_string(c.k) + op;
}

constexpr double kMaxRelativeError = 1e-2;

[[noreturn]] void usage(const char* prog, int code) {
  std::fprintf(code == 0 ? stdout : stderr,
               "usage: %s [--quick] [--reps N]\n"
               "  --quick   only the bf16 2048^3 and 4096^3 products\n"
               "  --reps N  timed calls per case and implementation (default 50), median reported\n",
               prog);
  std::exit(code);
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  int reps = 50;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
      if (reps <= 0) usage(argv[0], 2);
    } else if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      usage(argv[0], 0);
    } else {
      std::fprintf(stderr, "bench_cuda_gemm: unknown argument '%s'\n", argv[i]);
      usage(argv[0], 2);
    }
  }

  int devices = 0;
  const cudaError_t status = cudaGetDeviceCount(&devices);
  if (status != cudaSuccess || devices == 0) {
    std::printf("bench_cuda_gemm: no CUDA device (%s), nothing to measure\n",
                status != cudaSuccess ? cudaGetErrorString(status) : "none found");
    return 0;
  }

  std::vector<Case> cases = {{2048, 2048, 2048, false, DType::bf16}, {4096, 4096, 4096, false, DType::bf16}};
  if (!quick)
    cases.insert(cases.end(), {{8192, 8192, 8192, false, DType::bf16},
                               {8192, 8192, 8192, false, DType::f32},
                               {16384, 11008, 4096, true, DType::bf16}});

  try {
    cudaDeviceProp prop{};
    HANVIT_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    int l2_bytes = 0;
    HANVIT_CUDA_CHECK(cudaDeviceGetAttribute(&l2_bytes, cudaDevAttrL2CacheSize, 0));
    Libraries libs;
    std::printf(
        "bench_cuda_gemm: row-major C = A * op(B), TFLOP/s, median of %d timed calls after a warm-up (f32: TF32)\n",
        reps);
    std::printf("device: %s, %d SMs, L2 %d MiB; ours = hanvit::cuda::gemm (cuBLASLt), ref = cublasGemmEx\n", prop.name,
                prop.multiProcessorCount, l2_bytes >> 20);
    std::printf("%-24s %5s %9s %9s %7s %5s %9s\n", "shape (MxNxK)", "dtype", "ours", "cublas", "ratio", "sets",
                "rel_err");

    bool failed = false;
    for (const Case& c : cases) {
      const size_t elem = hanvit::dtype_size(c.dtype);
      const int64_t a_elems = c.m * c.k, b_elems = c.k * c.n, c_elems = c.m * c.n;
      const size_t set_bytes = static_cast<size_t>(a_elems + b_elems + c_elems) * elem;
      // Problems that fit in L2 rotate through enough input sets to cover it four times over.
      const size_t l2 = static_cast<size_t>(l2_bytes);
      const size_t set_count = set_bytes >= 2 * l2 ? 1 : std::max<size_t>(2, (4 * l2 + set_bytes - 1) / set_bytes);
      std::vector<Operands> sets;
      for (size_t s = 0; s < set_count; ++s) {
        Operands x{DeviceBuffer(static_cast<size_t>(a_elems) * elem), DeviceBuffer(static_cast<size_t>(b_elems) * elem),
                   DeviceBuffer(static_cast<size_t>(c_elems) * elem)};
        const std::vector<uint8_t> a = random_matrix(a_elems, c.dtype, 2 * s + 1);
        const std::vector<uint8_t> b = random_matrix(b_elems, c.dtype, 2 * s + 2);
        HANVIT_CUDA_CHECK(cudaMemcpy(x.a.get(), a.data(), a.size(), cudaMemcpyHostToDevice));
        HANVIT_CUDA_CHECK(cudaMemcpy(x.b.get(), b.data(), b.size(), cudaMemcpyHostToDevice));
        sets.push_back(std::move(x));
      }

      const size_t c_bytes = static_cast<size_t>(c_elems) * elem;
      run_ours(libs, c, sets[0]);
      const std::vector<uint8_t> ours = download(sets[0].c, c_bytes);
      run_cublas(libs, c, sets[0]);
      const std::vector<uint8_t> reference = download(sets[0].c, c_bytes);
      const double error = relative_error(ours, reference, c_elems, c.dtype);
      if (!(error <= kMaxRelativeError)) failed = true;

      const std::array<double, 2> ms = median_ms(
          {[&](const Operands& x) { run_ours(libs, c, x); }, [&](const Operands& x) { run_cublas(libs, c, x); }}, sets,
          reps, libs.stream);
      const double flops = 2.0 * static_cast<double>(c.m) * static_cast<double>(c.n) * static_cast<double>(c.k);
      const double ours_tflops = flops / (ms[0] * 1e-3) * 1e-12, cublas_tflops = flops / (ms[1] * 1e-3) * 1e-12;
      std::printf("%-24s %5s %9.1f %9.1f %7.3f %5zu %9.1e%s\n", label(c).c_str(),
                  std::string(hanvit::dtype_name(c.dtype)).c_str(), ours_tflops, cublas_tflops,
                  ours_tflops / cublas_tflops, set_count, error, error <= kMaxRelativeError ? "" : "  FAIL");
      std::fflush(stdout);
    }
    if (failed) {
      std::fprintf(stderr, "bench_cuda_gemm: ours differs from cuBLAS by more than %.0e (relative Frobenius)\n",
                   kMaxRelativeError);
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cuda_gemm: %s\n", e.what());
    return 1;
  }
  return 0;
}
