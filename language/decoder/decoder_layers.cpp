// Decoder layers of the LLaMA and GPT-2 families.
#include "language/decoder/decoder_layers.h"

#include "modules/graph/ops.h"
#include "modules/graph/recompute.h"

namespace hanvit::language {

DecoderLayer::DecoderLayer(const DecoderConfig& config) : Module("DecoderLayer"), family_(config.family) {
  const int64_t c = config.hidden_size;
  AttentionConfig attention;
  attention.dim = c;
  attention.num_heads = config.num_heads;
  attention.num_kv_heads = config.num_kv_heads;
  attention.head_dim = config.head_dim;
  attention.causal = true;
  if (family_ == DecoderFamily::llama) {
    attention.q_bias = attention.k_bias = attention.v_bias = config.attention_bias || config.qkv_bias;
    attention.o_bias = config.attention_bias;
    attention.rope = RopeConfig{config.rope_theta, 1.0};
    rms1_ = register_module("input_layernorm", std::make_shared<RMSNorm>(c, config.norm_eps));
    attention_ = register_module("self_attn", std::make_shared<Attention>(attention));
    rms2_ = register_module("post_attention_layernorm", std::make_shared<RMSNorm>(c, config.norm_eps));
    swiglu_ = register_module("mlp", std::make_shared<SwiGLUMLP>(c, config.intermediate_size, config.mlp_bias));
    return;
  }
  attention.layout = WeightLayout::in_out;
  attention.names = {.o = "c_proj", .qkv = "c_attn"};
  ln1_ = register_module("ln_1", std::make_shared<LayerNorm>(c, config.norm_eps));
  attention_ = register_module("attn", std::make_shared<Attention>(attention));
  if (config.add_cross_attention) {
    AttentionConfig cross = attention;
    cross.causal = false;
    cross.cross = true;
    cross.names = {.q = "q_attn", .o = "c_proj", .kv = "c_attn"};
    ln_cross_ = register_module("ln_cross_attn", std::make_shared<LayerNorm>(c, config.norm_eps));
    cross_ = register_module("crossattention", std::make_shared<Attention>(cross));
  }
  ln2_ = register_module("ln_2", std::make_shared<LayerNorm>(c, config.norm_eps));
  mlp_ = register_module("mlp", std::make_shared<MLP>(MLPConfig{.dim = c,
                                                                .hidden = config.intermediate_size,
                                                                .activation = config.activation,
                                                                .fc1 = "c_fc",
                                                                .fc2 = "c_proj",
                                                                .layout = WeightLayout::in_out}));
}

KeyValues DecoderLayer::project_context(Var context) const {
  if (!cross_) fail("this layer has no cross-attention (add_cross_attention is false)");
  return cross_->project_context(context);
}

LayerOutputs DecoderLayer::forward(const LayerInputs& in) const {
  RecomputeScope recompute(in.x.graph());
  LayerOutputs out;
  if (family_ == DecoderFamily::llama) {
    AttentionOutput a = attention_->forward({.x = rms1_->forward(in.x),
                                             .cache = in.cache,
                                             .positions = in.positions,
                                             .key_mask = in.key_mask,
                                             .rope = in.rope});
    Var h = in.x + a.out;
    out.x = h + swiglu_->forward(rms2_->forward(h));
    out.kv = a.kv;
    return out;
  }
  AttentionOutput a = attention_->forward({.x = ln1_->forward(in.x), .cache = in.cache, .key_mask = in.key_mask});
  Var h = in.x + a.out;
  if (cross_) {
    if (!in.context.defined() && !in.cross.k.defined()) fail("a decoder with cross-attention needs a context");
    AttentionInputs cross{.x = ln_cross_->forward(h), .key_mask = in.context_mask};
    if (in.cross.k.defined())
      cross.cache = in.cross;  // projected once per image
    else
      cross.context = in.context;
    h = h + cross_->forward(cross).out;
  }
  out.x = h + mlp_->forward(ln2_->forward(h));
  out.kv = a.kv;
  return out;
}

}  // namespace hanvit::language
