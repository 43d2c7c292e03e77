// Elementwise CUDA kernels: flat maps over 16-byte vectors, broadcast maps vectorised along the last merged dim,
// dropout with the CPU's counter hash, exact dtype casts and fills.
#include <array>
#include <bit>
#include <limits>

#include "kernels/cuda/device_math.cuh"
#include "kernels/cuda/dispatch.cuh"
#include "kernels/cuda/elementwise.h"

namespace hanvit::cuda {
namespace {

constexpr int kThreads = 256;
constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kInvSqrt2 = 0.7071067811865476f;
constexpr float kInvSqrt2Pi = 0.3989422804014327f;

// ---- the maths of kernels/cpu/elementwise.cpp, in f32 ----

template <BinaryOp op>
struct Binary {
  __device__ float operator()(float x, float y) const {
    if constexpr (op == BinaryOp::add)
      return x + y;
    else if constexpr (op == BinaryOp::sub)
      return x - y;
    else if constexpr (op == BinaryOp::mul)
      return x * y;
    else
      return x / y;
  }
};

template <UnaryOp op>
struct Unary {
  float s;  // the *_scalar operand
  __device__ float operator()(float v) const {
    if constexpr (op == UnaryOp::neg)
      return -v;
    else if constexpr (op == UnaryOp::exp)
      return expf(v);
    else if constexpr (op == UnaryOp::log)
      return logf(v);
    else if constexpr (op == UnaryOp::sqrt)
      return sqrtf(v);
    else if constexpr (op == UnaryOp::rsqrt)
      return 1.0f / sqrtf(v);
    else if constexpr (op == UnaryOp::tanh)
      return tanhf(v);
    else if constexpr (op == UnaryOp::gelu_tanh)
      return 0.5f * v * (1.0f + tanhf(kSqrt2OverPi * (v + 0.044715f * v * v * v)));
    else if constexpr (op == UnaryOp::gelu_erf)
      return 0.5f * v * (1.0f + erff(v * kInvSqrt2));
    else if constexpr (op == UnaryOp::silu)
      return v / (1.0f + expf(-v));
    else if constexpr (op == UnaryOp::add_scalar)
      return v + s;
    else if constexpr (op == UnaryOp::mul_scalar)
      return v * s;
    else
      return powf(v, s);
  }
};

// dx from (x, dy)
template <ActivationGrad op>
struct Grad {
  __device__ float operator()(float v, float dy) const {
    if constexpr (op == ActivationGrad::gelu_tanh) {
      const float t = tanhf(kSqrt2OverPi * (v + 0.044715f * v * v * v));
      const float d_inner = kSqrt2OverPi * (1.0f + 3.0f * 0.044715f * v * v);
      return dy * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * d_inner);
    } else if constexpr (op == ActivationGrad::gelu_erf) {
      return dy * (0.5f * (1.0f + erff(v * kInvSqrt2)) + v * kInvSqrt2Pi * expf(-0.5f * v * v));
    } else {
      const float sig = 1.0f / (1.0f + expf(-v));
      return dy * sig * (1.0f + v * (1.0f - sig));
    }
  }
};

struct Swiglu {
  __device__ float operator()(float gate, float up) const { return gate / (1.0f + expf(-gate)) * up; }
};

// ---- launch geometry ----

// Threads for `vectors` whole vectors followed by `n - vectors * vec` single elements.
unsigned blocks_for(int64_t n, int64_t vectors, int vec) {
  const int64_t tail = n - vectors * vec;
  return grid_for(vectors > tail ? vectors : tail, kThreads);
}

bool aligned_to(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

// Calls fn with a value of the index type for n elements: 32-bit when every index fits.
template <typename Fn>
void by_index(int64_t n, Fn&& fn) {
  if (n <= std::numeric_limits<int32_t>::max()) {
    fn(uint32_t{});
  } else {
    fn(int64_t{});
  }
}

// ---- flat maps: x, z and y (n) contiguous; the first n_vec * kVec elements as aligned vectors ----

template <typename T, typename Fn>
__global__ void map1_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t n, int64_t n_vec, Fn fn) {
  constexpr int V = kVec<T>;
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  for (int64_t v = first; v < n_vec; v += stride) {
    const Vec<T> in = load_vec(x + v * V);
    Vec<T> out;
#pragma unroll
    for (int j = 0; j < V; ++j) out.v[j] = from_f32<T>(fn(to_f32(in.v[j])));
    store_vec(y + v * V, out);
  }
  for (int64_t i = n_vec * V + first; i < n; i += stride) y[i] = from_f32<T>(fn(to_f32(x[i])));
}

template <typename T, typename Fn>
__global__ void map2_kernel(const T* __restrict__ x, const T* __restrict__ z, T* __restrict__ y, int64_t n,
                            int64_t n_vec, Fn fn) {
  constexpr int V = kVec<T>;
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  for (int64_t v = first; v < n_vec; v += stride) {
    const Vec<T> in_x = load_vec(x + v * V), in_z = load_vec(z + v * V);
    Vec<T> out;
#pragma unroll
    for (int j = 0; j < V; ++j) out.v[j] = from_f32<T>(fn(to_f32(in_x.v[j]), to_f32(in_z.v[j])));
    store_vec(y + v * V, out);
  }
  for (int64_t i = n_vec * V + first; i < n; i += stride) y[i] = from_f32<T>(fn(to_f32(x[i]), to_f32(z[i])));
}

template <typename T, typename Fn>
void launch_map1(const void* x, void* y, int64_t n, Fn fn, cudaStream_t stream) {
  if (n == 0) return;
  const int64_t n_vec = aligned16(x) && aligned16(y) ? n / kVec<T> : 0;
  map1_kernel<<<blocks_for(n, n_vec, kVec<T>), kThreads, 0, stream>>>(static_cast<const T*>(x), static_cast<T*>(y), n,
                                                                      n_vec, fn);
  HANVIT_CUDA_CHECK_LAUNCH("map1_kernel");
}

template <typename T, typename Fn>
void launch_map2(const void* x, const void* z, void* y, int64_t n, Fn fn, cudaStream_t stream) {
  if (n == 0) return;
  const int64_t n_vec = aligned16(x) && aligned16(z) && aligned16(y) ? n / kVec<T> : 0;
  map2_kernel<<<blocks_for(n, n_vec, kVec<T>), kThreads, 0, stream>>>(
      static_cast<const T*>(x), static_cast<const T*>(z), static_cast<T*>(y), n, n_vec, fn);
  HANVIT_CUDA_CHECK_LAUNCH("map2_kernel");
}

// ---- broadcasting: N operands' element strides over the output shape, merged to the fewest dims ----

template <int N>
struct Broadcast {
  int rank = 0;
  int64_t sizes[kMaxRank] = {};
  int64_t strides[N][kMaxRank] = {};  // 0 on broadcast dims
};

// Size-1 dims dropped; a dim merges into the one before it when every operand reads the pair as one dim. A
// single-element output keeps one dim of size 1.
template <int N>
Broadcast<N> broadcast_dims(std::span<const int64_t> out_shape, const std::array<std::span<const int64_t>, N>& shapes) {
  StridedIndex operand[N];
  for (int k = 0; k < N; ++k) operand[k] = make_broadcast_index(out_shape, shapes[k]);
  Broadcast<N> b;
  for (size_t d = 0; d < out_shape.size(); ++d) {
    const int64_t size = out_shape[d];
    if (size == 1) continue;
    bool merge = b.rank > 0;
    for (int k = 0; k < N && merge; ++k) merge = b.strides[k][b.rank - 1] == operand[k].strides[d] * size;
    if (!merge) ++b.rank;
    const int at = b.rank - 1;
    b.sizes[at] = merge ? b.sizes[at] * size : size;
    for (int k = 0; k < N; ++k) b.strides[k][at] = operand[k].strides[d];
  }
  if (b.rank == 0) {
    b.rank = 1;
    b.sizes[0] = 1;
  }
  return b;
}

// Vectors of kVec output elements that the broadcast kernels can take whole: each lies in one row of the last
// merged dim (or there is only one dim, and a scalar tail follows) and reads every operand either as an aligned
// contiguous run (last stride 1, row starts on vector boundaries) or as one repeated element (last stride 0).
template <int N>
int64_t broadcast_vectors(const Broadcast<N>& b, int64_t n, int vec, const void* out, size_t out_size,
                          const std::array<const void*, N>& operands, const std::array<size_t, N>& sizes) {
  const int last = b.rank - 1;
  if ((b.rank > 1 && b.sizes[last] % vec != 0) || !aligned_to(out, vec * out_size)) return 0;
  for (int k = 0; k < N; ++k) {
    const int64_t step = b.strides[k][last];
    if (step == 0) continue;
    if (step != 1 || !aligned_to(operands[k], vec * sizes[k])) return 0;
    for (int d = 0; d < last; ++d)
      if (b.strides[k][d] % vec != 0) return 0;
  }
  return n / vec;
}

// Device copy of a Broadcast with the index type the kernel runs on.
template <typename Index, int N>
struct Offsets {
  int rank;
  Index sizes[kMaxRank];
  Index strides[N][kMaxRank];
  bool contiguous[N];  // last merged dim read with stride 1 (else 0, in the vector path)

