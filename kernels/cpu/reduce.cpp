// Reduction kernels: axes coalesce into kept/reduced groups, then contiguous rows or columns are reduced.
#include "kernels/cpu/reduce.h"

#include <omp.h>

#include <algorithm>
#include <limits>

#include "kernels/cpu/index_space.h"

namespace hanvit::cpu {
namespace {

constexpr int64_t kParallelElements = 32768;  // below this many elements, one thread
constexpr int64_t kBlock = 4096;              // columns accumulated together: long runs per row
constexpr int64_t kChunk = 16384;             // row piece per task when long rows are split

// The reduction as loops: `kept` enumerates outputs (rows of outputs when the inner group is
// kept), `reduced` the outer reduced groups, and `inner` contiguous elements sit innermost.
struct Plan {
  IndexSpace kept, reduced;
  int64_t inner = 1;
  bool inner_reduced = false;
};

// shape has no zero dims. Size-1 dims are dropped and neighbours of one kind merged.
Plan make_plan(const std::vector<int64_t>& shape, const std::vector<int>& axes) {
  std::vector<bool> is_reduced(shape.size(), false);
  for (int a : axes) is_reduced[static_cast<size_t>(a)] = true;
  std::vector<int64_t> sizes;
  std::vector<bool> reduced;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (!sizes.empty() && reduced.back() == is_reduced[d]) {
      sizes.back() *= shape[d];
    } else {
      sizes.push_back(shape[d]);
      reduced.push_back(is_reduced[d]);
    }
  }
  Plan plan;
  if (sizes.empty()) return plan;
  plan.inner = sizes.back();
  plan.inner_reduced = reduced.back();
  int64_t stride = plan.inner;
  for (size_t g = sizes.size() - 1; g-- > 0;) {
    (reduced[g] ? plan.reduced : plan.kept).push_front(sizes[g], stride);
    stride *= sizes[g];
  }
  return plan;
}

struct SumOp {
  using Acc = double;
  static Acc init() { return 0.0; }
  static Acc combine(Acc a, Acc b) { return a + b; }
  static Acc row(const float* p, int64_t n) {
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < n; ++j) s += p[j];
    return s;
  }
  static void column(Acc* acc, const float* p, int64_t n) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) acc[j] += p[j];
  }
  static float finish(Acc a, double scale) { return static_cast<float>(a * scale); }
};

// NaN propagates: once an accumulator is NaN no comparison replaces it.
struct MaxOp {
  using Acc = float;
  static Acc init() { return -std::numeric_limits<float>::infinity(); }
  static Acc combine(Acc a, Acc b) { return b > a || b != b ? b : a; }
  static Acc row(const float* p, int64_t n) {
    float m = init();
    int nan = 0;
#pragma omp simd reduction(max : m) reduction(| : nan)
    for (int64_t j = 0; j < n; ++j) {
      m = p[j] > m ? p[j] : m;
      nan |= p[j] != p[j];
    }
    return nan ? std::numeric_limits<float>::quiet_NaN() : m;
  }
  static void column(Acc* acc, const float* p, int64_t n) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) acc[j] = p[j] > acc[j] || p[j] != p[j] ? p[j] : acc[j];
  }
  static float finish(Acc a, double) { return a; }
};

int threads_for(int64_t elements) { return elements > kParallelElements ? omp_get_max_threads() : 1; }

// Enough independent work items to keep `threads` threads busy.
bool plenty(int64_t items, int threads) { return items >= int64_t{4} * threads; }

