// VisionLanguageModel: vision encoder -> (projector) -> cross-attention into a decoder LM, in either
// fusion style, with visual keys/values computed once per image.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "fusion/gated_cross_attention.h"
#include "fusion/model_config.h"
#include "fusion/projector.h"
#include "language/decoder/decoder_lm.h"
#include "vision/vision_transformer.h"

namespace hanvit::fusion {

// The gated style's own parameters: "projector.*" and "blocks.N.*" (N counts blocks, not layers).
class FusionLayers : public Module {
 public:
  FusionLayers(const ModelConfig& config, int64_t vision_dim);

  const Projector& projector() const { return *projector_; }
  const GatedCrossAttentionBlock& block(size_t i) const { return (*blocks_)[i]; }
  size_t num_blocks() const { return blocks_->size(); }

 private:
  std::shared_ptr<Projector> projector_;
  std::shared_ptr<ModuleList<GatedCrossAttentionBlock>> blocks_;
};

struct TextInputs {
  Var ids;                       // i32 (B, T)
  Var positions;                 // i32 (T)
  Var position_ids;              // i32 (B, T), optional (GPT-2 with left padding)
  std::vector<KeyValues> cache;  // per decoder layer, or empty
  std::optional<Var> key_mask;   // u8 (B, Tp + T)
  // visual_kv(encode(pixels)): per gated block, or per decoder layer (encoder-decoder). Empty:
  // text only (gated blocks are skipped; an encoder-decoder model needs an image).
  std::vector<KeyValues> visual;
  bool last_only = false;
  bool want_attention = false;  // gated: cross-attention probabilities averaged over heads and blocks
};

struct ModelOutputs {
  Var logits;                    // (B, T, V) or (B, 1, V)
  std::vector<KeyValues> cache;  // per decoder layer
  Var attention;                 // with want_attention: (B, T, S)
};

// Children by style. gated: "vision" (the Hugging Face vision model's names), "language" (the
// decoder's), "fusion" (FusionLayers). encoder_decoder: "encoder", "decoder" and, when the widths
// differ, "enc_to_dec_proj" — exactly Hugging Face VisionEncoderDecoderModel's names.
class VisionLanguageModel : public Module {
 public:
  explicit VisionLanguageModel(const ModelConfig& config);

  // pixels f32 (B, 3, H, W) -> visual tokens at text width (B, S, Ct)
  Var encode(Var pixels) const;
  // Visual tokens -> keys/values per gated block or per decoder layer: once per image.
  std::vector<KeyValues> visual_kv(Var visual) const;
  ModelOutputs forward(const TextInputs& in) const;

  const ModelConfig& config() const { return config_; }
  const vision::VisionTransformer& vision() const { return *vision_; }
  const language::DecoderLM& language() const { return *language_; }
  int64_t num_visual_tokens() const { return vision_->num_tokens(); }
  // Per entry of visual_kv(): (Hk, Dh).
  std::pair<int64_t, int64_t> visual_kv_heads() const;
  size_t num_visual_kv() const;

 private:
  ModelConfig config_;
  std::shared_ptr<vision::VisionTransformer> vision_;
  std::shared_ptr<language::DecoderLM> language_;
  std::shared_ptr<FusionLayers> fusion_;
  std::shared_ptr<Linear> enc_to_dec_;
};

}  // namespace hanvit::fusion
