// Module: a tree of named parameter declarations that builds graph parameter leaves by full dotted name.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "modules/graph/graph.h"

namespace hanvit {

// How a parameter's first values are drawn (ParameterStore::initialize fills them).
struct Init {
  enum class Kind { zeros, ones, normal, uniform };
  Kind kind = Kind::zeros;
  double scale = 0.0;  // normal: the standard deviation; uniform: the bound b of U(-b, b)

  static Init zeros() { return {Kind::zeros, 0.0}; }
  static Init ones() { return {Kind::ones, 0.0}; }
  static Init normal(double std) { return {Kind::normal, std}; }
  static Init uniform(double bound) { return {Kind::uniform, bound}; }
};

struct ParameterInfo {
  std::string name;  // full dotted name ("layers.3.self_attn.q_proj.weight") or, inside a module, local
  Shape shape;
  Init init;
};

// A module describes parameters; it holds no tensors. Children are shared_ptrs registered under
// a local name (a dotted path such as "output.dense" is allowed); a child registered under ""
// is mounted in place: its names appear directly under the parent's prefix. A module belongs
// to at most one parent and is neither copied nor moved (children point at their parent).
class Module {
 public:
  virtual ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  const std::string& type_name() const { return type_name_; }
  // Dotted path from the root, "" for a root: "layers.0.self_attn".
  std::string path() const;
  // For messages: "Attention 'layers.0.self_attn'", or the type name alone for a root.
  std::string describe() const;

  void register_parameter(const std::string& name, const Shape& shape, Init init);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> child) {
    attach(name, child);
    return child;
  }
  // Replaces the declared init of parameter `name`, local or a descendant's by its dotted path
  // from here ("q_proj.weight"), e.g. GPT-2's normal(0.02).
  void set_init(const std::string& name, Init init);

  // Every parameter of the tree under this module, with full dotted names, in torch's order:
  // own parameters in registration order, then each child's in registration order. Throws
  // when two declarations end up with one full name.
  std::vector<ParameterInfo> named_parameters() const;
  // Calls `f` on this module and then on every descendant, depth first in registration order.
  void visit(const std::function<void(const Module&)>& f) const;

  // The graph parameter leaf of local parameter `name`, named with its full dotted name:
  // created on the first use in `g`, the same leaf afterwards.
  Var param(Graph& g, const std::string& name) const;

 protected:
  explicit Module(std::string type_name);
  // Throws std::invalid_argument "<describe()>: <message>".
  [[noreturn]] void fail(const std::string& message) const;

 private:
  void attach(const std::string& name, std::shared_ptr<Module> child);
  void collect(const std::string& prefix, std::vector<ParameterInfo>& out) const;
  std::string prefix() const;  // path() plus a trailing dot, "" for a root
  bool uses_local_name(const std::string& name) const;
  bool uses_name_below(const std::string& name) const;  // `name` is a parameter of this tree, from here

  std::string type_name_;
  std::string local_name_;
  Module* parent_ = nullptr;
  std::vector<ParameterInfo> params_;  // local names
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

// Children numbered from 0 ("layers.0", "layers.1", ...), all of one type.
template <typename M = Module>
class ModuleList : public Module {
 public:
  ModuleList() : Module("ModuleList") {}

  std::shared_ptr<M> push_back(std::shared_ptr<M> child) {
    items_.push_back(register_module(std::to_string(items_.size()), std::move(child)));
    return items_.back();
  }
  size_t size() const { return items_.size(); }
  M& operator[](size_t i) const { return *items_.at(i); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  std::vector<std::shared_ptr<M>> items_;
};

}  // namespace hanvit
