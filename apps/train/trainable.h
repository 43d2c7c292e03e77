// Which parameters train: a preset (fusion, full, lora, none) refined by freeze / unfreeze name globs.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace hanvit::app {

// The parameters each preset trains, as name globs:
//   fusion  the projector and the cross-attention layers (gated: "fusion.*"; encoder-decoder: the
//           decoder's cross-attention and its norm, and "enc_to_dec_proj.*") — the standard recipe:
//           frozen vision tower, frozen language model
//   full    every parameter
//   lora    the LoRA adapters ("*.lora_A.*", "*.lora_B.*") and the fusion preset's parameters
//   none    nothing (only what unfreeze names)
// Throws std::invalid_argument for another name.
std::vector<std::string> preset_patterns(const std::string& preset);

// True for the parameters that train: those the preset names, minus `freeze`, plus `unfreeze`
// (a name matching both unfreeze and freeze trains).
std::function<bool(const std::string&)> trainable_predicate(const std::string& preset,
                                                            const std::vector<std::string>& freeze,
                                                            const std::vector<std::string>& unfreeze);

}  // namespace hanvit::app
