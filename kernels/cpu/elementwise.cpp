// Elementwise f32 kernels; loops are written for the compiler to vectorise.
#include "kernels/cpu/elementwise.h"

#include <cmath>

#include "kernels/cpu/broadcast.h"
#include "kernels/cpu/fast_math.h"

namespace hanvit::cpu {
namespace {

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kInvSqrt2 = 0.7071067811865476f;
constexpr float kInvSqrt2Pi = 0.3989422804014327f;

template <typename Fn>
void map(const float* x, float* y, int64_t n, Fn fn) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) y[i] = fn(x[i]);
}

template <typename Fn>
void binary_rows(const std::vector<int64_t>& shape, const float* a, const int64_t* as, const float* b,
                 const int64_t* bs, float* out, Fn fn) {
  const int64_t cols = shape.empty() ? 1 : shape.back();
  const int last = static_cast<int>(shape.size()) - 1;
  const int64_t a_step = last >= 0 ? as[last] : 0, b_step = last >= 0 ? bs[last] : 0;
  for_each_row<2>(shape, {as, bs}, [&](int64_t row, const std::array<int64_t, 2>& at) {
    const float* pa = a + at[0];
    const float* pb = b + at[1];
    float* po = out + row * cols;
    if (a_step == 1 && b_step == 1) {
#pragma omp simd
      for (int64_t j = 0; j < cols; ++j) po[j] = fn(pa[j], pb[j]);
    } else if (a_step == 1 && b_step == 0) {
      const float vb = pb[0];
#pragma omp simd
      for (int64_t j = 0; j < cols; ++j) po[j] = fn(pa[j], vb);
    } else if (a_step == 0 && b_step == 1) {
      const float va = pa[0];
#pragma omp simd
      for (int64_t j = 0; j < cols; ++j) po[j] = fn(va, pb[j]);
    } else {
      for (int64_t j = 0; j < cols; ++j) po[j] = fn(pa[j * a_step], pb[j * b_step]);
    }
  });
}

inline uint64_t mix64(uint64_t z) {  // splitmix64 finaliser
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

void binary_f32(BinaryOp op, const std::vector<int64_t>& shape, const float* a, const int64_t* a_strides,
                const float* b, const int64_t* b_strides, float* out) {
  switch (op) {
    case BinaryOp::add: return binary_rows(shape, a, a_strides, b, b_strides, out, [](float x, float y) { return x + y; });
    case BinaryOp::sub: return binary_rows(shape, a, a_strides, b, b_strides, out, [](float x, float y) { return x - y; });
    case BinaryOp::mul: return binary_rows(shape, a, a_strides, b, b_strides, out, [](float x, float y) { return x * y; });
    case BinaryOp::div: return binary_rows(shape, a, a_strides, b, b_strides, out, [](float x, float y) { return x / y; });
  }
}

void unary_f32(UnaryOp op, const float* x, float* y, int64_t n, float s) {
  switch (op) {
    case UnaryOp::neg: return map(x, y, n, [](float v) { return -v; });
    case UnaryOp::exp: return map(x, y, n, [](float v) { return std::exp(v); });
    case UnaryOp::log: return map(x, y, n, [](float v) { return std::log(v); });
    case UnaryOp::sqrt: return map(x, y, n, [](float v) { return std::sqrt(v); });
    case UnaryOp::rsqrt: return map(x, y, n, [](float v) { return 1.0f / std::sqrt(v); });
    case UnaryOp::tanh: return map(x, y, n, [](float v) { return std::tanh(v); });
    case UnaryOp::gelu_tanh:
      return map(x, y, n, [](float v) { return 0.5f * v * (1.0f + tanh_f32(kSqrt2OverPi * (v + 0.044715f * v * v * v))); });
    case UnaryOp::gelu_erf: return map(x, y, n, [](float v) { return 0.5f * v * (1.0f + erf_f32(v * kInvSqrt2)); });
    case UnaryOp::silu: return map(x, y, n, [](float v) { return v / (1.0f + exp_f32(-v)); });
    case UnaryOp::add_scalar: return map(x, y, n, [s](float v) { return v + s; });
    case UnaryOp::mul_scalar: return map(x, y, n, [s](float v) { return v * s; });
    case UnaryOp::pow_scalar: return map(x, y, n, [s](float v) { return std::pow(v, s); });
  }
}

void activation_grad_f32(ActivationGrad op, const float* x, const float* dy, float* dx, int64_t n) {
  switch (op) {
    case ActivationGrad::gelu_tanh:
#pragma omp parallel for simd schedule(static) if (n > 65536)
      for (int64_t i = 0; i < n; ++i) {
        float v = x[i];
        float inner = kSqrt2OverPi * (v + 0.044715f * v * v * v);
        float t = tanh_f32(inner);
        float d_inner = kSqrt2OverPi * (1.0f + 3.0f * 0.044715f * v * v);
        dx[i] = dy[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * d_inner);
      }
      return;
    case ActivationGrad::gelu_erf:
#pragma omp parallel for simd schedule(static) if (n > 65536)
      for (int64_t i = 0; i < n; ++i) {
        float v = x[i];
        dx[i] = dy[i] * (0.5f * (1.0f + erf_f32(v * kInvSqrt2)) + v * kInvSqrt2Pi * exp_f32(-0.5f * v * v));
      }
      return;
    case ActivationGrad::silu:
#pragma omp parallel for simd schedule(static) if (n > 65536)
      for (int64_t i = 0; i < n; ++i) {
        float sig = 1.0f / (1.0f + exp_f32(-x[i]));
        dx[i] = dy[i] * sig * (1.0f + x[i] * (1.0f - sig));
      }
      return;
  }
}

void swiglu_f32(const float* gate, const float* up, float* out, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + exp_f32(-gate[i])) * up[i];
}

void where_f32(const std::vector<int64_t>& shape, const uint8_t* cond, const int64_t* cs, const float* a,
               const int64_t* as, const float* b, const int64_t* bs, float* out) {
  const int64_t cols = shape.empty() ? 1 : shape.back();
  const int last = static_cast<int>(shape.size()) - 1;
  const int64_t c_step = last >= 0 ? cs[last] : 0, a_step = last >= 0 ? as[last] : 0, b_step = last >= 0 ? bs[last] : 0;
  for_each_row<3>(shape, {cs, as, bs}, [&](int64_t row, const std::array<int64_t, 3>& at) {
    float* po = out + row * cols;
    for (int64_t j = 0; j < cols; ++j)
      po[j] = cond[at[0] + j * c_step] ? a[at[1] + j * a_step] : b[at[2] + j * b_step];
  });
}

bool dropout_keeps(uint64_t seed, int64_t index, float p) {
  uint64_t bits = mix64(seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(index));
  float uniform = static_cast<float>(bits >> 40) * (1.0f / 16777216.0f);  // 24 bits in [0, 1)
  return uniform >= p;
}

void dropout_f32(const float* x, float* out, int64_t n, float p, uint64_t seed) {
  const float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) out[i] = dropout_keeps(seed, i, p) ? x[i] * scale : 0.0f;
}

}  // namespace hanvit::cpu
