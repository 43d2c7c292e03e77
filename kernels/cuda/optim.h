// defines: AdamwTensor, SgdTensor, DeviceFloats, adamw_step_f32, sgd_step_f32, sum_squares_f32,
// sum_squares_scratch_doubles, scale_f32 — multi-tensor optimizer updates over f32 device buffers.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <span>

namespace hanvit::cuda {

// Every launch function below takes a list of tensors and processes up to 64 of them per kernel
// launch (pointers and sizes passed by value), each cut into chunks of 4096 elements, one block
// per chunk. The arithmetic is that of kernels/cpu/optim.h, element by element and without fused
// multiply-adds: scalars combined in double on the host, rounded to f32, then f32 operations.
// Zero-size tensors are skipped; an empty list launches nothing (sum_squares_f32 still writes
// its total, 0).

// One parameter of an AdamW step: param, exp_avg, exp_avg_sq (n each) updated in place from grad
// (n). lr and weight_decay are the parameter group's.
struct AdamwTensor {
  float* param = nullptr;
  const float* grad = nullptr;
  float* exp_avg = nullptr;
  float* exp_avg_sq = nullptr;
  int64_t n = 0;
  double lr = 0.0;
  double weight_decay = 0.0;
};

// As cpu::adamw_step_f32 over every tensor, with g = grad * grad_scale:
//   p *= 1 - lr * weight_decay;  m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g^2
//   p -= (lr / bias_correction1) * m / (sqrt(v) / sqrt(bias_correction2) + eps)
void adamw_step_f32(std::span<const AdamwTensor> tensors, double beta1, double beta2, double eps,
                    double bias_correction1, double bias_correction2, double grad_scale, cudaStream_t stream);

// One parameter of an SGD step: param (n) updated in place from grad (n); momentum_buffer (n) is
// null when momentum is 0, for every tensor of the list alike.
struct SgdTensor {
  float* param = nullptr;
  const float* grad = nullptr;
  float* momentum_buffer = nullptr;
  int64_t n = 0;
  double lr = 0.0;
  double weight_decay = 0.0;
};

// As cpu::sgd_momentum_step_f32 over every tensor (dampening 0), with g = grad * grad_scale:
//   d = g + weight_decay * p;  buf = momentum * buf + d;  d = nesterov ? d + momentum * buf : buf
//   p -= lr * d
// Without momentum buffers: p -= lr * (g + weight_decay * p). Throws std::invalid_argument when
// some tensors have a buffer and others none.
void sgd_step_f32(std::span<const SgdTensor> tensors, double momentum, bool nesterov, double grad_scale,
                  cudaStream_t stream);

// A device buffer of n floats.
struct DeviceFloats {
  float* data = nullptr;
  int64_t n = 0;
};

// The doubles of device scratch that sum_squares_f32 needs for `tensors`: one partial per chunk
// and the total.
size_t sum_squares_scratch_doubles(std::span<const DeviceFloats> tensors);

// *total (device) = sum over all tensors of x[i]^2, products and sums in double. Each chunk's
// partial is written to partials (sum_squares_scratch_doubles(tensors) - 1 doubles, device) and
// one block adds them in a fixed order, so a re-run gives the same bits. `total` may be the last
// double of that scratch.
void sum_squares_f32(std::span<const DeviceFloats> tensors, double* partials, double* total, cudaStream_t stream);

// x *= s for every tensor (an f32 multiply per element).
void scale_f32(std::span<const DeviceFloats> tensors, float s, cudaStream_t stream);

}  // namespace hanvit::cuda
