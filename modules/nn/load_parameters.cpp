// Loading a module tree's parameters from a safetensors folder, and collecting them for saving.
#include "modules/nn/load_parameters.h"

#include <map>
#include <set>
#include <stdexcept>

namespace hanvit {
namespace {

constexpr size_t kListedNames = 8;

std::string listed(const std::vector<std::string>& names) {
  std::string text;
  for (size_t i = 0; i < names.size() && i < kListedNames; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > kListedNames) text += " (and " + std::to_string(names.size() - kListedNames) + " more)";
  return text;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

void load_parameters(const SafetensorsFolder& folder, const Module& module, ParameterStore& store,
                     const LoadOptions& options) {
  const std::string subject = "checkpoint '" + folder.dir() + "': ";
  std::map<std::string, std::string> fallback(options.fallbacks.begin(), options.fallbacks.end());
  std::vector<std::string> missing;
  std::vector<std::pair<std::string, std::string>> sources;  // (store name, checkpoint name)
  std::set<std::string> used;
  for (const ParameterInfo& p : module.named_parameters()) {
    std::string source = options.checkpoint_prefix + p.name;
    if (!folder.contains(source)) {
      auto it = fallback.find(source);
      if (it == fallback.end() || !folder.contains(it->second)) {
        missing.push_back(source);
        continue;
      }
      source = it->second;
    }
    const SafetensorsTensorInfo& info = folder.info(source);
    if (info.dtype != DType::f32 && info.dtype != DType::bf16 && info.dtype != DType::f16)
      throw std::invalid_argument(subject + "tensor '" + source + "' has dtype " + std::string(dtype_name(info.dtype)) +
                                  "; expected F32, BF16 or F16");
    if (info.shape != p.shape)
      throw std::invalid_argument(subject + "tensor '" + source + "' is " + shape_str(info.shape) +
                                  " but the config gives " + shape_str(p.shape));
    sources.emplace_back(options.store_prefix + p.name, source);
    used.insert(source);
  }
  if (!missing.empty())
    throw std::invalid_argument(subject + std::to_string(missing.size()) + " tensors missing: " + listed(missing));
  if (options.reject_unexpected) {
    std::vector<std::string> unexpected;
    for (const std::string& name : folder.names()) {
      if (name.rfind(options.checkpoint_prefix, 0) != 0 || used.count(name)) continue;
      bool ignored = false;
      for (const std::string& suffix : options.ignored_suffixes) ignored = ignored || ends_with(name, suffix);
      if (!ignored) unexpected.push_back(name);
    }
    if (!unexpected.empty())
      throw std::invalid_argument(subject + std::to_string(unexpected.size()) +
                                  " unexpected tensors: " + listed(unexpected));
  }
  // Copies: the mapped checkpoint pages are read-only, and the store's tensors are updated in place.
  for (const auto& [store_name, source] : sources) store.set(store_name, folder.get(source).clone());
}

std::vector<std::pair<std::string, Tensor>> collect_parameters(const Module& module, const ParameterStore& store,
                                                               const LoadOptions& options) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const ParameterInfo& p : module.named_parameters())
    out.emplace_back(options.checkpoint_prefix + p.name, store.get(options.store_prefix + p.name));
  return out;
}

}  // namespace hanvit
