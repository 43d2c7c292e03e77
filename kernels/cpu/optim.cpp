// Optimizer update loops; each element is independent, so threads never change the results.
#include "kernels/cpu/optim.h"

#include <algorithm>
#include <cmath>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace hanvit::cpu {
namespace {

constexpr int64_t kParallelMin = 65536;  // below this, one thread is faster
constexpr int64_t kBlock = 16384;        // elements per task of a threaded loop

struct AdamwConstants {
  float decay, beta1, beta2, one_minus_beta1, one_minus_beta2, step_size, sqrt_bias_correction2, eps, grad_scale;
};

// Elements [begin, end) of one AdamW step. std::sqrt may set errno, which keeps the compiler from
// vectorising it, so the AVX-512 body is written out; the scalar loop does the rest.
void adamw_range(float* param, const float* grad, float* m, float* v, int64_t begin, int64_t end,
                 const AdamwConstants& c) {
  int64_t i = begin;
#if defined(__AVX512F__)
  const __m512 decay = _mm512_set1_ps(c.decay), beta1 = _mm512_set1_ps(c.beta1), beta2 = _mm512_set1_ps(c.beta2),
               one_minus_beta1 = _mm512_set1_ps(c.one_minus_beta1), one_minus_beta2 = _mm512_set1_ps(c.one_minus_beta2),
               step_size = _mm512_set1_ps(c.step_size), sqrt_bc2 = _mm512_set1_ps(c.sqrt_bias_correction2),
               eps = _mm512_set1_ps(c.eps), grad_scale = _mm512_set1_ps(c.grad_scale);
  for (; i + 16 <= end; i += 16) {
    const __m512 g = _mm512_mul_ps(_mm512_loadu_ps(grad + i), grad_scale);
    const __m512 mi = _mm512_add_ps(_mm512_mul_ps(beta1, _mm512_loadu_ps(m + i)), _mm512_mul_ps(one_minus_beta1, g));
    const __m512 vi = _mm512_add_ps(_mm512_mul_ps(beta2, _mm512_loadu_ps(v + i)),
                                    _mm512_mul_ps(_mm512_mul_ps(one_minus_beta2, g), g));
    _mm512_storeu_ps(m + i, mi);
    _mm512_storeu_ps(v + i, vi);
    // maskz with all lanes set is sqrt; _mm512_sqrt_ps trips GCC 12's -Wmaybe-uninitialized.
    const __m512 root = _mm512_maskz_sqrt_ps(static_cast<__mmask16>(0xFFFF), vi);
    const __m512 denom = _mm512_add_ps(_mm512_div_ps(root, sqrt_bc2), eps);
    const __m512 p = _mm512_mul_ps(_mm512_loadu_ps(param + i), decay);
    _mm512_storeu_ps(param + i, _mm512_sub_ps(p, _mm512_mul_ps(step_size, _mm512_div_ps(mi, denom))));
  }
#endif
  for (; i < end; ++i) {
    const float g = grad[i] * c.grad_scale;
    const float mi = c.beta1 * m[i] + c.one_minus_beta1 * g;
    const float vi = c.beta2 * v[i] + c.one_minus_beta2 * g * g;
    m[i] = mi;
    v[i] = vi;
    const float denom = std::sqrt(vi) / c.sqrt_bias_correction2 + c.eps;
    param[i] = param[i] * c.decay - c.step_size * (mi / denom);
  }
}

}  // namespace

void adamw_step_f32(float* param, const float* grad, float* m, float* v, int64_t n, double lr, double beta1,
                    double beta2, double eps, double weight_decay, double bias_correction1, double bias_correction2,
                    double grad_scale) {
  auto f = [](double x) { return static_cast<float>(x); };
  const AdamwConstants c{
      .decay = f(1.0 - lr * weight_decay),
      .beta1 = f(beta1),
      .beta2 = f(beta2),
      .one_minus_beta1 = f(1.0 - beta1),
      .one_minus_beta2 = f(1.0 - beta2),
      .step_size = f(lr / bias_correction1),
      .sqrt_bias_correction2 = f(std::sqrt(bias_correction2)),
      .eps = f(eps),
      .grad_scale = f(grad_scale),
  };
  const int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (n > kParallelMin)
  for (int64_t b = 0; b < blocks; ++b) adamw_range(param, grad, m, v, b * kBlock, std::min(n, (b + 1) * kBlock), c);
}

void sgd_momentum_step_f32(float* param, const float* grad, float* momentum_buffer, int64_t n, double lr,
                           double momentum, bool nesterov, double weight_decay, double grad_scale) {
  const float rate = static_cast<float>(lr), mu = static_cast<float>(momentum),
              decay = static_cast<float>(weight_decay), scale = static_cast<float>(grad_scale);
  if (momentum_buffer == nullptr) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
      const float d = grad[i] * scale + decay * param[i];
      param[i] -= rate * d;
    }
    return;
  }
  if (nesterov) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
      const float d = grad[i] * scale + decay * param[i];
      const float buf = mu * momentum_buffer[i] + d;
      momentum_buffer[i] = buf;
      param[i] -= rate * (d + mu * buf);
    }
    return;
  }
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const float d = grad[i] * scale + decay * param[i];
    const float buf = mu * momentum_buffer[i] + d;
    momentum_buffer[i] = buf;
    param[i] -= rate * buf;
  }
}

double sum_squares_f32(const float* x, int64_t n) {
  const int64_t chunks = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
#pragma omp parallel for schedule(static) if (n > kParallelMin)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * kBlock;
    const int64_t end = std::min(n, begin + kBlock);
    double acc = 0.0;
#pragma omp simd reduction(+ : acc)
    for (int64_t i = begin; i < end; ++i) acc += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    partial[static_cast<size_t>(c)] = acc;
  }
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

void scale_f32(float* x, int64_t n, float s) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

}  // namespace hanvit::cpu
