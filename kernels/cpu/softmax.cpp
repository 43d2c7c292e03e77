// Softmax-family f32 kernels: threaded rows, vectorised loops with a polynomial exp, double row sums.
#include "kernels/cpu/softmax.h"

#include "kernels/cpu/fast_math.h"

#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace hanvit::cpu {
namespace {

constexpr int64_t kParallelWork = 32768;  // elements below which one thread runs every row

float row_max(const float* x, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t j = 0; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

// sum_j exp(x[j] - m); with `out`, also stores each exp(x[j] - m) there.
double sum_exp(const float* x, float m, int64_t n, float* out) {
  double s = 0.0;
  if (out) {
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < n; ++j) {
      const float e = exp_f32(x[j] - m);
      out[j] = e;
      s += e;
    }
  } else {
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < n; ++j) s += exp_f32(x[j] - m);
  }
  return s;
}

double row_sum(const float* x, int64_t n) {
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (int64_t j = 0; j < n; ++j) s += x[j];
  return s;
}

double row_dot(const float* a, const float* b, int64_t n) {
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (int64_t j = 0; j < n; ++j) s += a[j] * b[j];
  return s;
}

// Calls fn(row) for every row, on threads when the work is large enough.
template <typename Fn>
void for_rows(int64_t rows, int64_t cols, Fn fn) {
#pragma omp parallel for schedule(static) if (rows > 1 && rows * cols > kParallelWork)
  for (int64_t r = 0; r < rows; ++r) fn(r);
}

// Validates labels (throwing on the first bad one) and counts the rows that are not ignored.
int64_t count_labels(const char* op, const int32_t* labels, int64_t rows, int64_t classes, int64_t ignore_index) {
  int64_t count = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t label = labels[r];
    if (label == ignore_index) continue;
    if (label < 0 || label >= classes)
      throw std::invalid_argument(std::string(op) + ": label " + std::to_string(label) + " of row " +
                                  std::to_string(r) + " is outside [0, " + std::to_string(classes) +
                                  ") and is not ignore_index " + std::to_string(ignore_index));
    ++count;
  }
  return count;
}

}  // namespace

void softmax_f32(const float* x, float* y, int64_t rows, int64_t cols) {
  for_rows(rows, cols, [=](int64_t r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const float m = row_max(xr, cols);
    const float inv = static_cast<float>(1.0 / sum_exp(xr, m, cols, yr));
#pragma omp simd
    for (int64_t j = 0; j < cols; ++j) yr[j] *= inv;
  });
}

void log_softmax_f32(const float* x, float* y, int64_t rows, int64_t cols) {
  for_rows(rows, cols, [=](int64_t r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const float m = row_max(xr, cols);
    const float log_sum = static_cast<float>(std::log(sum_exp(xr, m, cols, nullptr)));
#pragma omp simd
    for (int64_t j = 0; j < cols; ++j) yr[j] = (xr[j] - m) - log_sum;
  });
}

void softmax_backward_f32(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols) {
  for_rows(rows, cols, [=](int64_t r) {
    const float* yr = y + r * cols;
    const float* dyr = dy + r * cols;
    float* dxr = dx + r * cols;
    const float dot = static_cast<float>(row_dot(yr, dyr, cols));
#pragma omp simd
    for (int64_t j = 0; j < cols; ++j) dxr[j] = yr[j] * (dyr[j] - dot);
  });
}

void log_softmax_backward_f32(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols) {
  for_rows(rows, cols, [=](int64_t r) {
    const float* yr = y + r * cols;
    const float* dyr = dy + r * cols;
    float* dxr = dx + r * cols;
    const float total = static_cast<float>(row_sum(dyr, cols));
#pragma omp simd
    for (int64_t j = 0; j < cols; ++j) dxr[j] = dyr[j] - exp_f32(yr[j]) * total;
  });
}

float cross_entropy_f32(const float* logits, const int32_t* labels, int64_t rows, int64_t classes, int64_t ignore_index,
                        double label_smoothing) {
  const int64_t count = count_labels("cross_entropy", labels, rows, classes, ignore_index);
  if (count == 0) return 0.0f;
  const double eps = label_smoothing;
  std::vector<double> losses(static_cast<size_t>(rows), 0.0);  // per row, summed in order below
  for_rows(rows, classes, [&](int64_t r) {
    if (labels[r] == ignore_index) return;
    const float* xr = logits + r * classes;
    const float m = row_max(xr, classes);
    const double lse = m + std::log(sum_exp(xr, m, classes, nullptr));
    double loss = (1.0 - eps) * (lse - xr[labels[r]]);
    if (eps != 0.0) loss += eps * (lse - row_sum(xr, classes) / static_cast<double>(classes));
    losses[static_cast<size_t>(r)] = loss;
  });
  double total = 0.0;
  for (double loss : losses) total += loss;
  return static_cast<float>(total / static_cast<double>(count));
}

void cross_entropy_backward_f32(const float* logits, const int32_t* labels, int64_t rows, int64_t classes,
                                int64_t ignore_index, double label_smoothing, float dloss, float* dlogits) {
  const int64_t count = count_labels("cross_entropy_backward", labels, rows, classes, ignore_index);
  const double scale = count == 0 ? 0.0 : static_cast<double>(dloss) / static_cast<double>(count);
  const double eps = label_smoothing;
  for_rows(rows, classes, [=](int64_t r) {
    float* dr = dlogits + r * classes;
    if (labels[r] == ignore_index) {
#pragma omp simd
      for (int64_t j = 0; j < classes; ++j) dr[j] = 0.0f;
      return;
    }
    const float* xr = logits + r * classes;
    const float m = row_max(xr, classes);
    const float a = static_cast<float>(scale / sum_exp(xr, m, classes, dr));
    const float b = static_cast<float>(scale * eps / static_cast<double>(classes));
#pragma omp simd
    for (int64_t j = 0; j < classes; ++j) dr[j] = dr[j] * a - b;
    dr[labels[r]] -= static_cast<float>(scale * (1.0 - eps));
  });
}

}  // namespace hanvit::cpu
