// Normalisation f32 kernels over the last axis: layer norm and RMS norm, forward and backward.
#pragma once

#include <cstdint>

namespace hanvit::cpu {

// y (rows, c) = (x - mean) / sqrt(var + eps) * weight + bias per row, biased variance as torch;
// weight, bias (c).
void layer_norm_f32(const float* x, const float* weight, const float* bias, float* y, int64_t rows, int64_t c,
                    double eps);
// From x (rows, c), weight (c), dy (rows, c): dx (rows, c), dweight (c), dbias (c). The row
// statistics are recomputed from x. dweight/dbias sum fixed blocks of rows in order, so they do
// not depend on the thread count.
void layer_norm_backward_f32(const float* x, const float* weight, const float* dy, float* dx, float* dweight,
                             float* dbias, int64_t rows, int64_t c, double eps);

// y (rows, c) = x / sqrt(mean(x^2) + eps) * weight per row, as Hugging Face LlamaRMSNorm; weight (c).
void rms_norm_f32(const float* x, const float* weight, float* y, int64_t rows, int64_t c, double eps);
// From x (rows, c), weight (c), dy (rows, c): dx (rows, c), dweight (c); deterministic as above.
void rms_norm_backward_f32(const float* x, const float* weight, const float* dy, float* dx, float* dweight,
                           int64_t rows, int64_t c, double eps);

}  // namespace hanvit::cpu
