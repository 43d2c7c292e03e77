// Training presets and freeze / unfreeze patterns as one predicate over parameter names.
#include "apps/train/trainable.h"

#include <stdexcept>

#include "modules/nn/name_patterns.h"

namespace hanvit::app {

std::vector<std::string> preset_patterns(const std::string& preset) {
  const std::vector<std::string> fusion = {"fusion.*", "enc_to_dec_proj.*", "decoder.*.crossattention.*",
                                           "decoder.*.ln_cross_attn.*"};
  if (preset == "fusion") return fusion;
  if (preset == "full") return {"*"};
  if (preset == "none") return {};
  if (preset == "lora") {
    std::vector<std::string> patterns = {"*.lora_A.*", "*.lora_B.*"};
    patterns.insert(patterns.end(), fusion.begin(), fusion.end());
    return patterns;
  }
  throw std::invalid_argument("unknown training preset '" + preset + "' (known: fusion, full, lora, none)");
}

std::function<bool(const std::string&)> trainable_predicate(const std::string& preset,
                                                            const std::vector<std::string>& freeze,
                                                            const std::vector<std::string>& unfreeze) {
  const std::vector<std::string> trained = preset_patterns(preset);
  return [trained, freeze, unfreeze](const std::string& name) {
    if (matches_any(name, unfreeze)) return true;
    return matches_any(name, trained) && !matches_any(name, freeze);
  };
}

}  // namespace hanvit::app
