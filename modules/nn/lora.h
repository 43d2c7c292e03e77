// LoRA adapters with PEFT's names and maths on the Linear projections of a module tree: targets,
// parameters, the graph adapter, merging into the base weights, and what an adapter folder holds.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "modules/nn/linear.h"
#include "modules/nn/parameter_store.h"

namespace hanvit {

struct LoraConfig {
  int rank = 8;                      // r
  double alpha = 16;                 // the update is scaled by alpha / rank
  double dropout = 0;                // on the adapter's input, in graphs with gradients only
  std::vector<std::string> targets;  // name patterns (name_patterns.h) over Linear paths: "*.q_proj"
  uint64_t seed = 0;                 // of the dropout masks
};

// A targeted Linear.
struct LoraTarget {
  std::string path;  // "language.model.layers.0.self_attn.q_proj"
  int64_t in_features = 0;
  int64_t out_features = 0;
  WeightLayout layout = WeightLayout::out_in;
};

// The adapter parameters of the Linear at `path`: "<path>.lora_A.weight", "<path>.lora_B.weight".
std::string lora_a_name(const std::string& path);
std::string lora_b_name(const std::string& path);

// The Linear modules of `model` whose path matches a target pattern, in tree order. Throws
// std::invalid_argument on a bad config (rank < 1, alpha not finite, dropout outside [0, 1), no
// targets) and on a pattern that matches no Linear, naming it and some Linear paths there are.
std::vector<LoraTarget> lora_targets(const Module& model, const LoraConfig& config);

// Per target, as PEFT initializes them, for ParameterStore::initialize(name, shape, init):
// lora_A (rank, in) ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming-uniform with a = sqrt(5)) and
// lora_B (out, rank) zeros, so a fresh adapter changes nothing.
std::vector<ParameterInfo> lora_parameters(const Module& model, const LoraConfig& config);

// The Graph::set_linear_adapter hook: a targeted Linear's out (N, out) becomes
// out + (alpha / rank) * dropout(rows) A^T B^T with rows (N, in); other Linears pass through. The
// adapter parameters are ordinary graph parameters (frozen rules and bind_all apply). Dropout runs
// in graphs with gradients when config.dropout > 0, its mask drawn from (config.seed, step, path):
// give each rebuilt training graph a new step. A Linear used twice in one graph, or recomputed,
// gets the same mask.
Graph::LinearAdapter lora_adapter(const Module& model, const LoraConfig& config, uint64_t step = 0);

// W += (alpha / rank) B A per target, in float64 and stored f32 (transposed for GPT-2's (in, out)
// weights), then erases the lora_A / lora_B entries: the plain model then computes what the
// adapted one did. Throws naming a missing adapter parameter or one of the wrong shape.
void merge_lora(const Module& model, const LoraConfig& config, ParameterStore& store);

// The adapter tensors by name, for save_safetensors (adapter_model.safetensors).
std::vector<std::pair<std::string, Tensor>> lora_state(const Module& model, const LoraConfig& config,
                                                       const ParameterStore& store);
// adapter_config.json as PEFT writes it: peft_type, r, lora_alpha, lora_dropout, bias,
// fan_in_fan_out (GPT-2's layout) and target_modules: the targeted paths, which PEFT matches exactly.
nlohmann::json lora_adapter_config(const Module& model, const LoraConfig& config);

}  // namespace hanvit
