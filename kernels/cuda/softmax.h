// defines: softmax, log_softmax, softmax_backward, log_softmax_backward, cross_entropy(_backward) and their scratch
// sizes — CUDA row kernels over the last axis for f32/bf16/f16, accumulating in f32.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "modules/tensor/dtype.h"

namespace hanvit::cuda {

// y (rows, cols) = exp(x - max) / sum(exp(x - max)) per row; x and y have `dtype`.
void softmax(DType dtype, const void* x, void* y, int64_t rows, int64_t cols, cudaStream_t stream);
// y (rows, cols) = x - max - log(sum(exp(x - max))) per row.
void log_softmax(DType dtype, const void* x, void* y, int64_t rows, int64_t cols, cudaStream_t stream);
// dx (rows, cols) = y * (dy - sum(dy * y)) per row; y is the softmax output.
void softmax_backward(DType dtype, const void* y, const void* dy, void* dx, int64_t rows, int64_t cols,
                      cudaStream_t stream);
// dx (rows, cols) = dy - exp(y) * sum(dy) per row; y is the log_softmax output.
void log_softmax_backward(DType dtype, const void* y, const void* dy, void* dx, int64_t rows, int64_t cols,
                          cudaStream_t stream);

// Cross-entropy as the CPU kernel defines it (torch.nn.functional.cross_entropy with mean reduction, ignore_index and
// label_smoothing eps; every row ignored gives loss and gradient 0). A label that is neither ignore_index nor in
// [0, classes) cannot throw on the device: it makes the loss NaN and its gradient row NaN.

// Device scratch (bytes) cross_entropy() needs: one f32 loss per row.
size_t cross_entropy_scratch_bytes(int64_t rows);
// loss (f32 scalar) = mean over non-ignored rows of (1 - eps) * (-log p[label]) + eps * mean_j(-log p[j]), p the
// softmax of logits (rows, classes) of `dtype`; labels (rows) i32. Per-row losses go to `scratch`, then one block
// sums them in a fixed order.
void cross_entropy(DType dtype, const void* logits, const int32_t* labels, int64_t rows, int64_t classes,
                   int64_t ignore_index, double label_smoothing, float* loss, void* scratch, cudaStream_t stream);

// Device scratch (bytes) cross_entropy_backward() needs: the gradient scale.
size_t cross_entropy_backward_scratch_bytes();
// dlogits (rows, classes) of `dtype` = dloss / count * (p - (1 - eps) * onehot(label) - eps / classes) on non-ignored
// rows (count of them), 0 on ignored ones; p is recomputed from the logits. dloss: a device f32 scalar.
void cross_entropy_backward(DType dtype, const void* logits, const int32_t* labels, int64_t rows, int64_t classes,
                            int64_t ignore_index, double label_smoothing, const float* dloss, void* dlogits,
                            void* scratch, cudaStream_t stream);

}  // namespace hanvit::cuda
