// VisionLanguageModel: encoding images, visual keys/values, and the decoder pass with cross-attention.
#include "fusion/vision_language_model.h"

#include <algorithm>

#include "modules/graph/ops.h"

namespace hanvit::fusion {
namespace {

GatedBlockConfig block_config(const ModelConfig& config) {
  const language::DecoderConfig& text = config.language;
  GatedBlockConfig block;
  block.dim = text.hidden_size;
  block.num_heads = config.fusion.num_heads ? config.fusion.num_heads : text.num_heads;
  block.num_kv_heads = config.fusion.num_kv_heads ? config.fusion.num_kv_heads : block.num_heads;
  block.intermediate_size = config.fusion.intermediate_size ? config.fusion.intermediate_size : text.intermediate_size;
  block.rms_norm = text.family == language::DecoderFamily::llama;
  block.norm_eps = text.norm_eps;
  return block;
}

}  // namespace

FusionLayers::FusionLayers(const ModelConfig& config, int64_t vision_dim) : Module("FusionLayers") {
  projector_ = register_module("projector",
                               std::make_shared<Projector>(config.fusion.projector, vision_dim, config.language.hidden_size));
  blocks_ = register_module("blocks", std::make_shared<ModuleList<GatedCrossAttentionBlock>>());
  for (size_t i = 0; i < config.fusion.layers.size(); ++i)
    blocks_->push_back(std::make_shared<GatedCrossAttentionBlock>(block_config(config)));
}

VisionLanguageModel::VisionLanguageModel(const ModelConfig& config)
    : Module("VisionLanguageModel"), config_(config) {
  const bool gated = config.fusion.style == FusionStyle::gated;
  vision_ = register_module(gated ? "vision" : "encoder", std::make_shared<vision::VisionTransformer>(config.vision));
  language_ = register_module(gated ? "language" : "decoder", std::make_shared<language::DecoderLM>(config.language));
  const int64_t vision_dim = vision_->hidden_size(), text_dim = config.language.hidden_size;
  if (gated) {
    check_fusion_layers(config.fusion, config.language.num_layers, describe());
    fusion_ = register_module("fusion", std::make_shared<FusionLayers>(config, vision_dim));
  } else if (vision_dim != text_dim) {
    enc_to_dec_ = register_module("enc_to_dec_proj", std::make_shared<Linear>(vision_dim, text_dim));
  }
}

Var VisionLanguageModel::encode(Var pixels) const {
  Var tokens = vision_->forward(pixels).last_hidden;
  if (fusion_) return fusion_->projector().forward(tokens);
  return enc_to_dec_ ? enc_to_dec_->forward(tokens) : tokens;
}

std::vector<KeyValues> VisionLanguageModel::visual_kv(Var visual) const {
  if (!fusion_) return language_->project_context(visual);
  std::vector<KeyValues> out;
  for (size_t i = 0; i < fusion_->num_blocks(); ++i) out.push_back(fusion_->block(i).project_visual(visual));
  return out;
}

size_t VisionLanguageModel::num_visual_kv() const {
  return fusion_ ? fusion_->num_blocks() : static_cast<size_t>(config_.language.num_layers);
}

std::pair<int64_t, int64_t> VisionLanguageModel::visual_kv_heads() const {
  if (fusion_) {
    const GatedBlockConfig& block = fusion_->block(0).config();
    return {block.num_kv_heads, block.dim / block.num_heads};
  }
  return {config_.language.num_heads, config_.language.head_dim};
}

ModelOutputs VisionLanguageModel::forward(const TextInputs& in) const {
  if (!in.visual.empty() && in.visual.size() != num_visual_kv())
    fail("expected " + std::to_string(num_visual_kv()) + " visual key/value pairs, got " +
         std::to_string(in.visual.size()));
  language::DecoderInputs text;
  text.ids = in.ids;
  text.positions = in.positions;
  text.position_ids = in.position_ids;
  text.cache = in.cache;
  text.key_mask = in.key_mask;
  text.last_only = in.last_only;
  std::vector<Var> maps;
  if (!fusion_) {
    if (in.visual.empty()) fail("an encoder-decoder model needs an image");
    text.cross_cache = in.visual;
  } else if (!in.visual.empty()) {
    text.before_layer = [&](int64_t layer, Var hidden) {
      const auto& layers = config_.fusion.layers;
      auto it = std::find(layers.begin(), layers.end(), layer);
      if (it == layers.end()) return hidden;
      const size_t block = static_cast<size_t>(it - layers.begin());
      GatedBlockOutput out = fusion_->block(block).forward(hidden, in.visual[block], in.want_attention);
      if (in.want_attention) maps.push_back(out.attention);
      return out.hidden;
    };
  }
  language::DecoderOutputs decoded = language_->forward(text);
  ModelOutputs out{decoded.logits, decoded.cache, Var()};
  if (!maps.empty()) {
    Var sum_maps = maps[0];
    for (size_t i = 1; i < maps.size(); ++i) sum_maps = sum_maps + maps[i];
    out.attention = mul_scalar(sum_maps, 1.0 / static_cast<double>(maps.size()));
  }
  return out;
}

}  // namespace hanvit::fusion
