// Row-major GEMM on cuBLASLt: C^T = B^T A^T in cuBLASLt's column-major terms, with cached plans per shape.
#include "kernels/cuda/gemm.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>

#include "kernels/cuda/cuda_check.h"

namespace hanvit::cuda {
namespace {

// What a plan is made for: the product after normalisation (a folded batch, strides 0 for one batch).
struct PlanKey {
  uintptr_t handle = 0;
  DType dtype = DType::f32;
  bool trans_a = false, trans_b = false, tf32 = false;
  GemmEpilogue epilogue = GemmEpilogue::none;
  int64_t m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldc = 0;
  int64_t batch = 1, stride_a = 0, stride_b = 0, stride_c = 0;
  uint32_t align_a = 0, align_b = 0, align_c = 0, align_bias = 0;  // bytes, what the heuristic may assume
  size_t workspace_bytes = 0;
  auto fields() const {
    return std::tie(handle, dtype, trans_a, trans_b, tf32, epilogue, m, n, k, lda, ldb, ldc, batch, stride_a, stride_b,
                    stride_c, align_a, align_b, align_c, align_bias, workspace_bytes);
  }
  bool operator<(const PlanKey& other) const { return fields() < other.fields(); }
};

// A matmul descriptor with the layouts of its operands and the algorithm the heuristic chose. In cuBLASLt's
// column-major terms the product is C^T (N, M) = op(B)^T (N, K) op(A)^T (K, M): its "A" is our B.
struct GemmPlan {
  GemmPlan() = default;
  GemmPlan(const GemmPlan&) = delete;
  GemmPlan& operator=(const GemmPlan&) = delete;
  ~GemmPlan() {
    if (layout_c) cublasLtMatrixLayoutDestroy(layout_c);
    if (layout_our_a) cublasLtMatrixLayoutDestroy(layout_our_a);
    if (layout_our_b) cublasLtMatrixLayoutDestroy(layout_our_b);
    if (desc) cublasLtMatmulDescDestroy(desc);
  }

  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t layout_our_b = nullptr;  // cuBLASLt's A
  cublasLtMatrixLayout_t layout_our_a = nullptr;  // cuBLASLt's B
  cublasLtMatrixLayout_t layout_c = nullptr;      // C and D (in place)
  cublasLtMatmulAlgo_t algo{};
  std::mutex launch_mutex;  // the bias pointer is set on the shared descriptor right before each launch
};

std::mutex plan_cache_mutex;
std::map<PlanKey, std::unique_ptr<GemmPlan>> plan_cache;

const char* epilogue_name(GemmEpilogue epilogue) {
  switch (epilogue) {
    case GemmEpilogue::none:
      return "none";
    case GemmEpilogue::bias:
      return "bias";
    case GemmEpilogue::bias_gelu:
      return "bias_gelu";
  }
  return "unknown";
}

// "bf16 (M=64, N=32, K=16) batch 2, A^T x B, lda 64 ldb 32 ldc 32, strides 1024/0/2048, epilogue none": the
// caller's product, for error messages.
std::string describe(const GemmArgs& args) {
  auto s = [](int64_t v) { return std::to_string(v); };
  return std::string(dtype_name(args.dtype)) + " (M=" + s(args.m) + ", N=" + s(args.n) + ", K=" + s(args.k) +
         ") batch " + s(args.batch) + ", " + (args.trans_a ? "A^T" : "A") + " x " + (args.trans_b ? "B^T" : "B") +
         ", lda " + s(args.lda) + " ldb " + s(args.ldb) + " ldc " + s(args.ldc) + ", strides " + s(args.stride_a) +
         "/" + s(args.stride_b) + "/" + s(args.stride_c) + ", epilogue " + epilogue_name(args.epilogue) +
         (args.allow_tf32 && args.dtype == DType::f32 ? ", tf32" : "");
}

void check(cublasStatus_t status, const char* call, const GemmArgs& args) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string("cuBLASLt error ") + cublasLtGetStatusName(status) + " in " + call +
                             " for gemm " + describe(args));
}

