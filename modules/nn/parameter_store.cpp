// ParameterStore: seeded init per parameter name, set/get, tree matching and executor binding.
#include "modules/nn/parameter_store.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <set>
#include <stdexcept>

namespace hanvit {
namespace {

// FNV-1a: a hash of the name that is the same on every platform (std::hash is not).
uint64_t fnv1a(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Uniform in [0, 1) from the top 53 bits: the distributions of <random> differ between
// standard libraries, std::mt19937_64 itself does not.
double unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

void fill(const Tensor& t, Init init, std::mt19937_64& rng) {
  float* data = t.data<float>();
  const int64_t n = t.numel();
  switch (init.kind) {
    case Init::Kind::zeros:
      std::fill(data, data + n, 0.0f);
      break;
    case Init::Kind::ones:
      std::fill(data, data + n, 1.0f);
      break;
    case Init::Kind::uniform:
      for (int64_t i = 0; i < n; ++i) data[i] = static_cast<float>((2.0 * unit(rng) - 1.0) * init.scale);
      break;
    case Init::Kind::normal:
      // Box-Muller: two normals from two uniforms; 1 - u keeps the log argument in (0, 1].
      for (int64_t i = 0; i < n; i += 2) {
        double radius = std::sqrt(-2.0 * std::log(1.0 - unit(rng)));
        double angle = 2.0 * std::numbers::pi * unit(rng);
        data[i] = static_cast<float>(init.scale * radius * std::cos(angle));
        if (i + 1 < n) data[i + 1] = static_cast<float>(init.scale * radius * std::sin(angle));
      }
      break;
  }
}

std::string name_list(const std::vector<std::string>& names) {
  constexpr size_t kShown = 8;
  std::string text;
  for (size_t i = 0; i < names.size() && i < kShown; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > kShown) text += ", ... (" + std::to_string(names.size()) + " in all)";
  return text;
}

}  // namespace

void ParameterStore::initialize(const std::string& name, const Shape& shape, Init init) {
  if ((init.kind == Init::Kind::normal || init.kind == Init::Kind::uniform) && !(init.scale >= 0.0))
    throw std::invalid_argument("initialize '" + name + "': scale must be >= 0, got " + std::to_string(init.scale));
  Tensor t = Tensor::empty(shape, DType::f32);
  std::mt19937_64 rng(splitmix64(seed_ ^ fnv1a(name)));
  fill(t, init, rng);
  tensors_[name] = t;
}

void ParameterStore::initialize(const Module& module) {
  for (const ParameterInfo& p : module.named_parameters()) initialize(p.name, p.shape, p.init);
}

void ParameterStore::set(const std::string& name, const Tensor& value) {
  if (!value.defined()) throw std::invalid_argument("set '" + name + "': undefined tensor");
  if (value.device() != Device::cpu())
    throw std::invalid_argument("set '" + name + "': parameter store holds host tensors, got one on another device");
  tensors_[name] = value.dtype() == DType::f32 ? value.contiguous() : value.to(DType::f32).contiguous();
}

const Tensor& ParameterStore::get(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw std::invalid_argument("parameter store has no parameter '" + name + "'");
  return it->second;
}

void ParameterStore::erase(const std::string& name) {
  if (tensors_.erase(name) == 0) throw std::invalid_argument("parameter store has no parameter '" + name + "'");
}

std::vector<std::string> ParameterStore::names() const {
  std::vector<std::string> out;
  for (const auto& [name, tensor] : tensors_) out.push_back(name);
  return out;
}

ParameterMatch ParameterStore::match(const Module& module) const {
  ParameterMatch result;
  std::set<std::string> declared;
  for (const ParameterInfo& p : module.named_parameters()) {
    declared.insert(p.name);
    auto it = tensors_.find(p.name);
    if (it == tensors_.end())
      result.missing.push_back(p.name);
    else if (it->second.shape() != p.shape)
      result.mismatched.push_back({p.name, p.shape, it->second.shape()});
  }
  for (const auto& [name, tensor] : tensors_)
    if (!declared.count(name)) result.unexpected.push_back(name);
  std::sort(result.missing.begin(), result.missing.end());
  std::sort(result.mismatched.begin(), result.mismatched.end(),
            [](const ShapeMismatch& a, const ShapeMismatch& b) { return a.name < b.name; });
  return result;
}

void ParameterStore::require_match(const Module& module) const {
  ParameterMatch m = match(module);
  if (m.ok()) return;
  std::string text = "parameters do not match " + module.describe() + ":";
  if (!m.missing.empty()) text += " missing [" + name_list(m.missing) + "];";
  if (!m.unexpected.empty()) text += " unexpected [" + name_list(m.unexpected) + "];";
  if (!m.mismatched.empty()) {
    std::vector<std::string> shapes;
    for (const ShapeMismatch& s : m.mismatched)
      shapes.push_back(s.name + ": declared " + shape_str(s.declared) + ", held " + shape_str(s.held));
    text += " shape mismatch [" + name_list(shapes) + "];";
  }
  text.pop_back();
  throw std::invalid_argument(text);
}

void ParameterStore::bind_all(Executor& exec, const Graph& graph) const {
  for (int id : exec.order()) {
    if (static_cast<size_t>(id) >= graph.size())
      throw std::invalid_argument("bind_all: the executor was built on another graph");
    const Node& node = graph.node(id);
    if (node.op != OpKind::parameter) continue;
    auto it = tensors_.find(node.name);
    if (it == tensors_.end())
      throw std::invalid_argument("bind_all: parameter store has no parameter '" + node.name + "' (graph expects " +
                                  shape_str(node.shape) + ")");
    if (it->second.shape() != node.shape)
      throw std::invalid_argument("bind_all: parameter '" + node.name + "' is " + shape_str(it->second.shape()) +
                                  " in the store but " + shape_str(node.shape) + " in the graph");
    exec.bind(node.name, it->second);
  }
}

}  // namespace hanvit
