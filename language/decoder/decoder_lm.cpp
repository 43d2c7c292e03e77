// DecoderLM: embeddings, the layer stack with its hook for fusion blocks, final norm and LM head.
#include "language/decoder/decoder_lm.h"

#include <cmath>

#include "modules/graph/ops.h"

namespace hanvit::language {
namespace {

// Hugging Face's _init_weights for a fresh model: matrices (linears, embeddings) N(0, initializer_range),
// biases 0, norm weights 1; GPT-2 scales its residual projections (every c_proj) by 1/sqrt(2 * n_layer).
void initialize_as_hugging_face(Module& model, const DecoderConfig& config) {
  const double residual_std = config.initializer_range / std::sqrt(2.0 * static_cast<double>(config.num_layers));
  auto ends_with = [](const std::string& name, const std::string& suffix) {
    return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  for (const ParameterInfo& p : model.named_parameters()) {
    if (ends_with(p.name, ".bias"))
      model.set_init(p.name, Init::zeros());
    else if (p.shape.size() == 1)
      model.set_init(p.name, Init::ones());
    else if (config.family == DecoderFamily::gpt2 && ends_with(p.name, "c_proj.weight"))
      model.set_init(p.name, Init::normal(residual_std));
    else
      model.set_init(p.name, Init::normal(config.initializer_range));
  }
}

}  // namespace

DecoderLM::DecoderLM(const DecoderConfig& config) : Module("DecoderLM"), config_(config) {
  const bool llama = config.family == DecoderFamily::llama;
  const std::string base = llama ? "model." : "transformer.";
  tokens_ = register_module(base + (llama ? "embed_tokens" : "wte"),
                            std::make_shared<Embedding>(config.vocab_size, config.hidden_size));
  if (!llama)
    positions_ = register_module(base + "wpe", std::make_shared<Embedding>(config.max_positions, config.hidden_size));
  layers_ = register_module(base + (llama ? "layers" : "h"), std::make_shared<ModuleList<DecoderLayer>>());
  for (int64_t i = 0; i < config.num_layers; ++i) layers_->push_back(std::make_shared<DecoderLayer>(config));
  if (llama)
    rms_final_ = register_module(base + "norm", std::make_shared<RMSNorm>(config.hidden_size, config.norm_eps));
  else
    ln_final_ = register_module(base + "ln_f", std::make_shared<LayerNorm>(config.hidden_size, config.norm_eps));
  if (llama && !config.tie_word_embeddings)
    lm_head_ = register_module("lm_head", std::make_shared<Linear>(config.hidden_size, config.vocab_size, false));
  initialize_as_hugging_face(*this, config);
}

Var DecoderLM::embed(Var ids) const { return tokens_->forward(ids); }

Var DecoderLM::lm_head(Var hidden) const {
  if (lm_head_) return lm_head_->forward(hidden);
  // Tied: logits = hidden @ wte^T.
  Var rows = view(hidden, {-1, config_.hidden_size});
  Var logits = matmul(rows, tokens_->param(hidden.graph(), "weight"), false, true);
  Shape shape = hidden.shape();
  shape.back() = config_.vocab_size;
  return view(logits, shape);
}

std::vector<KeyValues> DecoderLM::project_context(Var context) const {
  std::vector<KeyValues> out;
  for (const auto& layer : *layers_) out.push_back(layer->project_context(context));
  return out;
}

DecoderOutputs DecoderLM::forward(const DecoderInputs& in) const {
  if (!in.ids.defined() || in.ids.rank() != 2) fail("ids must be i32 (B, T)");
  const int64_t length = in.ids.dim(1);
  if (!in.cache.empty() && in.cache.size() != layers_->size())
    fail("the cache has " + std::to_string(in.cache.size()) + " layers, the model " + std::to_string(layers_->size()));
  if (!in.cross_cache.empty() && in.cross_cache.size() != layers_->size())
    fail("the cross-attention cache has " + std::to_string(in.cross_cache.size()) + " layers, the model " +
         std::to_string(layers_->size()));
  const int64_t past = in.cache.empty() ? 0 : in.cache[0].k.dim(2);
  if (past + length > config_.max_positions && config_.family == DecoderFamily::gpt2)
    fail("the sequence reaches position " + std::to_string(past + length) + " but n_positions is " +
         std::to_string(config_.max_positions));
  if (config_.sliding_window > 0 && past + length > config_.sliding_window)
    fail("the sequence reaches position " + std::to_string(past + length) + " but sliding-window attention (" +
         std::to_string(config_.sliding_window) + " keys) is not supported");
  if (!in.positions.defined()) fail("positions i32 (T) are required");

  Var x = embed(in.ids);  // (B, T, C)
  if (positions_) x = x + positions_->forward(in.position_ids.defined() ? in.position_ids : in.positions);
  std::optional<RopeConfig> rope;
  if (config_.family == DecoderFamily::llama) rope = config_.rope_for_length(past + length);
  DecoderOutputs out;
  for (size_t i = 0; i < layers_->size(); ++i) {
    if (in.before_layer) x = in.before_layer(static_cast<int64_t>(i), x);
    LayerInputs layer{.x = x, .rope = rope, .key_mask = in.key_mask, .context = in.context,
                      .context_mask = in.context_mask};
    if (config_.family == DecoderFamily::llama) layer.positions = in.positions;
    if (!in.cache.empty()) layer.cache = in.cache[i];
    if (!in.cross_cache.empty()) layer.cross = in.cross_cache[i];
    LayerOutputs result = (*layers_)[i].forward(layer);
    x = result.x;
    out.cache.push_back(result.kv);
  }
  if (in.last_only) x = slice(x, 1, length - 1, length);  // (B, 1, C): norms and the head act per token
  out.hidden = rms_final_ ? rms_final_->forward(x) : ln_final_->forward(x);
  out.logits = lm_head(out.hidden);
  return out;
}

}  // namespace hanvit::language
