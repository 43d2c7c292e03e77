// Patch embedding, encoder layer and attention-pooling head of the vision towers.
#include "vision/vision_layers.h"

#include <cmath>

#include "modules/graph/ops.h"
#include "modules/graph/recompute.h"

namespace hanvit::vision {

PatchEmbedding::PatchEmbedding(int64_t channels, int64_t dim, int64_t patch, bool bias)
    : Module("PatchEmbedding"), channels_(channels), dim_(dim), patch_(patch), bias_(bias) {
  // torch's Conv2d default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = C_in * P * P.
  const double bound = 1.0 / std::sqrt(static_cast<double>(channels * patch * patch));
  register_parameter("weight", {dim, channels, patch, patch}, Init::uniform(bound));
  if (bias) register_parameter("bias", {dim}, Init::uniform(bound));
}

Var PatchEmbedding::forward(Var pixels) const {
  if (pixels.rank() != 4 || pixels.dim(1) != channels_)
    fail("pixels must be (B, " + std::to_string(channels_) + ", H, W), got " + pixels.str());
  Graph& g = pixels.graph();
  if (bias_) return patch_embed(pixels, param(g, "weight"), param(g, "bias"));
  Var patches = unfold_patches(pixels, patch_);  // (B, N, C_in*P*P)
  return matmul(patches, view(param(g, "weight"), {dim_, channels_ * patch_ * patch_}), false, true);
}

EncoderLayer::EncoderLayer(const VisionConfig& config) : Module("EncoderLayer") {
  const bool vit = config.family == VisionFamily::vit;
  AttentionConfig attention;
  attention.dim = config.hidden_size;
  attention.num_heads = config.num_heads;
  attention.q_bias = attention.k_bias = attention.v_bias = vit ? config.qkv_bias : true;
  if (vit)
    attention.names = {.q = "attention.query", .k = "attention.key", .v = "attention.value", .o = "output.dense"};
  else
    attention.names = {.q = "q_proj", .k = "k_proj", .v = "v_proj", .o = "out_proj"};
  MLPConfig mlp{.dim = config.hidden_size, .hidden = config.intermediate_size, .activation = config.activation};
  if (vit) {
    mlp.fc1 = "intermediate.dense";
    mlp.fc2 = "output.dense";
  }
  norm1_ = register_module(vit ? "layernorm_before" : "layer_norm1",
                           std::make_shared<LayerNorm>(config.hidden_size, config.layer_norm_eps));
  attention_ = register_module(vit ? "attention" : "self_attn", std::make_shared<Attention>(attention));
  norm2_ = register_module(vit ? "layernorm_after" : "layer_norm2",
                           std::make_shared<LayerNorm>(config.hidden_size, config.layer_norm_eps));
  mlp_ = register_module(vit ? "" : "mlp", std::make_shared<MLP>(mlp));
}

Var EncoderLayer::forward(Var x) const {
  RecomputeScope recompute(x.graph());
  Var h = x + attention_->forward({.x = norm1_->forward(x)}).out;
  return h + mlp_->forward(norm2_->forward(h));
}

AttentionPoolingHead::AttentionPoolingHead(const VisionConfig& config)
    : Module("AttentionPoolingHead"), dim_(config.hidden_size), heads_(config.num_heads) {
  const int64_t c = config.hidden_size;
  // As transformers initialises the head: xavier_uniform probe ((1, 1, C): fan_in = fan_out = C) and
  // in_proj, zero in_proj bias; torch's nn.MultiheadAttention zeroes the out_proj bias.
  register_parameter("probe", {1, 1, c}, Init::uniform(std::sqrt(3.0 / c)));
  attention_ = register_module("attention", std::make_shared<Group>("MultiheadAttention"));
  attention_->register_parameter("in_proj_weight", {3 * c, c}, Init::uniform(std::sqrt(6.0 / (4.0 * c))));
  attention_->register_parameter("in_proj_bias", {3 * c}, Init::zeros());
  out_proj_ = attention_->register_module("out_proj", std::make_shared<Linear>(c, c));
  out_proj_->set_init("bias", Init::zeros());
  layernorm_ = register_module("layernorm", std::make_shared<LayerNorm>(c, config.layer_norm_eps));
  mlp_ = register_module("mlp", std::make_shared<MLP>(MLPConfig{
                                    .dim = c, .hidden = config.intermediate_size, .activation = config.activation}));
}

Var AttentionPoolingHead::forward(Var tokens) const {
  Graph& g = tokens.graph();
  const int64_t batch = tokens.dim(0), head_dim = dim_ / heads_;
  Var weight = attention_->param(g, "in_proj_weight"), bias = attention_->param(g, "in_proj_bias");
  auto project = [&](Var x, int64_t part) {  // x (B, T, C) -> (B, H, T, Dh) through rows [part*C, (part+1)*C)
    Var y = matmul(view(x, {-1, dim_}), slice(weight, 0, part * dim_, (part + 1) * dim_), false, true) +
            slice(bias, 0, part * dim_, (part + 1) * dim_);
    return permute(view(y, {x.dim(0), x.dim(1), heads_, head_dim}), {0, 2, 1, 3});
  };
  Var probe = expand(param(g, "probe"), {batch, 1, dim_});
  Var q = project(probe, 0), k = project(tokens, 1), v = project(tokens, 2);
  Var attended = attention(q, k, v, std::nullopt, false, 1.0 / std::sqrt(static_cast<double>(head_dim)));
  Var x = out_proj_->forward(view(permute(attended, {0, 2, 1, 3}), {batch, 1, dim_}));  // (B, 1, C)
  x = x + mlp_->forward(layernorm_->forward(x));
  return view(x, {batch, dim_});
}

}  // namespace hanvit::vision
