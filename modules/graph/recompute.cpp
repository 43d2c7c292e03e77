// Recompute regions: the scope that stamps them and the copies backward() reads.
#include "modules/graph/recompute.h"

#include <algorithm>

namespace hanvit {

RecomputeScope::RecomputeScope(Graph& graph) : graph_(graph) {
  if (!graph.recompute() || !graph.grad_enabled() || graph.region() != 0) return;
  graph.open_region();
  opened_ = true;
}

RecomputeScope::~RecomputeScope() {
  if (opened_) graph_.close_region();
}

Recomputation::Recomputation(Graph& graph) : graph_(graph) {
  const int n = static_cast<int>(graph.size());
  int regions = 0;
  for (int id = 0; id < n; ++id) regions = std::max(regions, graph.node(id).region);
  if (regions == 0) return;
  members_.resize(static_cast<size_t>(regions) + 1);
  recomputed_.assign(static_cast<size_t>(regions) + 1, false);
  internal_.assign(static_cast<size_t>(n), false);
  copy_.assign(static_cast<size_t>(n), -1);
  for (int id = 0; id < n; ++id) {
    const int region = graph.node(id).region;
    if (region == 0) continue;
    members_[static_cast<size_t>(region)].push_back(id);
    internal_[static_cast<size_t>(id)] = true;
  }
  for (int id = 0; id < n; ++id) {
    const Node& node = graph.node(id);
    for (int in : node.inputs)
      if (graph.node(in).region != node.region) internal_[static_cast<size_t>(in)] = false;
  }
}

int Recomputation::copy_of(int id) const {
  const int copy = copy_[static_cast<size_t>(id)];
  return copy >= 0 ? copy : id;
}

void Recomputation::recompute(int region) {
  recomputed_[static_cast<size_t>(region)] = true;
  for (int id : members_[static_cast<size_t>(region)]) {
    if (!internal_[static_cast<size_t>(id)]) continue;
    Node node = graph_.node(id);
    for (int& in : node.inputs) in = copy_of(in);
    copy_[static_cast<size_t>(id)] = graph_.record(std::move(node)).id();
  }
}

void Recomputation::substitute(BackwardContext& ctx) {
  if (members_.empty()) return;
  const int id = ctx.output.id();
  const int region = graph_.node(id).region;
  if (region == 0) return;
  if (!recomputed_[static_cast<size_t>(region)]) recompute(region);
  for (int& in : ctx.node.inputs) in = copy_of(in);
  ctx.output = Var(&graph_, copy_of(id));
}

}  // namespace hanvit
