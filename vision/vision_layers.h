// The pieces of a vision tower, named as Hugging Face names them: patch embedding (a conv as a
// matmul over unfolded patches), the pre-norm encoder layer, and SigLIP's attention-pooling head.
#pragma once

#include <memory>

#include "modules/nn/attention.h"
#include "modules/nn/layer_norm.h"
#include "modules/nn/mlp.h"
#include "vision/vision_config.h"

namespace hanvit::vision {

// A module that only groups parameters and children under a name.
class Group : public Module {
 public:
  explicit Group(std::string type) : Module(std::move(type)) {}
  using Module::fail;
};

// Conv2d(C_in, E, kernel P, stride P): "weight" (E, C_in, P, P) and, with bias, "bias" (E).
class PatchEmbedding : public Module {
 public:
  PatchEmbedding(int64_t channels, int64_t dim, int64_t patch, bool bias);
  // pixels (B, C_in, H, W) -> (B, (H/P)*(W/P), E), patches in row-major order
  Var forward(Var pixels) const;

 private:
  int64_t channels_, dim_, patch_;
  bool bias_;
};

// x + attn(norm1(x)), then + mlp(norm2(x)). ViT names: layernorm_before, attention.attention.
// {query,key,value}, attention.output.dense, layernorm_after, intermediate.dense, output.dense.
// CLIP / SigLIP names: layer_norm1, self_attn.{q,k,v,out}_proj, layer_norm2, mlp.fc1, mlp.fc2.
class EncoderLayer : public Module {
 public:
  explicit EncoderLayer(const VisionConfig& config);
  Var forward(Var x) const;  // (B, S, C) -> (B, S, C)

 private:
  std::shared_ptr<LayerNorm> norm1_, norm2_;
  std::shared_ptr<Attention> attention_;
  std::shared_ptr<MLP> mlp_;
};

// SigLIP's head: a learned probe attends over the tokens (torch nn.MultiheadAttention:
// "attention.in_proj_weight" (3C, C), "attention.in_proj_bias", "attention.out_proj"), then
// x + mlp(layernorm(x)). "probe" (1, 1, C).
class AttentionPoolingHead : public Module {
 public:
  explicit AttentionPoolingHead(const VisionConfig& config);
  Var forward(Var tokens) const;  // (B, S, C) -> (B, C)

 private:
  int64_t dim_, heads_;
  std::shared_ptr<Group> attention_;
  std::shared_ptr<Linear> out_proj_;
  std::shared_ptr<LayerNorm> layernorm_;
  std::shared_ptr<MLP> mlp_;
};

}  // namespace hanvit::vision
