// Shuffle and per-rank batch plan.
#include "datasets/loader/epoch_order.h"

#include "modules/random/rng.h"

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

namespace hanvit::data {

namespace {

// The random stream of one purpose in one epoch: distinct (seed, epoch, stream) are unrelated.
Rng epoch_rng(uint64_t seed, uint64_t epoch, uint64_t stream) { return Rng(derive_seed(derive_seed(seed, epoch), stream)); }

}  // namespace

std::vector<size_t> epoch_permutation(size_t n, uint64_t seed, uint64_t epoch, bool shuffle) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  if (!shuffle) return order;
  Rng rng = epoch_rng(seed, epoch, 0);
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  return order;
}

std::vector<size_t> group_by_length(const std::vector<size_t>& permutation, const std::vector<size_t>& lengths,
                                    size_t global_batch, size_t window_batches, uint64_t seed, uint64_t epoch) {
  if (global_batch == 0 || window_batches == 0) throw std::invalid_argument("group_by_length: empty batches or windows");
  Rng rng = epoch_rng(seed, epoch, ~uint64_t{0});  // pick_reference uses streams 1..N
  std::vector<size_t> out;
  out.reserve(permutation.size());
  const size_t window = global_batch * window_batches;
  for (size_t begin = 0; begin < permutation.size(); begin += window) {
    std::vector<size_t> part(permutation.begin() + static_cast<std::ptrdiff_t>(begin),
                             permutation.begin() + static_cast<std::ptrdiff_t>(std::min(permutation.size(), begin + window)));
    std::stable_sort(part.begin(), part.end(), [&](size_t a, size_t b) { return lengths.at(a) < lengths.at(b); });
    std::vector<size_t> batches((part.size() + global_batch - 1) / global_batch);
    for (size_t i = 0; i < batches.size(); ++i) batches[i] = i;
    // A short last batch of the whole permutation stays last (drop_last may drop it).
    const size_t shuffled = part.size() % global_batch == 0 ? batches.size() : batches.size() - 1;
    for (size_t i = shuffled; i > 1; --i) std::swap(batches[i - 1], batches[rng.below(i)]);
    for (size_t b : batches)
      for (size_t i = b * global_batch; i < std::min(part.size(), (b + 1) * global_batch); ++i) out.push_back(part[i]);
  }
  return out;
}

size_t pick_reference(uint64_t seed, uint64_t epoch, size_t sample, size_t count) {
  if (count == 0) throw std::invalid_argument("pick_reference: a sample without captions");
  Rng rng = epoch_rng(seed, epoch, 1 + static_cast<uint64_t>(sample));
  return static_cast<size_t>(rng.below(count));
}

RankPlan plan_rank(const std::vector<size_t>& permutation, size_t batch_size, size_t rank, size_t world_size,
                   bool drop_last) {
  if (batch_size == 0) throw std::invalid_argument("batch size must be positive");
  if (world_size == 0 || rank >= world_size)
    throw std::invalid_argument("rank " + std::to_string(rank) + " is not below world size " +
                                std::to_string(world_size));
  const size_t global = batch_size * world_size;
  const size_t full = permutation.size() / global;
  const size_t rest = permutation.size() % global;
  RankPlan plan;
  plan.batch_start.push_back(0);
  const auto take = [&](size_t begin, size_t count) {
    plan.order.insert(plan.order.end(), permutation.begin() + static_cast<std::ptrdiff_t>(begin),
                      permutation.begin() + static_cast<std::ptrdiff_t>(begin + count));
    plan.batch_start.push_back(plan.order.size());
  };
  for (size_t s = 0; s < full; ++s) take(s * global + rank * batch_size, batch_size);
  if (rest > 0 && !drop_last) {
    const size_t part = rest / world_size, extra = rest % world_size;
    take(full * global + rank * part + std::min(rank, extra), part + (rank < extra ? 1 : 0));
  }
  return plan;
}

}  // namespace hanvit::data
