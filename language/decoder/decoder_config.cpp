// Reading and writing LlamaConfig / GPT2Config config.json objects, and RoPE per pass length.
#include "language/decoder/decoder_config.h"

#include <cmath>
#include <stdexcept>

namespace hanvit::language {
namespace {

int64_t integer(const nlohmann::json& c, const char* key, int64_t fallback, const std::string& subject,
                int64_t minimum = 1) {
  if (!c.contains(key) || c.at(key).is_null()) {
    if (fallback >= minimum) return fallback;
    throw std::invalid_argument(subject + ": missing " + key);
  }
  const nlohmann::json& v = c.at(key);
  if (!v.is_number_integer() || v.get<int64_t>() < minimum)
    throw std::invalid_argument(subject + ": " + key + " must be an integer >= " + std::to_string(minimum) + ", got " +
                                v.dump());
  return v.get<int64_t>();
}

double number(const nlohmann::json& c, const char* key, double fallback, const std::string& subject) {
  if (!c.contains(key) || c.at(key).is_null()) return fallback;
  if (!c.at(key).is_number()) throw std::invalid_argument(subject + ": " + key + " must be a number");
  return c.at(key).get<double>();
}

bool flag(const nlohmann::json& c, const char* key, bool fallback, const std::string& subject) {
  if (!c.contains(key) || c.at(key).is_null()) return fallback;
  if (!c.at(key).is_boolean()) throw std::invalid_argument(subject + ": " + key + " must be true or false");
  return c.at(key).get<bool>();
}

int64_t optional_id(const nlohmann::json& c, const char* key, const std::string& subject) {
  if (!c.contains(key) || c.at(key).is_null()) return -1;
  if (!c.at(key).is_number_integer()) throw std::invalid_argument(subject + ": " + key + " must be an integer");
  return c.at(key).get<int64_t>();
}

// transformers 5 keeps RoPE settings in "rope_parameters"; 4 in "rope_theta" + "rope_scaling".
void read_rope(const nlohmann::json& c, DecoderConfig& out, const std::string& subject) {
  nlohmann::json parameters = c.value("rope_parameters", nlohmann::json());
  if (parameters.is_null()) parameters = c.value("rope_scaling", nlohmann::json());
  if (!parameters.is_null() && !parameters.is_object())
    throw std::invalid_argument(subject + ": rope_parameters / rope_scaling must be an object");
  out.rope_theta = number(c, "rope_theta", 10000.0, subject);
  if (parameters.is_null()) return;
  out.rope_theta = number(parameters, "rope_theta", out.rope_theta, subject);
  std::string type = parameters.value("rope_type", parameters.value("type", std::string("default")));
  if (type == "default") return;
  if (type != "linear" && type != "dynamic")
    throw std::invalid_argument(subject + ": rope type '" + type + "' is not supported (default, linear, dynamic)");
  out.rope_scaling.kind = type == "linear" ? RopeScaling::Kind::linear : RopeScaling::Kind::dynamic;
  out.rope_scaling.factor = number(parameters, "factor", 0.0, subject);
  if (!(out.rope_scaling.factor >= 1.0))
    throw std::invalid_argument(subject + ": rope " + type + " scaling needs a factor >= 1");
}

}  // namespace

RopeConfig DecoderConfig::rope_for_length(int64_t total_length) const {
  switch (rope_scaling.kind) {
    case RopeScaling::Kind::none: return {rope_theta, 1.0};
    case RopeScaling::Kind::linear: return {rope_theta, rope_scaling.factor};
    case RopeScaling::Kind::dynamic: {
      if (total_length <= max_positions) return {rope_theta, 1.0};
      const double factor = rope_scaling.factor, dim = static_cast<double>(head_dim);
      const double ratio = factor * static_cast<double>(total_length) / static_cast<double>(max_positions) - (factor - 1.0);
      return {rope_theta * std::pow(ratio, dim / (dim - 2.0)), 1.0};
    }
  }
  return {rope_theta, 1.0};
}

DecoderConfig DecoderConfig::from_json(const nlohmann::json& c, const std::string& subject) {
  if (!c.is_object()) throw std::invalid_argument(subject + ": config must be a JSON object");
  const std::string type = c.value("model_type", std::string());
  DecoderConfig out;
  if (type == "llama" || type == "mistral" || type == "qwen2") {
    // Absent fields take the defaults of LlamaConfig / MistralConfig / Qwen2Config.
    const bool mistral = type == "mistral", qwen2 = type == "qwen2";
    out.family = DecoderFamily::llama;
    out.model_type = type;
    out.vocab_size = integer(c, "vocab_size", qwen2 ? 151936 : 32000, subject);
    out.hidden_size = integer(c, "hidden_size", 4096, subject);
    out.intermediate_size = integer(c, "intermediate_size", mistral ? 14336 : qwen2 ? 22016 : 11008, subject);
    out.num_layers = integer(c, "num_hidden_layers", 32, subject);
    out.num_heads = integer(c, "num_attention_heads", 32, subject);
    out.num_kv_heads = integer(c, "num_key_value_heads", mistral ? 8 : out.num_heads, subject);
    out.head_dim = integer(c, "head_dim", out.hidden_size / out.num_heads, subject);
    out.max_positions = integer(c, "max_position_embeddings", mistral ? 131072 : qwen2 ? 32768 : 2048, subject);
    out.norm_eps = number(c, "rms_norm_eps", 1e-6, subject);
    out.tie_word_embeddings = flag(c, "tie_word_embeddings", false, subject);
    out.attention_bias = flag(c, "attention_bias", false, subject);
    out.mlp_bias = flag(c, "mlp_bias", false, subject);
    out.qkv_bias = qwen2;
    // Qwen2 slides only with use_sliding_window (and then only from max_window_layers on; every layer is
    // treated as sliding here, which refuses the same over-long sequences or more).
    if (mistral || (qwen2 && flag(c, "use_sliding_window", false, subject))) {
      if (!c.contains("sliding_window"))
        out.sliding_window = 4096;
      else if (!c.at("sliding_window").is_null())  // null: no window
        out.sliding_window = integer(c, "sliding_window", 0, subject);
    }
    const std::string act = c.value("hidden_act", std::string("silu"));
    if (act != "silu") throw std::invalid_argument(subject + ": hidden_act '" + act + "' (the llama family uses silu)");
    if (integer(c, "pretraining_tp", 1, subject) != 1)
      throw std::invalid_argument(subject + ": pretraining_tp other than 1 is not supported");
    read_rope(c, out, subject);
    if (out.num_heads % out.num_kv_heads != 0)
      throw std::invalid_argument(subject + ": num_attention_heads is not a multiple of num_key_value_heads");
    if (out.head_dim % 2 != 0) throw std::invalid_argument(subject + ": head_dim must be even for RoPE");
  } else if (type == "gpt2") {
    out.family = DecoderFamily::gpt2;
    out.model_type = type;
    out.vocab_size = integer(c, "vocab_size", 50257, subject);
    out.hidden_size = integer(c, "n_embd", 768, subject);
    out.num_layers = integer(c, "n_layer", 12, subject);
    out.num_heads = out.num_kv_heads = integer(c, "n_head", 12, subject);
    out.head_dim = out.hidden_size / out.num_heads;
    out.intermediate_size = integer(c, "n_inner", 4 * out.hidden_size, subject);
    out.max_positions = integer(c, "n_positions", 1024, subject);
    out.norm_eps = number(c, "layer_norm_epsilon", 1e-5, subject);
    out.tie_word_embeddings = true;
    out.add_cross_attention = flag(c, "add_cross_attention", false, subject);
    try {
      out.activation = activation_from_name(c.value("activation_function", std::string("gelu_new")));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(subject + ": " + e.what());
    }
    if (!flag(c, "scale_attn_weights", true, subject) || flag(c, "scale_attn_by_inverse_layer_idx", false, subject))
      throw std::invalid_argument(subject + ": only GPT-2's default attention scaling (1/sqrt(head_dim)) is supported");
    if (flag(c, "reorder_and_upcast_attn", false, subject))
      throw std::invalid_argument(subject + ": reorder_and_upcast_attn is not supported");
    if (out.hidden_size % out.num_heads != 0)
      throw std::invalid_argument(subject + ": n_embd is not a multiple of n_head");
  } else {
    throw std::invalid_argument(subject + ": model_type '" + type +
                                "' is not a supported decoder (llama, mistral, qwen2, gpt2)");
  }
  out.initializer_range = number(c, "initializer_range", 0.02, subject);
  if (!(out.initializer_range > 0.0)) throw std::invalid_argument(subject + ": initializer_range must be > 0");
  out.bos_token_id = optional_id(c, "bos_token_id", subject);
  out.pad_token_id = optional_id(c, "pad_token_id", subject);
  const nlohmann::json eos = c.value("eos_token_id", nlohmann::json());
  if (eos.is_number_integer()) {
    out.eos_token_ids.push_back(eos.get<int64_t>());
  } else if (eos.is_array()) {
    for (const nlohmann::json& id : eos) {
      if (!id.is_number_integer()) throw std::invalid_argument(subject + ": eos_token_id must hold integers");
      out.eos_token_ids.push_back(id.get<int64_t>());
    }
  } else if (!eos.is_null()) {
    throw std::invalid_argument(subject + ": eos_token_id must be an integer or a list");
  }
  return out;
}

nlohmann::json DecoderConfig::to_json() const {
  nlohmann::json out;
  if (family == DecoderFamily::llama) {
    nlohmann::json rope = {{"rope_type", "default"}, {"rope_theta", rope_theta}};
    if (rope_scaling.kind != RopeScaling::Kind::none) {
      rope["rope_type"] = rope_scaling.kind == RopeScaling::Kind::linear ? "linear" : "dynamic";
      rope["factor"] = rope_scaling.factor;
    }
    const bool mistral = model_type == "mistral", qwen2 = model_type == "qwen2";
    out = {{"model_type", mistral ? "mistral" : qwen2 ? "qwen2" : "llama"},
           {"architectures", {mistral ? "MistralForCausalLM" : qwen2 ? "Qwen2ForCausalLM" : "LlamaForCausalLM"}},
           {"vocab_size", vocab_size},
           {"hidden_size", hidden_size},
           {"intermediate_size", intermediate_size},
           {"num_hidden_layers", num_layers},
           {"num_attention_heads", num_heads},
           {"num_key_value_heads", num_kv_heads},
           {"head_dim", head_dim},
           {"max_position_embeddings", max_positions},
           {"rms_norm_eps", norm_eps},
           {"rope_parameters", rope},
           {"tie_word_embeddings", tie_word_embeddings},
           {"attention_bias", attention_bias},
           {"mlp_bias", mlp_bias},
           {"hidden_act", "silu"}};
    const nlohmann::json window = sliding_window > 0 ? nlohmann::json(sliding_window) : nlohmann::json();
    if (mistral) out["sliding_window"] = window;
    if (qwen2) {
      out["use_sliding_window"] = sliding_window > 0;
      out["sliding_window"] = window;
      out["max_window_layers"] = 0;
    }
  } else {
    const char* act = activation == Activation::gelu_erf ? "gelu" : activation == Activation::gelu_tanh ? "gelu_new" : "quick_gelu";
    out = {{"model_type", "gpt2"},
           {"architectures", {"GPT2LMHeadModel"}},
           {"vocab_size", vocab_size},
           {"n_embd", hidden_size},
           {"n_layer", num_layers},
           {"n_head", num_heads},
           {"n_inner", intermediate_size},
           {"n_positions", max_positions},
           {"layer_norm_epsilon", norm_eps},
           {"activation_function", act},
           {"add_cross_attention", add_cross_attention}};
  }
  out["initializer_range"] = initializer_range;
  if (bos_token_id >= 0) out["bos_token_id"] = bos_token_id;
  if (pad_token_id >= 0) out["pad_token_id"] = pad_token_id;
  if (eos_token_ids.size() == 1) out["eos_token_id"] = eos_token_ids[0];
  if (eos_token_ids.size() > 1) out["eos_token_id"] = eos_token_ids;
  return out;
}

}  // namespace hanvit::language
