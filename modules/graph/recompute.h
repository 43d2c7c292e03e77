// Activation recomputation (gradient checkpointing): RecomputeScope marks a block's nodes as one
// region; Recomputation lets backward() read recomputed copies of a region's internal values.
#pragma once

#include <vector>

#include "modules/graph/autograd.h"
#include "modules/graph/graph.h"

namespace hanvit {

// Stamps every node recorded while it lives with a fresh region id, when the graph has
// recomputation on (Graph::set_recompute) and grad enabled; otherwise it does nothing.
// Nested scopes: the outermost wins, so a region is always one whole block.
class RecomputeScope {
 public:
  explicit RecomputeScope(Graph& graph);
  ~RecomputeScope();
  RecomputeScope(const RecomputeScope&) = delete;
  RecomputeScope& operator=(const RecomputeScope&) = delete;

 private:
  Graph& graph_;
  bool opened_ = false;
};

// backward()'s helper. A region's internal values are its nodes that no node outside the region
// reads; the rest (its outputs) and the region's inputs are the checkpoints the forward keeps.
// The first time the backward reaches a region, its internal values are recorded again — same
// ops, inputs and attributes (a dropout keeps its seed, so draws the same mask), reading the
// checkpoints — and from then on the region's backward rules read those copies. The originals
// are last read inside the forward, so the executor frees them before the backward starts.
class Recomputation {
 public:
  // Finds the regions among the nodes recorded so far (the forward of the loss).
  explicit Recomputation(Graph& graph);

  // Points the node inputs and the output of `ctx` at recomputed copies where they are internal
  // values of a region, recording that region's copies on first use. No-op outside regions.
  void substitute(BackwardContext& ctx);

 private:
  void recompute(int region);
  int copy_of(int id) const;  // the recomputed copy of `id`, or `id` itself

  Graph& graph_;
  std::vector<bool> internal_;             // by node id
  std::vector<std::vector<int>> members_;  // by region id: its node ids, ascending
  std::vector<bool> recomputed_;           // by region id
  std::vector<int> copy_;                  // by node id: its recomputed copy, or -1
};

}  // namespace hanvit
