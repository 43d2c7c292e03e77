// Layer norm and RMS norm f32 kernels: threaded rows, one-pass double statistics, blocked weight gradients.
#include "kernels/cpu/norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace hanvit::cpu {
namespace {

constexpr int64_t kParallelWork = 32768;  // elements below which one thread runs every row
constexpr int64_t kMaxBlocks = 64;        // row blocks of the weight-gradient reduction
constexpr int64_t kMinBlockRows = 4;

// A row's mean as a float pair (mean = hi + lo) and 1/sqrt(var + eps). (x - hi) - lo centres x
// to within float rounding even when the mean is far from 0 compared with the spread.
struct RowStats {
  float mean_hi = 0.0f, mean_lo = 0.0f;
  float rstd = 0.0f;
};

// Mean and 1/sqrt(biased var + eps) of one row (c > 0) in one pass. Sums run in double on values
// shifted by the row's first element, so a mean far from 0 does not cancel the variance.
RowStats layer_norm_stats(const float* x, int64_t c, double eps) {
  const double shift = x[0];
  double s = 0.0, ss = 0.0;
#pragma omp simd reduction(+ : s, ss)
  for (int64_t j = 0; j < c; ++j) {
    const double d = static_cast<double>(x[j]) - shift;
    s += d;
    ss += d * d;
  }
  const double mean = s / static_cast<double>(c);
  const double var = std::max(ss / static_cast<double>(c) - mean * mean, 0.0);
  const double full_mean = shift + mean;
  const float hi = static_cast<float>(full_mean);
  return {hi, static_cast<float>(full_mean - hi), static_cast<float>(1.0 / std::sqrt(var + eps))};
}

// 1/sqrt(mean(x^2) + eps) of one row (c > 0).
float rms_rstd(const float* x, int64_t c, double eps) {
  double ss = 0.0;
#pragma omp simd reduction(+ : ss)
  for (int64_t j = 0; j < c; ++j) ss += static_cast<double>(x[j]) * x[j];
  return static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(c) + eps));
}

// Calls fn(row) for every row, on threads when the work is large enough.
template <typename Fn>
void for_rows(int64_t rows, int64_t c, Fn fn) {
#pragma omp parallel for schedule(static) if (rows > 1 && rows * c > kParallelWork)
  for (int64_t r = 0; r < rows; ++r) fn(r);
}

// Backward over fixed row blocks (independent of the thread count): fn(begin, end, partial)
// handles rows [begin, end) and adds its weight-gradient sums into `partial` (width doubles).
// Returns the blocks' partials summed in block order (width doubles).
template <typename Fn>
std::vector<double> for_row_blocks(int64_t rows, int64_t c, int64_t width, Fn fn) {
  const int64_t blocks = std::clamp(rows / kMinBlockRows, int64_t{1}, kMaxBlocks);
  std::vector<double> partial(static_cast<size_t>(blocks * width), 0.0);
#pragma omp parallel for schedule(static) if (blocks > 1 && rows * c > kParallelWork)
  for (int64_t b = 0; b < blocks; ++b) fn(rows * b / blocks, rows * (b + 1) / blocks, partial.data() + b * width);
  double* total = partial.data();
  for (int64_t b = 1; b < blocks; ++b) {
    const double* part = partial.data() + b * width;
#pragma omp simd
    for (int64_t j = 0; j < width; ++j) total[j] += part[j];
  }
  partial.resize(static_cast<size_t>(width));
  return partial;
}

}  // namespace

void layer_norm_f32(const float* x, const float* weight, const float* bias, float* y, int64_t rows, int64_t c,
                    double eps) {
  if (c == 0) return;
  for_rows(rows, c, [=](int64_t r) {
    const float* xr = x + r * c;
    float* yr = y + r * c;
    const RowStats st = layer_norm_stats(xr, c, eps);
#pragma omp simd
    for (int64_t j = 0; j < c; ++j) yr[j] = ((xr[j] - st.mean_hi) - st.mean_lo) * st.rstd * weight[j] + bias[j];
  });
}

void layer_norm_backward_f32(const float* x, const float* weight, const float* dy, float* dx, float* dweight,
                             float* dbias, int64_t rows, int64_t c, double eps) {
  if (c == 0) return;
  // dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * weight, xhat = (x - mean) * rstd
  std::vector<double> sums = for_row_blocks(rows, c, 2 * c, [=](int64_t begin, int64_t end, double* partial) {
    double* pw = partial;
    double* pb = partial + c;
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * c;
      const float* dyr = dy + r * c;
      float* dxr = dx + r * c;
      const RowStats st = layer_norm_stats(xr, c, eps);
      double sg = 0.0, sgx = 0.0;
#pragma omp simd reduction(+ : sg, sgx)
      for (int64_t j = 0; j < c; ++j) {
        const float g = dyr[j] * weight[j];
        sg += g;
        sgx += g * (((xr[j] - st.mean_hi) - st.mean_lo) * st.rstd);
      }
      const float mean_g = static_cast<float>(sg / static_cast<double>(c));
      const float mean_gx = static_cast<float>(sgx / static_cast<double>(c));
#pragma omp simd
      for (int64_t j = 0; j < c; ++j) {
        const float xhat = ((xr[j] - st.mean_hi) - st.mean_lo) * st.rstd;
        dxr[j] = st.rstd * (dyr[j] * weight[j] - mean_g - xhat * mean_gx);
        pw[j] += dyr[j] * xhat;
        pb[j] += dyr[j];
      }
    }
  });
  for (int64_t j = 0; j < c; ++j) {
    dweight[j] = static_cast<float>(sums[static_cast<size_t>(j)]);
    dbias[j] = static_cast<float>(sums[static_cast<size_t>(c + j)]);
  }
}

void rms_norm_f32(const float* x, const float* weight, float* y, int64_t rows, int64_t c, double eps) {
  if (c == 0) return;
  for_rows(rows, c, [=](int64_t r) {
    const float* xr = x + r * c;
    float* yr = y + r * c;
    const float rstd = rms_rstd(xr, c, eps);
#pragma omp simd
    for (int64_t j = 0; j < c; ++j) yr[j] = xr[j] * rstd * weight[j];
  });
}

void rms_norm_backward_f32(const float* x, const float* weight, const float* dy, float* dx, float* dweight,
                           int64_t rows, int64_t c, double eps) {
  if (c == 0) return;
  // dx = rstd * (g - xhat * mean(g * xhat)) with g = dy * weight, xhat = x * rstd
  std::vector<double> sums = for_row_blocks(rows, c, c, [=](int64_t begin, int64_t end, double* pw) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * c;
      const float* dyr = dy + r * c;
      float* dxr = dx + r * c;
      const float rstd = rms_rstd(xr, c, eps);
      double sgx = 0.0;
#pragma omp simd reduction(+ : sgx)
      for (int64_t j = 0; j < c; ++j) sgx += dyr[j] * weight[j] * (xr[j] * rstd);
      const float mean_gx = static_cast<float>(sgx / static_cast<double>(c));
#pragma omp simd
      for (int64_t j = 0; j < c; ++j) {
        const float xhat = xr[j] * rstd;
        dxr[j] = rstd * (dyr[j] * weight[j] - xhat * mean_gx);
        pw[j] += dyr[j] * xhat;
      }
    }
  });
  for (int64_t j = 0; j < c; ++j) dweight[j] = static_cast<float>(sums[static_cast<size_t>(j)]);
}

}  // namespace hanvit::cpu