// Innermost group reduced: each output reduces rows of `inner` contiguous elements.
template <typename Op>
void reduce_rows(const Plan& p, const float* x, float* y, double scale) {
  using Acc = typename Op::Acc;
  const int64_t outputs = p.kept.count(), rows = p.reduced.count(), n = p.inner;
  const int threads = threads_for(outputs * rows * n);
  if (threads == 1 || plenty(outputs, threads)) {
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
      const auto [begin, end] = thread_share(outputs, omp_get_thread_num(), omp_get_num_threads());
      IndexCursor out(p.kept, begin), group(p.reduced, 0);
      for (int64_t o = begin; o < end; ++o, out.next()) {
        const float* base = x + out.offset();
        Acc acc = Op::init();
        // `rows` steps bring the group cursor back to the first group.
        for (int64_t m = 0; m < rows; ++m, group.next()) acc = Op::combine(acc, Op::row(base + group.offset(), n));
        y[o] = Op::finish(acc, scale);
      }
    }
    return;
  }
  // Few long groups (sum_all, a few huge rows): split each group into pieces across threads.
  const int64_t per_row = (n + kChunk - 1) / kChunk, pieces = rows * per_row;
  std::vector<Acc> partial(static_cast<size_t>(threads));
  for (int64_t o = 0; o < outputs; ++o) {
    const float* base = x + p.kept.offset(o);
    std::fill(partial.begin(), partial.end(), Op::init());
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num();
      const auto [begin, end] = thread_share(pieces, t, omp_get_num_threads());
      Acc acc = Op::init();
      for (int64_t k = begin; k < end; ++k) {
        const int64_t m = k / per_row, j = k % per_row * kChunk;
        acc = Op::combine(acc, Op::row(base + p.reduced.offset(m) + j, std::min(kChunk, n - j)));
      }
      partial[static_cast<size_t>(t)] = acc;
    }
    Acc acc = Op::init();
    for (Acc v : partial) acc = Op::combine(acc, v);
    y[o] = Op::finish(acc, scale);
  }
}

// Innermost group kept: each output row accumulates `inner` contiguous columns over the
// reduced groups, kBlock columns at a time.
template <typename Op>
void reduce_columns(const Plan& p, const float* x, float* y, double scale) {
  using Acc = typename Op::Acc;
  const int64_t rows = p.kept.count(), groups = p.reduced.count(), n = p.inner;
  const int64_t blocks = (n + kBlock - 1) / kBlock, tasks = rows * blocks;
  const int threads = threads_for(rows * groups * n);
  if (threads == 1 || plenty(tasks, threads) || !plenty(groups, threads)) {
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
      const auto [begin, end] = thread_share(tasks, omp_get_thread_num(), omp_get_num_threads());
      IndexCursor group(p.reduced, 0);
      std::vector<Acc> acc(static_cast<size_t>(std::min(kBlock, n)));
      for (int64_t t = begin; t < end; ++t) {
        const int64_t r = t / blocks, j0 = t % blocks * kBlock, width = std::min(kBlock, n - j0);
        std::fill(acc.begin(), acc.begin() + width, Op::init());
        const float* base = x + p.kept.offset(r) + j0;
        // `groups` steps bring the cursor back to the first group.
        for (int64_t m = 0; m < groups; ++m, group.next()) Op::column(acc.data(), base + group.offset(), width);
        float* out = y + r * n + j0;
        for (int64_t j = 0; j < width; ++j) out[j] = Op::finish(acc[j], scale);
      }
    }
    return;
  }
  // Few short output rows over many reduced groups (bias gradients (N, C) -> (C)): each thread
  // accumulates its share of the groups privately, then the partial rows are combined in
  // thread order.
  const int64_t outputs = rows * n;  // few: under 4 * threads * kBlock
  std::vector<Acc> partial(static_cast<size_t>(threads * outputs), Op::init());
  std::vector<int64_t> row_offset(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) row_offset[static_cast<size_t>(r)] = p.kept.offset(r);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const auto [begin, end] = thread_share(groups, t, omp_get_num_threads());
    std::vector<Acc> acc(static_cast<size_t>(outputs), Op::init());
    IndexCursor group(p.reduced, begin);
    for (int64_t m = begin; m < end; ++m, group.next())
      for (int64_t r = 0; r < rows; ++r)
        Op::column(acc.data() + r * n, x + row_offset[static_cast<size_t>(r)] + group.offset(), n);
    std::copy(acc.begin(), acc.end(), partial.begin() + t * outputs);
  }
  for (int64_t i = 0; i < outputs; ++i) {
    Acc acc = partial[static_cast<size_t>(i)];
    for (int t = 1; t < threads; ++t) acc = Op::combine(acc, partial[static_cast<size_t>(t * outputs + i)]);
    y[i] = Op::finish(acc, scale);
  }
}