[[noreturn]] void invalid(const std::string& message, const GemmArgs& args) {
  throw std::invalid_argument("gemm: " + message + " in " + describe(args));
}

void validate(const GemmArgs& args) {
  if (!dtype_is_float(args.dtype)) invalid("dtype must be f32, bf16 or f16", args);
  if (args.m < 0 || args.n < 0 || args.k < 0 || args.batch < 0) invalid("negative size", args);
  if (args.batch > std::numeric_limits<int32_t>::max()) invalid("batch over 2^31 - 1", args);
  if (args.lda < std::max<int64_t>(1, args.trans_a ? args.m : args.k)) invalid("lda too small", args);
  if (args.ldb < std::max<int64_t>(1, args.trans_b ? args.k : args.n)) invalid("ldb too small", args);
  if (args.ldc < std::max<int64_t>(1, args.n)) invalid("ldc too small", args);
  if (args.batch > 1 && (args.stride_a < 0 || args.stride_b < 0 || args.stride_c < args.m * args.ldc))
    invalid("batch strides must be >= 0 and C's >= M * ldc", args);
  if (args.m == 0 || args.n == 0 || args.batch == 0) return;
  if (!args.c || (args.k > 0 && (!args.a || !args.b))) invalid("null matrix pointer", args);
  if (args.epilogue != GemmEpilogue::none && !args.bias) invalid("null bias pointer", args);
  if (args.k == 0 && (args.beta != 0.0f || args.epilogue != GemmEpilogue::none))
    invalid("K == 0 is supported with beta 0 and no epilogue only", args);
}

// The largest power of two (at most 256) dividing the address of every batch's matrix.
uint32_t alignment(const void* ptr, int64_t batch_stride_bytes) {
  const uint64_t bits = reinterpret_cast<uintptr_t>(ptr) | static_cast<uint64_t>(batch_stride_bytes) | 256u;
  return static_cast<uint32_t>(bits & (~bits + 1));
}

cudaDataType data_type(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return CUDA_R_32F;
    case DType::bf16:
      return CUDA_R_16BF;
    case DType::f16:
      return CUDA_R_16F;
    default:
      throw std::invalid_argument("gemm: no cuBLASLt type for " + std::string(dtype_name(dtype)));
  }
}

PlanKey plan_key(cublasLtHandle_t handle, const GemmArgs& args, size_t workspace_bytes) {
  PlanKey key;
  key.handle = reinterpret_cast<uintptr_t>(handle);
  key.dtype = args.dtype;
  key.trans_a = args.trans_a;
  key.trans_b = args.trans_b;
  key.tf32 = args.allow_tf32 && args.dtype == DType::f32;
  key.epilogue = args.epilogue;
  key.m = args.m;
  key.n = args.n;
  key.k = args.k;
  key.lda = args.lda;
  key.ldb = args.ldb;
  key.ldc = args.ldc;
  key.batch = args.batch;
  if (args.batch > 1) {
    key.stride_a = args.stride_a;
    key.stride_b = args.stride_b;
    key.stride_c = args.stride_c;
  }
  // A B shared by batches of A stacked row after row (and C likewise): one (batch * M, K) x (K, N) product.
  if (key.batch > 1 && key.stride_b == 0 && !key.trans_a && key.stride_a == key.m * key.lda &&
      key.stride_c == key.m * key.ldc) {
    key.m *= key.batch;
    key.batch = 1;
    key.stride_a = key.stride_c = 0;
  }
  const int64_t elem = static_cast<int64_t>(dtype_size(args.dtype));
  key.align_a = alignment(args.a, key.stride_a * elem);
  key.align_b = alignment(args.b, key.stride_b * elem);
  key.align_c = alignment(args.c, key.stride_c * elem);
  key.align_bias = args.epilogue == GemmEpilogue::none ? 0 : alignment(args.bias, 0);
  key.workspace_bytes = workspace_bytes;
  return key;
}