  // Element offsets of the operands for output index `linear`.
  __device__ __forceinline__ void at(Index linear, Index (&offset)[N]) const {
#pragma unroll
    for (int k = 0; k < N; ++k) offset[k] = 0;
    for (int d = rank - 1; d > 0; --d) {
      const Index q = linear / sizes[d];
      const Index i = linear - q * sizes[d];
#pragma unroll
      for (int k = 0; k < N; ++k) offset[k] += i * strides[k][d];
      linear = q;
    }
#pragma unroll
    for (int k = 0; k < N; ++k) offset[k] += linear * strides[k][0];
  }
};

template <typename Index, int N>
Offsets<Index, N> device_offsets(const Broadcast<N>& b) {
  Offsets<Index, N> o{};
  o.rank = b.rank;
  for (int d = 0; d < b.rank; ++d) {
    o.sizes[d] = static_cast<Index>(b.sizes[d]);
    for (int k = 0; k < N; ++k) o.strides[k][d] = static_cast<Index>(b.strides[k][d]);
  }
  for (int k = 0; k < N; ++k) o.contiguous[k] = b.strides[k][b.rank - 1] == 1;
  return o;
}

template <typename T, typename Index>
__device__ __forceinline__ Vec<T> load_operand(const T* p, Index at, bool contiguous) {
  if (contiguous) return load_vec(p + at);
  Vec<T> v;
  const T value = p[at];
#pragma unroll
  for (int j = 0; j < kVec<T>; ++j) v.v[j] = value;
  return v;
}

// kVec<T> mask bytes, aligned to their size.
template <int N>
struct alignas(N) MaskVec {
  uint8_t v[N];
};

template <int N, typename Index>
__device__ __forceinline__ MaskVec<N> load_mask(const uint8_t* p, Index at, bool contiguous) {
  if (contiguous) return *reinterpret_cast<const MaskVec<N>*>(p + at);
  MaskVec<N> m;
  const uint8_t value = p[at];
#pragma unroll
  for (int j = 0; j < N; ++j) m.v[j] = value;
  return m;
}

// out (n) = fn(a, b) with a and b broadcast through `index`.
template <typename T, typename Index, typename Fn>
__global__ void binary_broadcast_kernel(const __grid_constant__ Offsets<Index, 2> index, const T* a, const T* b, T* out,
                                        Index n, Index n_vec, Fn fn) {
  constexpr int V = kVec<T>;
  const Index stride = static_cast<Index>(blockDim.x) * gridDim.x;
  const Index first = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x;
  Index at[2];
  for (Index v = first; v < n_vec; v += stride) {
    index.at(v * V, at);
    const Vec<T> va = load_operand(a, at[0], index.contiguous[0]), vb = load_operand(b, at[1], index.contiguous[1]);
    Vec<T> r;
#pragma unroll
    for (int j = 0; j < V; ++j) r.v[j] = from_f32<T>(fn(to_f32(va.v[j]), to_f32(vb.v[j])));
    store_vec(out + v * V, r);
  }
  for (Index i = n_vec * V + first; i < n; i += stride) {
    index.at(i, at);
    out[i] = from_f32<T>(fn(to_f32(a[at[0]]), to_f32(b[at[1]])));
  }
}

// out (n) = cond ? a : b, all three broadcast through `index` (operands cond, a, b).
template <typename T, typename Index>
__global__ void where_kernel(const __grid_constant__ Offsets<Index, 3> index, const uint8_t* cond, const T* a,
                             const T* b, T* out, Index n, Index n_vec) {
  constexpr int V = kVec<T>;
  const Index stride = static_cast<Index>(blockDim.x) * gridDim.x;
  const Index first = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x;
  Index at[3];
  for (Index v = first; v < n_vec; v += stride) {
    index.at(v * V, at);
    const MaskVec<V> c = load_mask<V>(cond, at[0], index.contiguous[0]);
    const Vec<T> va = load_operand(a, at[1], index.contiguous[1]), vb = load_operand(b, at[2], index.contiguous[2]);
    Vec<T> r;
#pragma unroll
    for (int j = 0; j < V; ++j) r.v[j] = c.v[j] ? va.v[j] : vb.v[j];
    store_vec(out + v * V, r);
  }
  for (Index i = n_vec * V + first; i < n; i += stride) {
    index.at(i, at);
    out[i] = cond[at[0]] ? a[at[1]] : b[at[2]];
  }
}

// out (n) = mask ? value : x, mask and x read through `index` (operands mask, x).
template <typename T, typename Index>
__global__ void masked_fill_kernel(const __grid_constant__ Offsets<Index, 2> index, const uint8_t* mask, const T* x,
                                   float value, T* out, Index n, Index n_vec) {
  constexpr int V = kVec<T>;
  const T fill = from_f32<T>(value);
  const Index stride = static_cast<Index>(blockDim.x) * gridDim.x;
  const Index first = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x;
  Index at[2];
  for (Index v = first; v < n_vec; v += stride) {
    index.at(v * V, at);
    const MaskVec<V> m = load_mask<V>(mask, at[0], index.contiguous[0]);
    const Vec<T> vx = load_operand(x, at[1], index.contiguous[1]);
    Vec<T> r;
#pragma unroll
    for (int j = 0; j < V; ++j) r.v[j] = m.v[j] ? fill : vx.v[j];
    store_vec(out + v * V, r);
  }
  for (Index i = n_vec * V + first; i < n; i += stride) {
    index.at(i, at);
    out[i] = mask[at[0]] ? fill : x[at[1]];
  }
}

template <BinaryOp op, typename T>
void launch_binary(std::span<const int64_t> out_shape, const void* a, std::span<const int64_t> a_shape, const void* b,
                   std::span<const int64_t> b_shape, void* out, int64_t n, cudaStream_t stream) {
  const Broadcast<2> dims = broadcast_dims<2>(out_shape, {a_shape, b_shape});
  if (dims.rank == 1 && dims.strides[0][0] == 1 && dims.strides[1][0] == 1)
    return launch_map2<T>(a, b, out, n, Binary<op>{}, stream);
  const int64_t n_vec = broadcast_vectors<2>(dims, n, kVec<T>, out, sizeof(T), {a, b}, {sizeof(T), sizeof(T)});
  by_index(n, [&](auto tag) {
    using Index = decltype(tag);
    binary_broadcast_kernel<<<blocks_for(n, n_vec, kVec<T>), kThreads, 0, stream>>>(
        device_offsets<Index>(dims), static_cast<const T*>(a), static_cast<const T*>(b), static_cast<T*>(out),
        static_cast<Index>(n), static_cast<Index>(n_vec), Binary<op>{});
    HANVIT_CUDA_CHECK_LAUNCH("binary_broadcast_kernel");
  });
}

// ---- dropout: cpu::dropout_keeps on the device ----

__device__ __forceinline__ uint64_t mix64(uint64_t z) {  // splitmix64 finaliser
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// seed_mix = seed * 0x9e3779b97f4a7c15 (the CPU's first step, hoisted)
__device__ __forceinline__ bool dropout_keeps(uint64_t seed_mix, int64_t index, float p) {
  const uint64_t bits = mix64(seed_mix + static_cast<uint64_t>(index));
  return static_cast<float>(bits >> 40) * (1.0f / 16777216.0f) >= p;  // 24 bits in [0, 1)
}

template <typename T>
__global__ void dropout_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t n, int64_t n_vec, float p,
                               float scale, uint64_t seed_mix) {
  constexpr int V = kVec<T>;
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  for (int64_t v = first; v < n_vec; v += stride) {
    const Vec<T> in = load_vec(x + v * V);
    Vec<T> out;
#pragma unroll
    for (int j = 0; j < V; ++j)
      out.v[j] = from_f32<T>(dropout_keeps(seed_mix, v * V + j, p) ? to_f32(in.v[j]) * scale : 0.0f);
    store_vec(y + v * V, out);
  }
  for (int64_t i = n_vec * V + first; i < n; i += stride)
    y[i] = from_f32<T>(dropout_keeps(seed_mix, i, p) ? to_f32(x[i]) * scale : 0.0f);
}

// ---- casts: Tensor::copy_from's conversions bit for bit. Sources widen exactly to f32 (float dtypes) or i32
// (integer dtypes); the CPU's detour through double changes nothing for these values. ----

__device__ __forceinline__ float widen(float x) { return x; }
__device__ __forceinline__ float widen(__nv_bfloat16 x) {
  return __uint_as_float(static_cast<uint32_t>(__bfloat16_as_ushort(x)) << 16);
}
__device__ __forceinline__ float widen(__half x) {
  const uint32_t bits = __half_as_ushort(x);
  if ((bits & 0x7c00u) == 0x7c00u && (bits & 0x3ffu) != 0)  // NaN keeps sign and payload, as f16_to_f32
    return __uint_as_float(((bits & 0x8000u) << 16) | 0x7f800000u | ((bits & 0x3ffu) << 13));
  return __half2float(x);
}
__device__ __forceinline__ int32_t widen(int32_t x) { return x; }
__device__ __forceinline__ int32_t widen(uint8_t x) { return x; }

// static_cast<int32_t>(double) as x86 computes it: truncation, INT32_MIN when out of range or NaN.
__device__ __forceinline__ int32_t truncate_x86(float x) {
  return x >= -2147483648.0f && x < 2147483648.0f ? __float2int_rz(x) : INT32_MIN;
}

__device__ __forceinline__ void narrow(float x, float& y) { y = x; }
__device__ __forceinline__ void narrow(float x, __nv_bfloat16& y) {  // f32_to_bf16
  const uint32_t bits = __float_as_uint(x);
  const bool nan = (bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu) != 0;
  const uint32_t rounded = nan ? (bits >> 16) | 0x0040u : (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
  y = __ushort_as_bfloat16(static_cast<unsigned short>(rounded));
}
__device__ __forceinline__ void narrow(float x, __half& y) {  // f32_to_f16: NaN becomes the quiet NaN of its sign
  y = x != x ? __ushort_as_half(static_cast<unsigned short>(((__float_as_uint(x) >> 16) & 0x8000u) | 0x7e00u))
             : __float2half_rn(x);
}
__device__ __forceinline__ void narrow(float x, int32_t& y) { y = truncate_x86(x); }
__device__ __forceinline__ void narrow(float x, uint8_t& y) { y = static_cast<uint8_t>(truncate_x86(x)); }
__device__ __forceinline__ void narrow(int32_t x, float& y) { y = __int2float_rn(x); }
__device__ __forceinline__ void narrow(int32_t x, __nv_bfloat16& y) { narrow(__int2float_rn(x), y); }
__device__ __forceinline__ void narrow(int32_t x, __half& y) { narrow(__int2float_rn(x), y); }
__device__ __forceinline__ void narrow(int32_t x, int32_t& y) { y = x; }
__device__ __forceinline__ void narrow(int32_t x, uint8_t& y) { y = static_cast<uint8_t>(x); }

// Elements per thread step of a cast: 16 bytes of the wider type.
template <typename In, typename Out>
inline constexpr int kCastPack = 16 / (sizeof(In) > sizeof(Out) ? sizeof(In) : sizeof(Out));

template <typename T, int N>
struct alignas(sizeof(T) * N) Pack {
  T v[N];
};

template <typename In, typename Out>
__global__ void cast_kernel(const In* __restrict__ x, Out* __restrict__ y, int64_t n, int64_t n_pack) {
  constexpr int N = kCastPack<In, Out>;
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  for (int64_t p = first; p < n_pack; p += stride) {
    const Pack<In, N> in = *reinterpret_cast<const Pack<In, N>*>(x + p * N);
    Pack<Out, N> out;
#pragma unroll
    for (int j = 0; j < N; ++j) narrow(widen(in.v[j]), out.v[j]);
    *reinterpret_cast<Pack<Out, N>*>(y + p * N) = out;
  }
  for (int64_t i = n_pack * N + first; i < n; i += stride) narrow(widen(x[i]), y[i]);
}

// Calls fn with a value of the storage type of `dtype`.
template <typename Fn>
void by_storage(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::f32:
      return fn(float{});
    case DType::bf16:
      return fn(__nv_bfloat16{});
    case DType::f16:
      return fn(__half{});
    case DType::i32:
      return fn(int32_t{});
    case DType::u8:
      return fn(uint8_t{});
  }
  throw std::invalid_argument("cast: unknown dtype");
}

// ---- fill ----

template <typename T>
__global__ void fill_kernel(T* __restrict__ out, int64_t n, int64_t n_vec, T value) {
  constexpr int V = kVec<T>;
  Vec<T> splat;
#pragma unroll
  for (int j = 0; j < V; ++j) splat.v[j] = value;
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  for (int64_t v = first; v < n_vec; v += stride) store_vec(out + v * V, splat);
  for (int64_t i = n_vec * V + first; i < n; i += stride) out[i] = value;
}

}  // namespace

