// LoRA: finding the targeted Linears, the adapter's graph nodes, merging B A into W, adapter files.
#include "modules/nn/lora.h"

#include <cmath>
#include <map>
#include <stdexcept>

#include "modules/graph/ops.h"
#include "modules/nn/name_patterns.h"
#include "modules/random/rng.h"

namespace hanvit {
namespace {

std::string child_name(const std::string& path, const std::string& name) {
  return path.empty() ? name : path + "." + name;
}

void check_config(const LoraConfig& config) {
  if (config.rank < 1) throw std::invalid_argument("LoRA rank must be >= 1, got " + std::to_string(config.rank));
  if (!std::isfinite(config.alpha))
    throw std::invalid_argument("LoRA alpha must be finite, got " + std::to_string(config.alpha));
  if (!(config.dropout >= 0.0 && config.dropout < 1.0))
    throw std::invalid_argument("LoRA dropout must be in [0, 1), got " + std::to_string(config.dropout));
  if (config.targets.empty()) throw std::invalid_argument("LoRA config has no target patterns");
}

double scaling(const LoraConfig& config) { return config.alpha / config.rank; }

// FNV-1a of the path: the same on every platform (std::hash is not).
uint64_t path_hash(const std::string& path) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : path) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

// The parameter leaf `name` of `g`: created on first use, the same leaf afterwards.
Var adapter_leaf(Graph& g, const std::string& name, const Shape& shape) {
  const int id = g.find_leaf(name);
  if (id < 0) return g.parameter(name, shape);
  const Node& node = g.node(id);
  if (node.op != OpKind::parameter || node.shape != shape)
    throw std::invalid_argument("LoRA parameter '" + name + "' " + shape_str(shape) + " clashes with graph leaf " +
                                Var(&g, id).str());
  return Var(&g, id);
}

// The stored parameter `name`, checked against its expected shape.
const Tensor& stored(const ParameterStore& store, const std::string& name, const Shape& shape) {
  const Tensor& t = store.get(name);
  if (t.shape() != shape)
    throw std::invalid_argument("parameter '" + name + "' is " + shape_str(t.shape()) + " in the store, expected " +
                                shape_str(shape));
  return t;
}

}  // namespace

std::string lora_a_name(const std::string& path) { return child_name(path, "lora_A.weight"); }
std::string lora_b_name(const std::string& path) { return child_name(path, "lora_B.weight"); }

std::vector<LoraTarget> lora_targets(const Module& model, const LoraConfig& config) {
  check_config(config);
  std::vector<std::string> linear_paths;
  std::vector<LoraTarget> targets;
  model.visit([&](const Module& m) {
    const auto* linear = dynamic_cast<const Linear*>(&m);
    if (!linear) return;
    linear_paths.push_back(linear->path());
    if (matches_any(linear_paths.back(), config.targets))
      targets.push_back({linear_paths.back(), linear->in_features(), linear->out_features(), linear->layout()});
  });
  for (const std::string& pattern : config.targets) {
    bool used = false;
    for (const std::string& path : linear_paths) used = used || matches_pattern(path, pattern);
    if (used) continue;
    constexpr size_t kShown = 6;
    std::string known;
    for (size_t i = 0; i < linear_paths.size() && i < kShown; ++i) known += (i ? ", " : "") + linear_paths[i];
    if (linear_paths.size() > kShown) known += ", ... (" + std::to_string(linear_paths.size()) + " in all)";
    throw std::invalid_argument("LoRA target pattern '" + pattern + "' matches no Linear of " + model.describe() +
                                (linear_paths.empty() ? " (it has none)" : "; Linear paths: " + known));
  }
  return targets;
}

std::vector<ParameterInfo> lora_parameters(const Module& model, const LoraConfig& config) {
  std::vector<ParameterInfo> params;
  for (const LoraTarget& t : lora_targets(model, config)) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(t.in_features));
    params.push_back({lora_a_name(t.path), {config.rank, t.in_features}, Init::uniform(bound)});
    params.push_back({lora_b_name(t.path), {t.out_features, config.rank}, Init::zeros()});
  }
  return params;
}

