// Gated cross-attention block: norm, cross-attention to visual keys/values, tanh-gated residuals.
#include "fusion/gated_cross_attention.h"

#include <cmath>

#include "modules/graph/ops.h"

namespace hanvit::fusion {
namespace {

std::shared_ptr<Linear> projection(int64_t in, int64_t out) {
  auto linear = std::make_shared<Linear>(in, out, /*bias=*/false);
  linear->set_init("weight", Init::normal(0.02));
  return linear;
}

}  // namespace

GatedCrossAttentionBlock::GatedCrossAttentionBlock(const GatedBlockConfig& config)
    : Module("GatedCrossAttentionBlock"), config_(config) {
  if (config.dim <= 0 || config.num_heads <= 0 || config.intermediate_size <= 0)
    fail("dim, num_heads and intermediate_size must be positive");
  if (config_.num_kv_heads == 0) config_.num_kv_heads = config.num_heads;
  if (config.dim % config.num_heads != 0) fail("dim is not a multiple of num_heads");
  if (config.num_heads % config_.num_kv_heads != 0) fail("num_heads is not a multiple of num_kv_heads");
  head_dim_ = config.dim / config.num_heads;
  const int64_t c = config.dim;
  if (config.rms_norm)
    rms_attn_ = register_module("norm_attn", std::make_shared<RMSNorm>(c, config.norm_eps));
  else
    ln_attn_ = register_module("norm_attn", std::make_shared<LayerNorm>(c, config.norm_eps));
  q_ = register_module("q_proj", projection(c, c));
  k_ = register_module("k_proj", projection(c, config_.num_kv_heads * head_dim_));
  v_ = register_module("v_proj", projection(c, config_.num_kv_heads * head_dim_));
  o_ = register_module("o_proj", projection(c, c));
  register_parameter("attn_gate", {1}, Init::zeros());
  if (config.rms_norm) {
    rms_mlp_ = register_module("norm_mlp", std::make_shared<RMSNorm>(c, config.norm_eps));
    swiglu_ = register_module("mlp", std::make_shared<SwiGLUMLP>(c, config.intermediate_size));
    for (const char* name : {"gate_proj.weight", "up_proj.weight", "down_proj.weight"})
      swiglu_->set_init(name, Init::normal(0.02));
  } else {
    ln_mlp_ = register_module("norm_mlp", std::make_shared<LayerNorm>(c, config.norm_eps));
    gelu_mlp_ = register_module(
        "mlp", std::make_shared<MLP>(MLPConfig{.dim = c, .hidden = config.intermediate_size,
                                               .activation = Activation::gelu_tanh}));
    for (const char* name : {"fc1.weight", "fc2.weight"}) gelu_mlp_->set_init(name, Init::normal(0.02));
    for (const char* name : {"fc1.bias", "fc2.bias"}) gelu_mlp_->set_init(name, Init::zeros());
  }
  register_parameter("mlp_gate", {1}, Init::zeros());
}

Var GatedCrossAttentionBlock::norm_attn(Var x) const { return rms_attn_ ? rms_attn_->forward(x) : ln_attn_->forward(x); }
Var GatedCrossAttentionBlock::norm_mlp(Var x) const { return rms_mlp_ ? rms_mlp_->forward(x) : ln_mlp_->forward(x); }
Var GatedCrossAttentionBlock::mlp(Var x) const { return swiglu_ ? swiglu_->forward(x) : gelu_mlp_->forward(x); }

Var GatedCrossAttentionBlock::heads(Var x, int64_t count) const {
  return permute(view(x, {x.dim(0), x.dim(1), count, head_dim_}), {0, 2, 1, 3});
}

KeyValues GatedCrossAttentionBlock::project_visual(Var visual) const {
  if (visual.rank() != 3 || visual.dim(2) != config_.dim)
    fail("visual tokens must be (B, S, " + std::to_string(config_.dim) + "), got " + visual.str());
  return {heads(k_->forward(visual), config_.num_kv_heads), heads(v_->forward(visual), config_.num_kv_heads)};
}

GatedBlockOutput GatedCrossAttentionBlock::forward(Var x, const KeyValues& visual, bool want_attention) const {
  Graph& g = x.graph();
  const int64_t batch = x.dim(0), tokens = x.dim(1);
  if (visual.k.dim(0) != batch) fail("visual keys have batch " + std::to_string(visual.k.dim(0)) + ", text has " +
                                     std::to_string(batch));
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim_));
  Var q = heads(q_->forward(norm_attn(x)), config_.num_heads);  // (B, H, T, Dh)
  Var attended = attention(q, visual.k, visual.v, std::nullopt, /*causal=*/false, scale);
  attended = view(permute(attended, {0, 2, 1, 3}), {batch, tokens, config_.dim});
  Var h = x + tanh(param(g, "attn_gate")) * o_->forward(attended);
  GatedBlockOutput out;
  out.hidden = h + tanh(param(g, "mlp_gate")) * mlp(norm_mlp(h));
  if (want_attention) {
    // Query head h reads key head h / G: grouping the G query heads of a key head as rows lets one
    // batched product serve them all. (B, Hk, G*T, Dh) x (B, Hk, S, Dh)^T -> (B, Hk, G*T, S).
    const int64_t kv_heads = config_.num_kv_heads, group = config_.num_heads / kv_heads;
    const int64_t visual_tokens = visual.k.dim(2);
    Var grouped = view(q, {batch, kv_heads, group * tokens, head_dim_});
    Var probs = softmax(mul_scalar(matmul(grouped, visual.k, false, true), scale));
    probs = view(probs, {batch, kv_heads * group, tokens, visual_tokens});
    out.attention = mean(probs, {1});  // (B, T, S)
  }
  return out;
}

}  // namespace hanvit::fusion