// A column-major (rows, cols) layout with leading dimension ld, strided over the key's batch.
void make_layout(cublasLtMatrixLayout_t& layout, const PlanKey& key, int64_t rows, int64_t cols, int64_t ld,
                 int64_t batch_stride, const GemmArgs& args) {
  check(cublasLtMatrixLayoutCreate(&layout, data_type(key.dtype), static_cast<uint64_t>(rows),
                                   static_cast<uint64_t>(cols), ld),
        "cublasLtMatrixLayoutCreate", args);
  if (key.batch == 1) return;
  const int32_t count = static_cast<int32_t>(key.batch);
  check(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)),
        "cublasLtMatrixLayoutSetAttribute(BATCH_COUNT)", args);
  check(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &batch_stride,
                                         sizeof(batch_stride)),
        "cublasLtMatrixLayoutSetAttribute(STRIDED_BATCH_OFFSET)", args);
}

std::unique_ptr<GemmPlan> make_plan(cublasLtHandle_t handle, const PlanKey& key, const GemmArgs& args) {
  auto plan = std::make_unique<GemmPlan>();
  const cublasComputeType_t compute = key.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  check(cublasLtMatmulDescCreate(&plan->desc, compute, CUDA_R_32F), "cublasLtMatmulDescCreate", args);
  auto set_desc = [&](cublasLtMatmulDescAttributes_t attribute, const auto& value, const char* call) {
    check(cublasLtMatmulDescSetAttribute(plan->desc, attribute, &value, sizeof(value)), call, args);
  };
  const int32_t op_our_b = key.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int32_t op_our_a = key.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  set_desc(CUBLASLT_MATMUL_DESC_TRANSA, op_our_b, "cublasLtMatmulDescSetAttribute(TRANSA)");
  set_desc(CUBLASLT_MATMUL_DESC_TRANSB, op_our_a, "cublasLtMatmulDescSetAttribute(TRANSB)");
  if (key.epilogue != GemmEpilogue::none) {
    // The bias runs along cuBLASLt's rows of D, i.e. along our N.
    const uint32_t epilogue = key.epilogue == GemmEpilogue::bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_GELU_BIAS;
    const int32_t bias_type = data_type(key.dtype);
    set_desc(CUBLASLT_MATMUL_DESC_EPILOGUE, epilogue, "cublasLtMatmulDescSetAttribute(EPILOGUE)");
    set_desc(CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, bias_type, "cublasLtMatmulDescSetAttribute(BIAS_DATA_TYPE)");
    // The heuristic reads the pointer's alignment from here.
    set_desc(CUBLASLT_MATMUL_DESC_BIAS_POINTER, args.bias, "cublasLtMatmulDescSetAttribute(BIAS_POINTER)");
  }
  // Our B: (K, N) row-major is (N, K) column-major; (N, K) row-major [trans_b] is (K, N) column-major, read ^T.
  make_layout(plan->layout_our_b, key, key.trans_b ? key.k : key.n, key.trans_b ? key.n : key.k, key.ldb, key.stride_b,
              args);
  // Our A: (M, K) row-major is (K, M) column-major; (K, M) row-major [trans_a] is (M, K) column-major, read ^T.
  make_layout(plan->layout_our_a, key, key.trans_a ? key.m : key.k, key.trans_a ? key.k : key.m, key.lda, key.stride_a,
              args);
  make_layout(plan->layout_c, key, key.n, key.m, key.ldc, key.stride_c, args);

  cublasLtMatmulPreference_t preference = nullptr;
  check(cublasLtMatmulPreferenceCreate(&preference), "cublasLtMatmulPreferenceCreate", args);
  const std::unique_ptr<std::remove_pointer_t<cublasLtMatmulPreference_t>, decltype(&cublasLtMatmulPreferenceDestroy)>
      preference_owner(preference, &cublasLtMatmulPreferenceDestroy);
  auto set_preference = [&](cublasLtMatmulPreferenceAttributes_t attribute, const auto& value, const char* call) {
    check(cublasLtMatmulPreferenceSetAttribute(preference, attribute, &value, sizeof(value)), call, args);
  };
  const uint64_t workspace_bytes = key.workspace_bytes;
  set_preference(CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, workspace_bytes,
                 "cublasLtMatmulPreferenceSetAttribute(MAX_WORKSPACE_BYTES)");
  set_preference(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, key.align_b,
                 "cublasLtMatmulPreferenceSetAttribute(MIN_ALIGNMENT_A_BYTES)");
  set_preference(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, key.align_a,
                 "cublasLtMatmulPreferenceSetAttribute(MIN_ALIGNMENT_B_BYTES)");
  set_preference(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, key.align_c,
                 "cublasLtMatmulPreferenceSetAttribute(MIN_ALIGNMENT_C_BYTES)");
  set_preference(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, key.align_c,
                 "cublasLtMatmulPreferenceSetAttribute(MIN_ALIGNMENT_D_BYTES)");

  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  check(cublasLtMatmulAlgoGetHeuristic(handle, plan->desc, plan->layout_our_b, plan->layout_our_a, plan->layout_c,
                                       plan->layout_c, preference, 1, &result, &found),
        "cublasLtMatmulAlgoGetHeuristic", args);
  if (found == 0) throw std::runtime_error("cuBLASLt has no algorithm for gemm " + describe(args));
  plan->algo = result.algo;
  return plan;
}

