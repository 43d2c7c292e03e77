// Embedding f32 kernels: gather, deterministic scatter-add by vocabulary row, rotate-half RoPE.
#include "kernels/cpu/embedding.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace hanvit::cpu {
namespace {

void check_ids(const char* op, const int32_t* ids, int64_t n, int64_t vocab) {
  for (int64_t p = 0; p < n; ++p)
    if (ids[p] < 0 || ids[p] >= vocab)
      throw std::invalid_argument(std::string(op) + ": id " + std::to_string(ids[p]) + " at position " +
                                  std::to_string(p) + " out of range [0, " + std::to_string(vocab) + ")");
}

}  // namespace

void embedding_f32(const float* weight, int64_t vocab, int64_t dim, const int32_t* ids, int64_t n, float* out) {
  check_ids("embedding", ids, n, vocab);
#pragma omp parallel for schedule(static) if (n * dim > 32768)
  for (int64_t p = 0; p < n; ++p)
    std::memcpy(out + p * dim, weight + static_cast<int64_t>(ids[p]) * dim, static_cast<size_t>(dim) * sizeof(float));
}

void embedding_backward_f32(const int32_t* ids, int64_t n, const float* dy, int64_t vocab, int64_t dim,
                            float* dweight) {
  check_ids("embedding_backward", ids, n, vocab);
  // Counting sort of positions by id: positions of row v are order[start[v] .. start[v + 1]).
  std::vector<int64_t> start(static_cast<size_t>(vocab) + 1, 0);
  for (int64_t p = 0; p < n; ++p) ++start[static_cast<size_t>(ids[p]) + 1];
  for (int64_t v = 0; v < vocab; ++v) start[static_cast<size_t>(v) + 1] += start[static_cast<size_t>(v)];
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::vector<int64_t> cursor(start.begin(), start.end() - 1);
  for (int64_t p = 0; p < n; ++p) order[static_cast<size_t>(cursor[static_cast<size_t>(ids[p])]++)] = p;

#pragma omp parallel if ((n + vocab) * dim > 32768)
  {
    std::vector<double> acc(static_cast<size_t>(dim));
#pragma omp for schedule(dynamic, 8)
    for (int64_t v = 0; v < vocab; ++v) {
      float* row = dweight + v * dim;
      const int64_t begin = start[static_cast<size_t>(v)], end = start[static_cast<size_t>(v) + 1];
      if (begin == end) {
        std::fill(row, row + dim, 0.0f);
      } else if (end - begin == 1) {
        std::memcpy(row, dy + order[static_cast<size_t>(begin)] * dim, static_cast<size_t>(dim) * sizeof(float));
      } else {
        std::fill(acc.begin(), acc.end(), 0.0);
        double* a = acc.data();
        for (int64_t k = begin; k < end; ++k) {
          const float* src = dy + order[static_cast<size_t>(k)] * dim;
#pragma omp simd
          for (int64_t j = 0; j < dim; ++j) a[j] += static_cast<double>(src[j]);
        }
#pragma omp simd
        for (int64_t j = 0; j < dim; ++j) row[j] = static_cast<float>(a[j]);
      }
    }
  }
}

void rope_f32(const float* x, float* y, int64_t batch, int64_t heads, int64_t T, int64_t D, const int32_t* positions,
              double theta, double position_scale, bool inverse) {
  const int64_t half = D / 2;
  // cos/sin of every (t, i) angle: (T, D/2) each.
  std::vector<float> cos_table(static_cast<size_t>(T * half)), sin_table(static_cast<size_t>(T * half));
  const double direction = inverse ? -1.0 : 1.0;
  for (int64_t t = 0; t < T; ++t) {
    const double pos = static_cast<double>(positions[t]) / position_scale;
    for (int64_t i = 0; i < half; ++i) {
      const double inv_freq = 1.0 / std::pow(theta, static_cast<double>(2 * i) / static_cast<double>(D));
      const double angle = pos * inv_freq;
      cos_table[static_cast<size_t>(t * half + i)] = static_cast<float>(std::cos(angle));
      sin_table[static_cast<size_t>(t * half + i)] = static_cast<float>(direction * std::sin(angle));
    }
  }
  const int64_t rows = batch * heads * T;
#pragma omp parallel for schedule(static) if (rows * D > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t t = r % T;
    const float* c = cos_table.data() + t * half;
    const float* s = sin_table.data() + t * half;
    const float* xr = x + r * D;
    float* yr = y + r * D;
#pragma omp simd
    for (int64_t i = 0; i < half; ++i) {
      const float a = xr[i], b = xr[i + half];
      yr[i] = a * c[i] - b * s[i];
      yr[i + half] = b * c[i] + a * s[i];
    }
  }
}

}  // namespace hanvit::cpu