Graph::LinearAdapter lora_adapter(const Module& model, const LoraConfig& config, uint64_t step) {
  std::map<std::string, LoraTarget> by_path;
  for (const LoraTarget& t : lora_targets(model, config)) by_path.emplace(t.path, t);
  const uint64_t step_seed = derive_seed(config.seed, step);
  return [by_path = std::move(by_path), config, step_seed](const std::string& path, Var rows, Var out) -> Var {
    auto it = by_path.find(path);
    if (it == by_path.end()) return out;
    const LoraTarget& t = it->second;
    if (rows.rank() != 2 || rows.dim(1) != t.in_features || out.rank() != 2 || out.dim(1) != t.out_features)
      throw std::invalid_argument("LoRA adapter of '" + path + "' (in " + std::to_string(t.in_features) + ", out " +
                                  std::to_string(t.out_features) + ") got rows " + rows.str() + " and out " +
                                  out.str());
    Graph& g = rows.graph();
    Var a = adapter_leaf(g, lora_a_name(path), {config.rank, t.in_features});   // (r, in)
    Var b = adapter_leaf(g, lora_b_name(path), {t.out_features, config.rank});  // (out, r)
    Var x = rows;
    if (g.grad_enabled() && config.dropout > 0.0)
      x = dropout(x, config.dropout, derive_seed(step_seed, path_hash(path)));
    Var low = matmul(x, a, false, true);                                    // (N, r)
    return out + mul_scalar(matmul(low, b, false, true), scaling(config));  // (N, out)
  };
}

void merge_lora(const Module& model, const LoraConfig& config, ParameterStore& store) {
  const std::vector<LoraTarget> targets = lora_targets(model, config);
  const int64_t r = config.rank;
  auto weight_shape = [](const LoraTarget& t) {
    return t.layout == WeightLayout::in_out ? Shape{t.in_features, t.out_features}
                                            : Shape{t.out_features, t.in_features};
  };
  for (const LoraTarget& t : targets) {  // every check before the first change
    stored(store, lora_a_name(t.path), {r, t.in_features});
    stored(store, lora_b_name(t.path), {t.out_features, r});
    stored(store, child_name(t.path, "weight"), weight_shape(t));
  }
  for (const LoraTarget& t : targets) {
    const int64_t in = t.in_features, out = t.out_features;
    const std::vector<double> a = store.get(lora_a_name(t.path)).to_f64();  // (r, in)
    const std::vector<double> b = store.get(lora_b_name(t.path)).to_f64();  // (out, r)
    const std::string weight_name = child_name(t.path, "weight");
    std::vector<double> w = store.get(weight_name).to_f64();  // (out, in) or (in, out)
    const bool in_out = t.layout == WeightLayout::in_out;
    for (int64_t o = 0; o < out; ++o)
      for (int64_t i = 0; i < in; ++i) {
        double delta = 0.0;
        for (int64_t k = 0; k < r; ++k) delta += b[static_cast<size_t>(o * r + k)] * a[static_cast<size_t>(k * in + i)];
        w[static_cast<size_t>(in_out ? i * out + o : o * in + i)] += scaling(config) * delta;
      }
    store.set(weight_name, Tensor::from_values(weight_shape(t), w));
    store.erase(lora_a_name(t.path));
    store.erase(lora_b_name(t.path));
  }
}

std::vector<std::pair<std::string, Tensor>> lora_state(const Module& model, const LoraConfig& config,
                                                       const ParameterStore& store) {
  std::vector<std::pair<std::string, Tensor>> state;
  for (const ParameterInfo& p : lora_parameters(model, config))
    state.emplace_back(p.name, stored(store, p.name, p.shape));
  return state;
}

nlohmann::json lora_adapter_config(const Module& model, const LoraConfig& config) {
  nlohmann::json modules = nlohmann::json::array();
  bool fan_in_fan_out = false;
  for (const LoraTarget& t : lora_targets(model, config)) {
    modules.push_back(t.path);
    fan_in_fan_out = fan_in_fan_out || t.layout == WeightLayout::in_out;
  }
  return {{"peft_type", "LORA"},
          {"r", config.rank},
          {"lora_alpha", config.alpha},
          {"lora_dropout", config.dropout},
          {"bias", "none"},
          {"fan_in_fan_out", fan_in_fan_out},
          {"target_modules", modules}};
}

}  // namespace hanvit