void fill(DType dtype, void* out, int64_t n, double value, cudaStream_t stream) {
  if (n == 0) return;
  uint32_t bits = 0;
  switch (dtype) {
    case DType::f32:
      bits = std::bit_cast<uint32_t>(static_cast<float>(value));
      break;
    case DType::bf16:
      bits = f32_to_bf16(static_cast<float>(value));
      break;
    case DType::f16:
      bits = f32_to_f16(static_cast<float>(value));
      break;
    case DType::i32:
      bits = static_cast<uint32_t>(static_cast<int32_t>(value));
      break;
    case DType::u8:
      bits = static_cast<uint8_t>(value);
      break;
  }
  HANVIT_DISPATCH_BYTES(dtype, "full", T, {
    const int64_t n_vec = aligned16(out) ? n / kVec<T> : 0;
    fill_kernel<<<blocks_for(n, n_vec, kVec<T>), kThreads, 0, stream>>>(static_cast<T*>(out), n, n_vec,
                                                                        static_cast<T>(bits));
    HANVIT_CUDA_CHECK_LAUNCH("fill_kernel");
  });
}

void binary(BinaryOp op, DType dtype, std::span<const int64_t> out_shape, const void* a,
            std::span<const int64_t> a_shape, const void* b, std::span<const int64_t> b_shape, void* out,
            cudaStream_t stream) {
  int64_t n = 1;
  for (int64_t d : out_shape) n *= d;
  if (n == 0) return;
  HANVIT_DISPATCH_FLOAT(dtype, "binary", T, {
    switch (op) {
      case BinaryOp::add:
        return launch_binary<BinaryOp::add, T>(out_shape, a, a_shape, b, b_shape, out, n, stream);
      case BinaryOp::sub:
        return launch_binary<BinaryOp::sub, T>(out_shape, a, a_shape, b, b_shape, out, n, stream);
      case BinaryOp::mul:
        return launch_binary<BinaryOp::mul, T>(out_shape, a, a_shape, b, b_shape, out, n, stream);
      case BinaryOp::div:
        return launch_binary<BinaryOp::div, T>(out_shape, a, a_shape, b, b_shape, out, n, stream);
    }
  });
}

