// Buffer reuse from tensor lifetimes: assigns arena offsets so that no two buffers that are
// alive at the same step overlap, and reports the planned peak against the naive sum.
#pragma once

#include <cstddef>
#include <vector>

namespace hanvit {

struct BufferRequest {
  size_t bytes = 0;
  int first_step = 0;  // written at this step
  int last_step = 0;   // last read at this step (inclusive)
};

struct MemoryPlan {
  std::vector<size_t> offsets;  // one per request, 64-byte aligned
  size_t peak_bytes = 0;
  size_t naive_bytes = 0;  // every buffer on its own
};

// Greedy by size: largest buffers first, each at the lowest offset that does not collide with
// an already placed buffer whose lifetime overlaps.
MemoryPlan plan_memory(const std::vector<BufferRequest>& requests);

}  // namespace hanvit
