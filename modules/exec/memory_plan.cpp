// Greedy-by-size offset assignment over buffer lifetimes.
#include "modules/exec/memory_plan.h"

#include <algorithm>
#include <numeric>

namespace hanvit {
namespace {

size_t align64(size_t n) { return (n + 63) / 64 * 64; }

}  // namespace

MemoryPlan plan_memory(const std::vector<BufferRequest>& requests) {
  MemoryPlan plan;
  plan.offsets.assign(requests.size(), 0);
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return requests[a].bytes > requests[b].bytes; });
  std::vector<size_t> placed;
  for (size_t r : order) {
    const BufferRequest& req = requests[r];
    size_t size = align64(req.bytes);
    plan.naive_bytes += size;
    // Address ranges of placed buffers alive at the same time, sorted by offset.
    std::vector<std::pair<size_t, size_t>> busy;
    for (size_t p : placed) {
      const BufferRequest& other = requests[p];
      if (other.first_step <= req.last_step && req.first_step <= other.last_step)
        busy.emplace_back(plan.offsets[p], plan.offsets[p] + align64(other.bytes));
    }
    std::sort(busy.begin(), busy.end());
    size_t offset = 0;
    for (const auto& [begin, end] : busy) {
      if (offset + size <= begin) break;
      offset = std::max(offset, end);
    }
    plan.offsets[r] = offset;
    plan.peak_bytes = std::max(plan.peak_bytes, offset + size);
    placed.push_back(r);
  }
  return plan;
}

}  // namespace hanvit
