// VisionTransformer: embeddings, pre-norm encoder layers, final norm and pooler per family.
#include "vision/vision_transformer.h"

#include "modules/graph/ops.h"

namespace hanvit::vision {

VisionTransformer::VisionTransformer(const VisionConfig& config) : Module("VisionTransformer"), config_(config) {
  const int64_t c = config.hidden_size, tokens = config.num_tokens();
  const bool vit = config.family == VisionFamily::vit;
  embeddings_ = register_module("embeddings", std::make_shared<Group>("VisionEmbeddings"));
  if (vit) {
    embeddings_->register_parameter("cls_token", {1, 1, c}, Init::normal(0.02));
    embeddings_->register_parameter("position_embeddings", {1, tokens, c}, Init::normal(0.02));
    patches_ = embeddings_->register_module(
        "patch_embeddings.projection", std::make_shared<PatchEmbedding>(config.num_channels, c, config.patch_size, true));
  } else {
    if (config.family == VisionFamily::clip) embeddings_->register_parameter("class_embedding", {c}, Init::normal(0.02));
    patches_ = embeddings_->register_module(
        "patch_embedding", std::make_shared<PatchEmbedding>(config.num_channels, c, config.patch_size,
                                                            config.family == VisionFamily::siglip));
    embeddings_->register_parameter("position_embedding.weight", {tokens, c}, Init::normal(0.02));
  }
  if (config.family == VisionFamily::clip)
    pre_norm_ = register_module("pre_layrnorm", std::make_shared<LayerNorm>(c, config.layer_norm_eps));
  layers_ = register_module(vit ? "encoder.layer" : "encoder.layers", std::make_shared<ModuleList<EncoderLayer>>());
  for (int64_t i = 0; i < config.num_layers; ++i) layers_->push_back(std::make_shared<EncoderLayer>(config));
  final_norm_ = register_module(vit ? "layernorm" : "post_layernorm",
                                std::make_shared<LayerNorm>(c, config.layer_norm_eps));
  if (vit && config.pooler) pooler_dense_ = register_module("pooler.dense", std::make_shared<Linear>(c, c));
  if (config.family == VisionFamily::siglip && config.pooler)
    head_ = register_module("head", std::make_shared<AttentionPoolingHead>(config));
}

Var VisionTransformer::embed(Var pixels) const {
  Graph& g = pixels.graph();
  const int64_t c = config_.hidden_size, side = config_.image_size;
  if (pixels.rank() != 4 || pixels.dim(1) != config_.num_channels || pixels.dim(2) != side || pixels.dim(3) != side)
    fail("pixels must be (B, " + std::to_string(config_.num_channels) + ", " + std::to_string(side) + ", " +
         std::to_string(side) + "), got " + pixels.str());
  const int64_t batch = pixels.dim(0);
  Var x = patches_->forward(pixels);  // (B, N, C)
  switch (config_.family) {
    case VisionFamily::vit:
      x = concat({expand(embeddings_->param(g, "cls_token"), {batch, 1, c}), x}, 1);
      return x + embeddings_->param(g, "position_embeddings");
    case VisionFamily::clip:
      x = concat({expand(view(embeddings_->param(g, "class_embedding"), {1, 1, c}), {batch, 1, c}), x}, 1);
      return x + embeddings_->param(g, "position_embedding.weight");
    case VisionFamily::siglip:
      return x + embeddings_->param(g, "position_embedding.weight");
  }
  fail("unknown vision family");
}

VisionOutputs VisionTransformer::forward(Var pixels) const {
  Var x = embed(pixels);
  if (pre_norm_) x = pre_norm_->forward(x);
  for (const auto& layer : *layers_) x = layer->forward(x);
  VisionOutputs out;
  const int64_t batch = x.dim(0), c = config_.hidden_size;
  switch (config_.family) {
    case VisionFamily::vit:
      out.last_hidden = final_norm_->forward(x);
      if (pooler_dense_) out.pooled = tanh(pooler_dense_->forward(view(slice(out.last_hidden, 1, 0, 1), {batch, c})));
      break;
    case VisionFamily::clip:
      out.last_hidden = x;
      out.pooled = final_norm_->forward(view(slice(x, 1, 0, 1), {batch, c}));
      break;
    case VisionFamily::siglip:
      out.last_hidden = final_norm_->forward(x);
      if (head_) out.pooled = head_->forward(out.last_hidden);
      break;
  }
  return out;
}

}  // namespace hanvit::vision
