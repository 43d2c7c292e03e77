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
