// Optimizer work on parameters in CUDA device memory: zero-filled state, multi-tensor AdamW and
// SGD steps (a few launches for all parameters), the grads' sum of squares and their scaling.
// Declared only in builds with CUDA (HANVIT_WITH_CUDA).
#pragma once

#ifdef HANVIT_WITH_CUDA

#include <span>
#include <vector>

#include "modules/optim/optimizer.h"

namespace hanvit {

// A zero-filled f32 tensor of `shape` on CUDA device `device` (filled on its backend's stream).
Tensor device_zeros(Device device, const Shape& shape);

// One AdamW step of every parameter of `groups`, all on CUDA device `device`; state[i] holds
// {exp_avg, exp_avg_sq} of the i-th parameter over all groups, on that device.
void device_adamw_step(Device device, std::span<const ParamGroup> groups, std::span<const std::vector<Tensor>> state,
                       double lr, double grad_scale, const AdamWOptions& options, double bias_correction1,
                       double bias_correction2);

// One SGD step of every parameter of `groups`, all on CUDA device `device`; state[i] holds
// {momentum_buffer} of the i-th parameter when options.momentum > 0, nothing otherwise.
void device_sgd_step(Device device, std::span<const ParamGroup> groups, std::span<const std::vector<Tensor>> state,
                     double lr, double grad_scale, const SgdOptions& options);

// The sum of grad^2 over `params` (grads on one CUDA device), in double and in a fixed order;
// waits for the device to copy the 8-byte result back.
double device_grad_sum_squares(std::span<const ParamRef> params);

// grad *= s for every parameter (grads on one CUDA device).
void device_scale_grads(std::span<const ParamRef> params, float s);

}  // namespace hanvit

#endif  // HANVIT_WITH_CUDA
