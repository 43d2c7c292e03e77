// Optimizer update loops over f32 buffers: AdamW, SGD with momentum, sum of squares, scaling.
#pragma once

#include <cstdint>

namespace hanvit::cpu {

// One AdamW step over n elements, as torch.optim.AdamW, with g = grad * grad_scale:
//   p *= 1 - lr * weight_decay;  m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g^2
//   p -= (lr / bias_correction1) * m / (sqrt(v) / sqrt(bias_correction2) + eps)
// bias_correction{1,2} = 1 - beta{1,2}^step. param, m, v (n) are updated in place. The scalars
// come in double and their combinations (1 - beta, lr / bias_correction1, ...) are formed in
// double before rounding to f32, as torch does: 1.0f - 0.999f is off by 1e-5 relative.
void adamw_step_f32(float* param, const float* grad, float* m, float* v, int64_t n, double lr, double beta1,
                    double beta2, double eps, double weight_decay, double bias_correction1, double bias_correction2,
                    double grad_scale);

// One SGD step over n elements, as torch.optim.SGD with dampening 0, g = grad * grad_scale:
//   d = g + weight_decay * p;  buf = momentum * buf + d;  d = nesterov ? d + momentum * buf : buf
//   p -= lr * d
// A zero-filled momentum_buffer gives torch's first step (buf = d). With momentum_buffer null the
// step is plain SGD (momentum 0): p -= lr * d.
void sgd_momentum_step_f32(float* param, const float* grad, float* momentum_buffer, int64_t n, double lr,
                           double momentum, bool nesterov, double weight_decay, double grad_scale);

// sum of x[i]^2 (n) accumulated in double. Fixed-size chunks are summed in a fixed order, so
// the result does not depend on the thread count.
double sum_squares_f32(const float* x, int64_t n);

// x (n) *= s
void scale_f32(float* x, int64_t n, float s);

}  // namespace hanvit::cpu
