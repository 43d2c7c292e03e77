// The computation graph: nodes recorded by op builders, and Var, a handle to one node's output.
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "modules/graph/op_attrs.h"
#include "modules/graph/op_list.h"
#include "modules/tensor/tensor.h"

namespace hanvit {

class Graph;

struct Node {
  OpKind op = OpKind::input;
  std::vector<int> inputs;  // ids of earlier nodes: ids are a topological order
  Shape shape;
  DType dtype = DType::f32;
  OpAttrs attrs;
  std::string name;           // inputs and parameters: the name they are bound by
  bool requires_grad = false;  // a parameter, or computed from one
  Tensor value;                // constants: their data
  int region = 0;              // recompute region (modules/graph/recompute.h), 0: none
};

// A node's output. Cheap to copy; valid while its graph lives.
class Var {
 public:
  Var() = default;
  Var(Graph* graph, int id) : graph_(graph), id_(id) {}

  bool defined() const { return graph_ != nullptr; }
  Graph& graph() const { return *graph_; }
  int id() const { return id_; }
  const Node& node() const;
  const Shape& shape() const { return node().shape; }
  DType dtype() const { return node().dtype; }
  size_t rank() const { return shape().size(); }
  int64_t dim(int64_t axis) const;
  std::string str() const;  // "matmul#12 f32(2,3)"

 private:
  Graph* graph_ = nullptr;
  int id_ = -1;
};

class Graph {
 public:
  // grad_enabled = false makes an inference graph: nothing requires grad, backward() refuses.
  explicit Graph(bool grad_enabled = true) : grad_enabled_(grad_enabled) {}
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // Parameters created afterwards whose name `frozen` accepts get no gradient (they are still bound
  // and read like any parameter): the part of a model that training leaves alone.
  void set_frozen(std::function<bool(const std::string&)> frozen) { frozen_ = std::move(frozen); }

  // Linear::forward hands its result to the adapter, when one is set, and returns what the adapter
  // gives back: (Linear's dotted path, rows (N, in), out (N, out)) -> (N, out). LoRA plugs in here.
  using LinearAdapter = std::function<Var(const std::string& path, Var rows, Var out)>;
  void set_linear_adapter(LinearAdapter adapter) { linear_adapter_ = std::move(adapter); }
  const LinearAdapter& linear_adapter() const { return linear_adapter_; }

  // Activation recomputation, switched on before the model is recorded: blocks recorded inside a
  // RecomputeScope become regions whose internal values backward() recomputes instead of keeping
  // (modules/graph/recompute.h). Off by default; no effect on an inference graph.
  void set_recompute(bool on) { recompute_ = on; }
  bool recompute() const { return recompute_; }
  // The recompute region stamped on nodes recorded from now on (0: none); RecomputeScope opens
  // a fresh one and closes it.
  int region() const { return region_; }
  void open_region() { region_ = ++regions_; }
  void close_region() { region_ = 0; }

  Var input(const std::string& name, const Shape& shape, DType dtype = DType::f32);
  Var parameter(const std::string& name, const Shape& shape, DType dtype = DType::f32);
  Var constant(const Tensor& value);

  // Records a node after its builder checked it; requires_grad follows the inputs.
  Var record(Node node);

  const Node& node(int id) const { return nodes_.at(static_cast<size_t>(id)); }
  size_t size() const { return nodes_.size(); }
  bool grad_enabled() const { return grad_enabled_; }
  // Id of the input or parameter with this name, or -1.
  int find_leaf(const std::string& name) const;
  std::vector<Var> parameters();

 private:
  Var add_leaf(OpKind op, const std::string& name, const Shape& shape, DType dtype);

  std::deque<Node> nodes_;  // a deque: recording never moves earlier nodes, so references stay valid
  bool grad_enabled_;
  std::function<bool(const std::string&)> frozen_;
  LinearAdapter linear_adapter_;
  bool recompute_ = false;
  int region_ = 0;   // stamped by record()
  int regions_ = 0;  // regions opened so far
};

}  // namespace hanvit
