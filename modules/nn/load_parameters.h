// Loading a module tree's parameters from a safetensors folder: name mapping, f32 conversion, and
// one-line errors that list missing tensors and disagreeing shapes.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "modules/io/safetensors.h"
#include "modules/nn/parameter_store.h"

namespace hanvit {

struct LoadOptions {
  // Checkpoint name of a declared parameter: checkpoint_prefix + declared name ("vit." + ...).
  std::string checkpoint_prefix;
  // Store name of a declared parameter: store_prefix + declared name ("vision." + ...).
  std::string store_prefix;
  // Declared parameters taken from another checkpoint tensor when their own is absent, e.g. a
  // tied "lm_head.weight" from "model.embed_tokens.weight" (both full checkpoint names).
  std::vector<std::pair<std::string, std::string>> fallbacks;
  // Checkpoint tensors under checkpoint_prefix that are not parameters (buffers such as GPT-2's
  // "attn.masked_bias"): matched by name suffix, never reported as unexpected.
  std::vector<std::string> ignored_suffixes;
  // Report checkpoint tensors under checkpoint_prefix that the module does not declare.
  bool reject_unexpected = false;
};

// Loads every parameter `module` declares from `folder` into `store` as writable f32 copies (F32,
// BF16 and F16 tensors are accepted; other dtypes are refused by name), so optimizers can update them. Everything is checked
// before anything is stored. Throws std::invalid_argument
//   "checkpoint 'DIR': N tensors missing: a, b, c (and 12 more)"
//   "checkpoint 'DIR': tensor 'x' is (3,4) but the config gives (4,4)"
//   "checkpoint 'DIR': tensor 'x' has dtype I64; expected F32, BF16 or F16"
//   "checkpoint 'DIR': N unexpected tensors: ..." (with reject_unexpected).
void load_parameters(const SafetensorsFolder& folder, const Module& module, ParameterStore& store,
                     const LoadOptions& options = {});

// Every parameter `module` declares, read from `store` under store_prefix + declared name, as
// (checkpoint_prefix + declared name, tensor) pairs ready for save_safetensors.
std::vector<std::pair<std::string, Tensor>> collect_parameters(const Module& module, const ParameterStore& store,
                                                               const LoadOptions& options = {});

}  // namespace hanvit
