// Module tree: registration checks, full dotted names and graph parameter leaves.
#include "modules/nn/module.h"

#include <set>
#include <stdexcept>

namespace hanvit {
namespace {

// A dotted path of non-empty segments: "weight", "output.dense".
bool valid_path(const std::string& name) {
  if (name.empty() || name.front() == '.' || name.back() == '.') return false;
  return name.find("..") == std::string::npos;
}

}  // namespace

Module::Module(std::string type_name) : type_name_(std::move(type_name)) {}

Module::~Module() {
  for (auto& [name, child] : children_) child->parent_ = nullptr;
}

std::string Module::prefix() const {
  if (!parent_) return "";
  std::string p = parent_->prefix();
  return local_name_.empty() ? p : p + local_name_ + ".";
}

std::string Module::path() const {
  std::string p = prefix();
  if (!p.empty()) p.pop_back();
  return p;
}

std::string Module::describe() const {
  const std::string p = path();
  return p.empty() ? type_name_ : type_name_ + " '" + p + "'";
}

void Module::fail(const std::string& message) const { throw std::invalid_argument(describe() + ": " + message); }

bool Module::uses_local_name(const std::string& name) const {
  for (const ParameterInfo& p : params_)
    if (p.name == name) return true;
  for (const auto& [child_name, child] : children_)
    if (!name.empty() && child_name == name) return true;
  return false;
}

void Module::register_parameter(const std::string& name, const Shape& shape, Init init) {
  if (!valid_path(name)) fail("invalid parameter name '" + name + "'");
  if (uses_local_name(name)) fail("name '" + name + "' is already registered");
  for (int64_t d : shape)
    if (d < 0) fail("parameter '" + name + "' has negative dimension in " + shape_str(shape));
  params_.push_back({name, shape, init});
}

void Module::attach(const std::string& name, std::shared_ptr<Module> child) {
  if (!child) fail("module '" + name + "' is null");
  if (!name.empty() && !valid_path(name)) fail("invalid module name '" + name + "'");
  if (uses_local_name(name)) fail("name '" + name + "' is already registered");
  if (child->parent_) fail(child->type_name_ + " '" + name + "' is already registered as '" + child->path() + "'");
  for (const Module* m = this; m; m = m->parent_)
    if (m == child.get()) fail("registering '" + name + "' would make a cycle");
  child->parent_ = this;
  child->local_name_ = name;
  children_.emplace_back(name, std::move(child));
}

void Module::set_init(const std::string& name, Init init) {
  for (ParameterInfo& p : params_)
    if (p.name == name) {
      p.init = init;
      return;
    }
  // A descendant's parameter: "<child>.<rest>" (a child mounted under "" takes the name whole).
  for (auto& [child_name, child] : children_) {
    if (child_name.empty()) {
      if (child->uses_name_below(name)) return child->set_init(name, init);
    } else if (name.size() > child_name.size() && name.compare(0, child_name.size(), child_name) == 0 &&
               name[child_name.size()] == '.') {
      return child->set_init(name.substr(child_name.size() + 1), init);
    }
  }
  fail("has no parameter '" + name + "'");
}

bool Module::uses_name_below(const std::string& name) const {
  for (const ParameterInfo& p : named_parameters())
    if (p.name == prefix() + name) return true;
  return false;
}

void Module::collect(const std::string& prefix, std::vector<ParameterInfo>& out) const {
  for (const ParameterInfo& p : params_) out.push_back({prefix + p.name, p.shape, p.init});
  for (const auto& [name, child] : children_) child->collect(name.empty() ? prefix : prefix + name + ".", out);
}

std::vector<ParameterInfo> Module::named_parameters() const {
  std::vector<ParameterInfo> out;
  collect(prefix(), out);
  std::set<std::string> seen;
  for (const ParameterInfo& p : out)
    if (!seen.insert(p.name).second) fail("declares parameter '" + p.name + "' twice");
  return out;
}

void Module::visit(const std::function<void(const Module&)>& f) const {
  f(*this);
  for (const auto& [name, child] : children_) child->visit(f);
}

Var Module::param(Graph& g, const std::string& name) const {
  const ParameterInfo* info = nullptr;
  for (const ParameterInfo& p : params_)
    if (p.name == name) info = &p;
  if (!info) fail("has no parameter '" + name + "'");
  std::string full = prefix() + name;
  int id = g.find_leaf(full);
  if (id < 0) return g.parameter(full, info->shape);
  const Node& node = g.node(id);
  if (node.op != OpKind::parameter) fail("the graph has an input named '" + full + "'");
  if (node.shape != info->shape || node.dtype != DType::f32)
    fail("parameter '" + full + "' is declared f32" + shape_str(info->shape) + " but the graph has it as " +
         std::string(dtype_name(node.dtype)) + shape_str(node.shape));
  return Var(&g, id);
}

}  // namespace hanvit
