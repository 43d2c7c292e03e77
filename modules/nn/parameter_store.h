// ParameterStore: host f32 values by full dotted name: seeded init, binding, declared-vs-held checks.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "modules/exec/executor.h"
#include "modules/nn/module.h"

namespace hanvit {

struct ShapeMismatch {
  std::string name;
  Shape declared;  // by the module tree
  Shape held;      // by the store
};

// What a module tree declares vs what a store holds; names sorted.
struct ParameterMatch {
  std::vector<std::string> missing;     // declared, not held
  std::vector<std::string> unexpected;  // held, not declared
  std::vector<ShapeMismatch> mismatched;
  bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
};

class ParameterStore {
 public:
  // Every value drawn by initialize() depends only on (seed, parameter name, shape, init).
  explicit ParameterStore(uint64_t seed = 0) : seed_(seed) {}

  // Creates or overwrites every parameter `module` declares, drawn from its declared Init.
  void initialize(const Module& module);
  // Creates or overwrites `name` with values drawn from `init`.
  void initialize(const std::string& name, const Shape& shape, Init init);

  // Stores `value` as a contiguous host f32 tensor (converted or copied when it is not one).
  void set(const std::string& name, const Tensor& value);
  bool contains(const std::string& name) const { return tensors_.count(name) > 0; }
  // The stored tensor (updated in place by optimizers); throws naming a missing name.
  const Tensor& get(const std::string& name) const;
  // Removes `name`; throws naming a missing name.
  void erase(const std::string& name);
  std::vector<std::string> names() const;  // sorted
  size_t size() const { return tensors_.size(); }

  ParameterMatch match(const Module& module) const;
  // Throws std::invalid_argument listing missing, unexpected and mismatched parameters.
  void require_match(const Module& module) const;

  // Binds every parameter leaf that `exec` (built on `graph`) runs. Throws naming a parameter
  // the store lacks, or one whose stored shape differs from the graph's (both shapes).
  void bind_all(Executor& exec, const Graph& graph) const;

 private:
  uint64_t seed_;
  std::map<std::string, Tensor> tensors_;
};

}  // namespace hanvit