void unary(UnaryOp op, DType dtype, const void* x, void* y, int64_t n, float scalar, cudaStream_t stream) {
  HANVIT_DISPATCH_FLOAT(dtype, "unary", T, {
    switch (op) {
      case UnaryOp::neg:
        return launch_map1<T>(x, y, n, Unary<UnaryOp::neg>{scalar}, stream);
      case UnaryOp::exp:
        return launch_map1<T>(x, y, n, Unary<UnaryOp::exp>{scalar}, stream);
      case UnaryOp::log:
        return launch_map1<T>(x, y, n, Unary<UnaryOp::log>{scalar}, stream);
      case UnaryOp::sqrt:
        return launch_map1<T>(x, y, n, Unary<UnaryOp::sqrt>{scalar}, stream);
      case UnaryOp::rsqrt:
        return launch_map1<T>(x, y, n, Unary<UnaryOp::rsqrt>{scalar}, stream);
      case UnaryOp::tanh:
        return launch_map1<T>(x, y, n, Unary<UnaryOp::tanh>{scalar}, stream);
      case UnaryOp::gelu_tanh:
        return launch_map1<T>(x, y, n, Unary<UnaryOp::gelu_tanh>{scalar}, stream);
      case UnaryOp::gelu_erf:
        return launch_map1<T>(x, y, n, Unary<UnaryOp::gelu_erf>{scalar}, stream);
      case UnaryOp::silu:
        return launch_map1<T>(x, y, n, Unary<UnaryOp::silu>{scalar}, stream);
      case UnaryOp::add_scalar:
        return launch_map1<T>(x, y, n, Unary<UnaryOp::add_scalar>{scalar}, stream);
      case UnaryOp::mul_scalar:
        return launch_map1<T>(x, y, n, Unary<UnaryOp::mul_scalar>{scalar}, stream);
      case UnaryOp::pow_scalar:
        return launch_map1<T>(x, y, n, Unary<UnaryOp::pow_scalar>{scalar}, stream);
    }
  });
}

