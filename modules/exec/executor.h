// Runs a graph on a backend: topological order, a memory plan from tensor lifetimes, one arena.
// A built executor re-runs with new input data without re-planning.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "modules/backend/backend.h"
#include "modules/exec/memory_plan.h"
#include "modules/graph/graph.h"

namespace hanvit {

struct ExecutorOptions {
  bool poison = false;   // fill the arena with NaN before every run (tests: no stale reads)
  bool profile = false;  // time every node; read with op_seconds()
};

class Executor {
 public:
  // Plans the nodes that `outputs` depend on. Throws if the backend lacks a kernel.
  Executor(const Graph& graph, Backend& backend, std::vector<Var> outputs, ExecutorOptions options = {});

  // Binds an input or parameter by name. The tensor's data is used directly when it is
  // contiguous, of the node's dtype and on the backend's device (parameters updated in place
  // are seen by the next run); otherwise it is copied at bind time, into the buffer of the
  // previous copy when there is one (so a captured run stays valid).
  void bind(const std::string& name, const Tensor& value);
  bool is_bound(const std::string& name) const;
  void run();
  // Calls `callback` during every run() right after `output` (an output of this executor) has
  // been computed, before the nodes after it in order(), so its value can be read while the rest
  // of the graph runs (a gradient handed to GradientBuckets). Callbacks of one output run in the
  // order they were added. On a device with a queue (CUDA) the node's work has been enqueued,
  // not finished: work issued on the backend's stream is ordered after it.
  void on_computed(Var output, std::function<void()> callback);
  // Records one run's device work (a CUDA graph) so later run() calls replay it with one launch.
  // Needs every leaf bound; binding a leaf to a different buffer afterwards drops the capture.
  // Returns false, and runs normally from then on, where the backend cannot capture (the CPU)
  // or on_computed callbacks are set (they run on the host between nodes).
  bool capture();
  bool captured() const { return captured_ != nullptr; }
  // An output's value; valid until the next run.
  Tensor value(Var output) const;

  // With options.profile: seconds spent per node id, summed over every run so far, and the
  // same summed per op kind.
  const std::vector<double>& node_seconds() const { return node_seconds_; }
  std::vector<double> op_seconds() const;

  size_t planned_peak_bytes() const { return plan_.peak_bytes; }
  size_t naive_bytes() const { return plan_.naive_bytes; }
  const std::vector<int>& order() const { return order_; }
  // For tests: the arena byte range [begin, end) of a planned value and its live steps.
  struct Placement {
    int node = -1;
    size_t offset = 0, bytes = 0;
    int first_step = 0, last_step = 0;
  };
  const std::vector<Placement>& placements() const { return placements_; }

 private:
  const Graph& graph_;
  Backend& backend_;
  ExecutorOptions options_;
  std::vector<int> order_;     // node ids in execution order
  std::vector<int> outputs_;
  MemoryPlan plan_;
  std::vector<Placement> placements_;
  std::shared_ptr<Storage> arena_;
  std::vector<Tensor> values_;  // by node id
  std::map<std::string, int> leaves_;
  std::vector<double> node_seconds_;
  std::vector<bool> owned_;  // by node id: the leaf's value is a copy this executor made
  std::unique_ptr<CapturedWork> captured_;
  std::vector<std::vector<std::function<void()>>> callbacks_;  // by node id
  bool has_callbacks_ = false;

  void check_bound() const;
  void run_nodes();
  void run_node(int id, std::vector<Tensor>& inputs);
};

}  // namespace hanvit
