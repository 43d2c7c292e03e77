// Deterministic epoch order: the shuffled permutation per (seed, epoch) and its split over ranks into batches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hanvit::data {

// 0..n-1 shuffled by Fisher-Yates from (seed, epoch); identity when shuffle is false.
std::vector<size_t> epoch_permutation(size_t n, uint64_t seed, uint64_t epoch, bool shuffle);

// `permutation` regrouped so that each global batch (`global_batch` consecutive entries) holds samples of
// similar length (less padding): within windows of `window_batches` global batches, samples are stably
// sorted by `lengths[sample]`, cut into global batches, and those batches shuffled by (seed, epoch). A
// permutation again; the tail after the last full window is sorted and shuffled the same way.
std::vector<size_t> group_by_length(const std::vector<size_t>& permutation, const std::vector<size_t>& lengths,
                                    size_t global_batch, size_t window_batches, uint64_t seed, uint64_t epoch);

// Which of `count` captions a caption sample trains on in `epoch`.
size_t pick_reference(uint64_t seed, uint64_t epoch, size_t sample, size_t count);

// One rank's share of one epoch: the sample indices in order, cut into batches.
struct RankPlan {
  std::vector<size_t> order;        // sample indices
  std::vector<size_t> batch_start;  // steps + 1 offsets into order; batch s = [batch_start[s], batch_start[s+1])
  size_t steps() const { return batch_start.size() - 1; }
};

// Splits `permutation` into global batches of batch_size * world_size; in each, rank r takes the
// r-th block of batch_size. The last, partial global batch is dropped when drop_last; otherwise it
// is split in world_size nearly equal contiguous parts (the first (rest % world_size) ranks get one
// more), so some ranks' last batch is smaller, possibly empty. Every rank has the same number of
// steps, and over all ranks each index appears once (all of them unless drop_last).
RankPlan plan_rank(const std::vector<size_t>& permutation, size_t batch_size, size_t rank, size_t world_size,
                   bool drop_last);

}  // namespace hanvit::data