void activation_grad(ActivationGrad op, DType dtype, const void* x, const void* dy, void* dx, int64_t n,
                     cudaStream_t stream) {
  HANVIT_DISPATCH_FLOAT(dtype, "activation_grad", T, {
    switch (op) {
      case ActivationGrad::gelu_tanh:
        return launch_map2<T>(x, dy, dx, n, Grad<ActivationGrad::gelu_tanh>{}, stream);
      case ActivationGrad::gelu_erf:
        return launch_map2<T>(x, dy, dx, n, Grad<ActivationGrad::gelu_erf>{}, stream);
      case ActivationGrad::silu:
        return launch_map2<T>(x, dy, dx, n, Grad<ActivationGrad::silu>{}, stream);
    }
  });
}

void swiglu(DType dtype, const void* gate, const void* up, void* out, int64_t n, cudaStream_t stream) {
  HANVIT_DISPATCH_FLOAT(dtype, "swiglu", T, { launch_map2<T>(gate, up, out, n, Swiglu{}, stream); });
}

void where(DType dtype, std::span<const int64_t> out_shape, const uint8_t* cond, std::span<const int64_t> cond_shape,
           const void* a, std::span<const int64_t> a_shape, const void* b, std::span<const int64_t> b_shape, void* out,
           cudaStream_t stream) {
  int64_t n = 1;
  for (int64_t d : out_shape) n *= d;
  if (n == 0) return;
  const Broadcast<3> dims = broadcast_dims<3>(out_shape, {cond_shape, a_shape, b_shape});
  HANVIT_DISPATCH_FLOAT(dtype, "where", T, {
    const int64_t n_vec =
        broadcast_vectors<3>(dims, n, kVec<T>, out, sizeof(T), {cond, a, b}, {sizeof(uint8_t), sizeof(T), sizeof(T)});
    by_index(n, [&](auto tag) {
      using Index = decltype(tag);
      where_kernel<<<blocks_for(n, n_vec, kVec<T>), kThreads, 0, stream>>>(
          device_offsets<Index>(dims), cond, static_cast<const T*>(a), static_cast<const T*>(b), static_cast<T*>(out),
          static_cast<Index>(n), static_cast<Index>(n_vec));
      HANVIT_CUDA_CHECK_LAUNCH("where_kernel");
    });
  });
}