// C = 0 for K == 0: (batch, M) rows of N elements, ldc apart, batches stride_c apart.
void zero_fill(const GemmArgs& args, cudaStream_t stream) {
  const size_t elem = dtype_size(args.dtype);
  const size_t pitch = static_cast<size_t>(args.ldc) * elem, width = static_cast<size_t>(args.n) * elem;
  if (args.batch == 1 || args.stride_c == args.m * args.ldc) {
    HANVIT_CUDA_CHECK(cudaMemset2DAsync(args.c, pitch, 0, width, static_cast<size_t>(args.m * args.batch), stream));
    return;
  }
  for (int64_t b = 0; b < args.batch; ++b)
    HANVIT_CUDA_CHECK(cudaMemset2DAsync(static_cast<char*>(args.c) + static_cast<size_t>(b * args.stride_c) * elem,
                                        pitch, 0, width, static_cast<size_t>(args.m), stream));
}

}  // namespace

void gemm(cublasLtHandle_t handle, const GemmArgs& args, void* workspace, size_t workspace_bytes, cudaStream_t stream) {
  validate(args);
  if (args.m == 0 || args.n == 0 || args.batch == 0) return;
  if (args.k == 0) {
    zero_fill(args, stream);
    return;
  }
  const PlanKey key = plan_key(handle, args, workspace_bytes);
  GemmPlan* plan = nullptr;
  {
    const std::lock_guard lock(plan_cache_mutex);
    auto it = plan_cache.find(key);
    if (it == plan_cache.end()) it = plan_cache.emplace(key, make_plan(handle, key, args)).first;
    plan = it->second.get();
  }
  const std::lock_guard lock(plan->launch_mutex);
  if (key.epilogue != GemmEpilogue::none)
    check(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &args.bias, sizeof(args.bias)),
          "cublasLtMatmulDescSetAttribute(BIAS_POINTER)", args);
  check(cublasLtMatmul(handle, plan->desc, &args.alpha, args.b, plan->layout_our_b, args.a, plan->layout_our_a,
                       &args.beta, args.c, plan->layout_c, args.c, plan->layout_c, &plan->algo, workspace,
                       workspace_bytes, stream),
        "cublasLtMatmul", args);
}

}  // namespace hanvit::cuda