template <typename Op>
void reduce_with(const Plan& plan, const float* x, float* y, double scale) {
  if (plan.inner_reduced) {
    reduce_rows<Op>(plan, x, y, scale);
  } else {
    reduce_columns<Op>(plan, x, y, scale);
  }
}

inline bool is_max(float v, float target) { return v == target || (target != target && v != v); }

}  // namespace

void reduce_f32(ReduceOp op, const std::vector<int64_t>& shape, const std::vector<int>& axes, const float* x,
                float* y) {
  int64_t total = 1, group = 1;
  for (size_t d = 0; d < shape.size(); ++d) total *= shape[d];
  for (int a : axes) group *= shape[static_cast<size_t>(a)];
  if (total == 0) {
    int64_t outputs = 1;
    for (size_t d = 0; d < shape.size(); ++d)
      if (std::find(axes.begin(), axes.end(), static_cast<int>(d)) == axes.end()) outputs *= shape[d];
    const float empty = op == ReduceOp::sum    ? 0.0f
                        : op == ReduceOp::mean ? std::numeric_limits<float>::quiet_NaN()
                                               : -std::numeric_limits<float>::infinity();
    std::fill(y, y + outputs, empty);
    return;
  }
  const Plan plan = make_plan(shape, axes);
  switch (op) {
    case ReduceOp::sum:
      return reduce_with<SumOp>(plan, x, y, 1.0);
    case ReduceOp::mean:
      return reduce_with<SumOp>(plan, x, y, 1.0 / static_cast<double>(group));
    case ReduceOp::max:
      return reduce_with<MaxOp>(plan, x, y, 1.0);
  }
}

void max_backward_f32(const std::vector<int64_t>& shape, const std::vector<int>& axes, const float* x, const float* y,
                      const float* dy, float* dx) {
  int64_t total = 1;
  for (int64_t d : shape) total *= d;
#pragma omp parallel for simd schedule(static) if (total > 65536)
  for (int64_t i = 0; i < total; ++i) dx[i] = 0.0f;
  if (total == 0) return;
  const Plan p = make_plan(shape, axes);
  const int64_t n = p.inner, groups = p.reduced.count();
  const int threads = threads_for(total);
  if (p.inner_reduced) {
    const int64_t outputs = p.kept.count();
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
      const auto [begin, end] = thread_share(outputs, omp_get_thread_num(), omp_get_num_threads());
      IndexCursor out(p.kept, begin);
      for (int64_t o = begin; o < end; ++o, out.next()) {
        int64_t at = -1;
        for (int64_t m = 0; m < groups && at < 0; ++m) {
          const int64_t row = out.offset() + p.reduced.offset(m);
          for (int64_t j = 0; j < n; ++j)
            if (is_max(x[row + j], y[o])) {
              at = row + j;
              break;
            }
        }
        if (at >= 0) dx[at] = dy[o];
      }
    }
    return;
  }
  const int64_t blocks = (n + kBlock - 1) / kBlock, tasks = p.kept.count() * blocks;
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const auto [begin, end] = thread_share(tasks, omp_get_thread_num(), omp_get_num_threads());
    std::vector<int64_t> first(static_cast<size_t>(std::min(kBlock, n)));
    for (int64_t t = begin; t < end; ++t) {
      const int64_t r = t / blocks, j0 = t % blocks * kBlock, width = std::min(kBlock, n - j0);
      const int64_t base = p.kept.offset(r) + j0, out = r * n + j0;
      std::fill(first.begin(), first.begin() + width, int64_t{-1});
      int64_t missing = width;
      for (int64_t m = 0; m < groups && missing > 0; ++m) {
        const int64_t offset = p.reduced.offset(m);
        const float* row = x + base + offset;
        for (int64_t j = 0; j < width; ++j)
          if (first[j] < 0 && is_max(row[j], y[out + j])) {
            first[j] = offset;
            --missing;
          }
      }
      for (int64_t j = 0; j < width; ++j)
        if (first[j] >= 0) dx[base + first[j] + j] = dy[out + j];
    }
  }
}

}  // namespace hanvit::cpu