void masked_fill(DType dtype, std::span<const int64_t> shape, const void* x, const uint8_t* mask,
                 std::span<const int64_t> mask_shape, float value, void* out, cudaStream_t stream) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (n == 0) return;
  const Broadcast<2> dims = broadcast_dims<2>(shape, {mask_shape, shape});
  HANVIT_DISPATCH_FLOAT(dtype, "masked_fill", T, {
    const int64_t n_vec =
        broadcast_vectors<2>(dims, n, kVec<T>, out, sizeof(T), {mask, x}, {sizeof(uint8_t), sizeof(T)});
    by_index(n, [&](auto tag) {
      using Index = decltype(tag);
      masked_fill_kernel<<<blocks_for(n, n_vec, kVec<T>), kThreads, 0, stream>>>(
          device_offsets<Index>(dims), mask, static_cast<const T*>(x), value, static_cast<T*>(out),
          static_cast<Index>(n), static_cast<Index>(n_vec));
      HANVIT_CUDA_CHECK_LAUNCH("masked_fill_kernel");
    });
  });
}

void dropout(DType dtype, const void* x, void* out, int64_t n, float p, uint64_t seed, cudaStream_t stream) {
  if (n == 0) return;
  const float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  const uint64_t seed_mix = seed * 0x9e3779b97f4a7c15ull;
  HANVIT_DISPATCH_FLOAT(dtype, "dropout", T, {
    const int64_t n_vec = aligned16(x) && aligned16(out) ? n / kVec<T> : 0;
    dropout_kernel<<<blocks_for(n, n_vec, kVec<T>), kThreads, 0, stream>>>(
        static_cast<const T*>(x), static_cast<T*>(out), n, n_vec, p, scale, seed_mix);
    HANVIT_CUDA_CHECK_LAUNCH("dropout_kernel");
  });
}

void cast(DType from, const void* x, DType to, void* y, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  if (from == to) {
    HANVIT_CUDA_CHECK(
        cudaMemcpyAsync(y, x, static_cast<size_t>(n) * dtype_size(from), cudaMemcpyDeviceToDevice, stream));
    return;
  }
  by_storage(from, [&](auto in_tag) {
    by_storage(to, [&](auto out_tag) {
      using In = decltype(in_tag);
      using Out = decltype(out_tag);
      constexpr int N = kCastPack<In, Out>;
      const int64_t n_pack = aligned_to(x, sizeof(In) * N) && aligned_to(y, sizeof(Out) * N) ? n / N : 0;
      cast_kernel<<<blocks_for(n, n_pack, N), kThreads, 0, stream>>>(static_cast<const In*>(x), static_cast<Out*>(y), n,
                                                                     n_pack);
      HANVIT_CUDA_CHECK_LAUNCH("cast_kernel");
    });
  });
}

}  // namespace hanvit::cuda
