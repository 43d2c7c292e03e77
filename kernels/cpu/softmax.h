// Softmax-family f32 kernels over the last axis: softmax, log_softmax, their backward, cross-entropy.
#pragma once

#include <cstdint>

namespace hanvit::cpu {

// y (rows, cols) = exp(x - max) / sum(exp(x - max)) per row.
void softmax_f32(const float* x, float* y, int64_t rows, int64_t cols);
// y (rows, cols) = x - max - log(sum(exp(x - max))) per row.
void log_softmax_f32(const float* x, float* y, int64_t rows, int64_t cols);
// dx (rows, cols) = y * (dy - sum(dy * y)) per row; y is the softmax output.
void softmax_backward_f32(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols);
// dx (rows, cols) = dy - exp(y) * sum(dy) per row; y is the log_softmax output.
void log_softmax_backward_f32(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols);

// Cross-entropy as torch.nn.functional.cross_entropy(ignore_index, label_smoothing=eps) with mean
// reduction, except that when every row is ignored the loss and gradient are 0 (PyTorch: NaN).
// Both kernels throw std::invalid_argument naming the first row whose label is neither
// ignore_index nor in [0, classes).

// logits (rows, classes), labels (rows) -> mean over non-ignored rows of
// (1 - eps) * (-log p[label]) + eps * mean_j(-log p[j]).
float cross_entropy_f32(const float* logits, const int32_t* labels, int64_t rows, int64_t classes, int64_t ignore_index,
                        double label_smoothing);
// dlogits (rows, classes) = dloss / count * (p - (1 - eps) * onehot(label) - eps / classes) on
// non-ignored rows, 0 on ignored ones; p is recomputed from the logits into dlogits.
void cross_entropy_backward_f32(const float* logits, const int32_t* labels, int64_t rows, int64_t classes,
                                int64_t ignore_index, double label_smoothing, float dloss, float* dlogits);

}  // namespace hanvit::cpu
