// Executor: order, lifetimes, arena placement, binding and the run loop.
#include "modules/exec/executor.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

namespace hanvit {
namespace {

bool is_leaf(OpKind op) { return op == OpKind::input || op == OpKind::parameter || op == OpKind::constant; }

}  // namespace

Executor::Executor(const Graph& graph, Backend& backend, std::vector<Var> outputs, ExecutorOptions options)
    : graph_(graph),
      backend_(backend),
      options_(options),
      values_(graph.size()),
      node_seconds_(graph.size(), 0.0),
      owned_(graph.size(), false),
      callbacks_(graph.size()) {
  std::vector<bool> needed(graph.size(), false);
  for (const Var& out : outputs) {
    if (&out.graph() != &graph) throw std::invalid_argument("executor output " + out.str() + " is from another graph");
    needed[static_cast<size_t>(out.id())] = true;
    outputs_.push_back(out.id());
  }
  for (size_t id = graph.size(); id-- > 0;)
    if (needed[id])
      for (int in : graph.node(static_cast<int>(id)).inputs) needed[static_cast<size_t>(in)] = true;
  for (size_t id = 0; id < graph.size(); ++id)
    if (needed[id]) order_.push_back(static_cast<int>(id));

  // Steps, alias roots (views share their input's buffer) and last uses.
  std::vector<int> step(graph.size(), -1), root(graph.size(), -1), last_use(graph.size(), -1);
  for (size_t s = 0; s < order_.size(); ++s) {
    int id = order_[s];
    const Node& node = graph.node(id);
    step[static_cast<size_t>(id)] = static_cast<int>(s);
    root[static_cast<size_t>(id)] = node.op == OpKind::view ? root[static_cast<size_t>(node.inputs[0])] : id;
    if (node.op == OpKind::input || node.op == OpKind::parameter) leaves_[node.name] = id;
    if (!is_leaf(node.op) && node.op != OpKind::view && !backend_.supports(node))
      throw std::invalid_argument("backend " + backend_.name() + " does not support op " +
                                  std::string(op_name(node.op)) + " on " + std::string(dtype_name(node.dtype)));
    for (int in : node.inputs) {
      int r = root[static_cast<size_t>(in)];
      last_use[static_cast<size_t>(r)] = std::max(last_use[static_cast<size_t>(r)], static_cast<int>(s));
    }
  }
  const int end = static_cast<int>(order_.size());
  for (int out : outputs_) last_use[static_cast<size_t>(root[static_cast<size_t>(out)])] = end;

  std::vector<BufferRequest> requests;
  for (int id : order_) {
    const Node& node = graph.node(id);
    if (is_leaf(node.op) || node.op == OpKind::view) continue;
    size_t bytes = static_cast<size_t>(numel(node.shape)) * dtype_size(node.dtype);
    int first = step[static_cast<size_t>(id)];
    int last = std::max(first, last_use[static_cast<size_t>(id)]);
    requests.push_back({bytes, first, last});
    placements_.push_back({id, 0, bytes, first, last});
  }
  plan_ = plan_memory(requests);
  for (size_t i = 0; i < placements_.size(); ++i) placements_[i].offset = plan_.offsets[i];
  arena_ = backend_.allocate(plan_.peak_bytes);
  for (const Placement& p : placements_) {
    const Node& node = graph.node(p.node);
    values_[static_cast<size_t>(p.node)] =
        Tensor(arena_, node.shape, contiguous_strides(node.shape),
               static_cast<int64_t>(p.offset / dtype_size(node.dtype)), node.dtype);
  }
  for (int id : order_) {
    const Node& node = graph.node(id);
    if (node.op == OpKind::constant) {
      if (backend_.device() == Device::cpu()) {
        values_[static_cast<size_t>(id)] = node.value;
      } else {
        Tensor on_device(backend_.allocate(node.value.nbytes()), node.shape, node.dtype);
        backend_.copy(node.value, on_device);
        values_[static_cast<size_t>(id)] = on_device;
      }
    }
  }
}

void Executor::bind(const std::string& name, const Tensor& value) {
  auto it = leaves_.find(name);
  if (it == leaves_.end()) {
    if (graph_.find_leaf(name) < 0) throw std::invalid_argument("graph has no input or parameter '" + name + "' to bind");
    return;  // a leaf the planned outputs do not depend on
  }
  const Node& node = graph_.node(it->second);
  if (value.shape() != node.shape)
    throw std::invalid_argument("bind '" + name + "': expected shape " + shape_str(node.shape) + ", got " +
                                shape_str(value.shape()));
  const size_t id = static_cast<size_t>(it->second);
  if (value.is_contiguous() && value.dtype() == node.dtype && value.device() == backend_.device()) {
    if (captured_ && values_[id].defined() && values_[id].raw_data() != value.raw_data()) captured_.reset();
    values_[id] = value;
    owned_[id] = false;
    return;
  }
  Tensor host = to_host(value).to(node.dtype).contiguous();
  if (backend_.device() == Device::cpu()) {
    if (captured_) captured_.reset();
    values_[id] = host;
    owned_[id] = true;
    return;
  }
  if (!owned_[id]) {
    if (captured_) captured_.reset();
    values_[id] = Tensor(backend_.allocate(host.nbytes()), node.shape, node.dtype);
    owned_[id] = true;
  }
  backend_.copy(host, values_[id]);
}

bool Executor::is_bound(const std::string& name) const {
  auto it = leaves_.find(name);
  return it != leaves_.end() && values_[static_cast<size_t>(it->second)].defined();
}

void Executor::check_bound() const {
  for (const auto& [name, id] : leaves_)
    if (!values_[static_cast<size_t>(id)].defined())
      throw std::invalid_argument("graph " + std::string(op_name(graph_.node(id).op)) + " '" + name + "' is not bound");
}

void Executor::run() {
  check_bound();
  if (captured_) {
    captured_->replay();
    backend_.synchronize();
    return;
  }
  run_nodes();
  backend_.synchronize();
}

bool Executor::capture() {
  check_bound();
  captured_.reset();
  if (has_callbacks_) return false;
  captured_ = backend_.capture([this] { run_nodes(); });
  return captured_ != nullptr;
}

void Executor::run_nodes() {
  if (options_.poison && arena_ && plan_.peak_bytes) backend_.poison(*arena_);
  std::vector<Tensor> inputs;
  for (int id : order_) {
    run_node(id, inputs);
    for (const auto& callback : callbacks_[static_cast<size_t>(id)]) callback();
  }
}

void Executor::run_node(int id, std::vector<Tensor>& inputs) {
  const Node& node = graph_.node(id);
  if (is_leaf(node.op)) return;
  if (node.op == OpKind::view) {
    const Tensor& source = values_[static_cast<size_t>(node.inputs[0])];
    values_[static_cast<size_t>(id)] = source.view(node.shape);
    return;
  }
  inputs.clear();
  for (int in : node.inputs) inputs.push_back(values_[static_cast<size_t>(in)]);
  if (!options_.profile) {
    backend_.run(node, inputs, values_[static_cast<size_t>(id)]);
    return;
  }
  auto start = std::chrono::steady_clock::now();
  backend_.run(node, inputs, values_[static_cast<size_t>(id)]);
  backend_.synchronize();
  node_seconds_[static_cast<size_t>(id)] +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void Executor::on_computed(Var output, std::function<void()> callback) {
  if (!output.defined()) throw std::invalid_argument("on_computed: the output Var is undefined");
  if (&output.graph() != &graph_ || std::find(outputs_.begin(), outputs_.end(), output.id()) == outputs_.end())
    throw std::invalid_argument("on_computed: " + output.str() + " is not an output of this executor");
  callbacks_[static_cast<size_t>(output.id())].push_back(std::move(callback));
  has_callbacks_ = true;
  captured_.reset();
}

std::vector<double> Executor::op_seconds() const {
  std::vector<double> per_op(kOpCount, 0.0);
  for (int id : order_) per_op[static_cast<size_t>(graph_.node(id).op)] += node_seconds_[static_cast<size_t>(id)];
  return per_op;
}

Tensor Executor::value(Var output) const {
  if (std::find(outputs_.begin(), outputs_.end(), output.id()) == outputs_.end())
    throw std::invalid_argument(output.str() + " is not an output of this executor");
  return values_[static_cast<size_t>(output.id())];
}

}  // namespace hanvit
