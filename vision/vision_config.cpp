// Reading and writing the Hugging Face configs of ViT, CLIP and SigLIP vision towers.
#include "vision/vision_config.h"

#include <stdexcept>

namespace hanvit::vision {
namespace {

int64_t positive(const nlohmann::json& config, const char* key, int64_t fallback, const std::string& subject) {
  if (!config.contains(key) || config.at(key).is_null()) return fallback;
  const nlohmann::json& value = config.at(key);
  if (!value.is_number_integer() || value.get<int64_t>() <= 0)
    throw std::invalid_argument(subject + ": " + key + " must be a positive integer, got " + value.dump());
  return value.get<int64_t>();
}

double number(const nlohmann::json& config, const char* key, double fallback, const std::string& subject) {
  if (!config.contains(key) || config.at(key).is_null()) return fallback;
  if (!config.at(key).is_number()) throw std::invalid_argument(subject + ": " + key + " must be a number");
  return config.at(key).get<double>();
}

bool flag(const nlohmann::json& config, const char* key, bool fallback, const std::string& subject) {
  if (!config.contains(key) || config.at(key).is_null()) return fallback;
  if (!config.at(key).is_boolean()) throw std::invalid_argument(subject + ": " + key + " must be true or false");
  return config.at(key).get<bool>();
}

const char* model_type_of(VisionFamily family) {
  switch (family) {
    case VisionFamily::vit: return "vit";
    case VisionFamily::clip: return "clip_vision_model";
    case VisionFamily::siglip: return "siglip_vision_model";
  }
  return "";
}

const char* activation_name(Activation activation) {
  switch (activation) {
    case Activation::gelu_erf: return "gelu";
    case Activation::gelu_tanh: return "gelu_pytorch_tanh";
    case Activation::quick_gelu: return "quick_gelu";
  }
  return "";
}

}  // namespace

VisionConfig VisionConfig::from_json(const nlohmann::json& json, const std::string& subject) {
  if (!json.is_object()) throw std::invalid_argument(subject + ": config must be a JSON object");
  if (!json.contains("model_type") || !json.at("model_type").is_string())
    throw std::invalid_argument(subject + ": missing model_type (vit, clip_vision_model, siglip_vision_model, clip, " +
                                "siglip)");
  const std::string type = json.at("model_type").get<std::string>();
  if (type == "clip" || type == "siglip") {
    if (!json.contains("vision_config") || !json.at("vision_config").is_object())
      throw std::invalid_argument(subject + ": a " + type + " config without a vision_config section");
    nlohmann::json vision = json.at("vision_config");
    vision["model_type"] = type + "_vision_model";
    return from_json(vision, subject);
  }
  // Absent fields take the defaults of transformers' config class: a saved full CLIP / SigLIP
  // config may leave out the vision fields equal to them (CLIP's patch_size 32, for one).
  VisionConfig c;
  const char* default_activation = "gelu";
  if (type == "vit") {
    c.family = VisionFamily::vit;
  } else if (type == "clip_vision_model") {
    c.family = VisionFamily::clip;
    default_activation = "quick_gelu";
    c.layer_norm_eps = 1e-5;
    c.patch_size = 32;
  } else if (type == "siglip_vision_model") {
    c.family = VisionFamily::siglip;
    default_activation = "gelu_pytorch_tanh";
    c.layer_norm_eps = 1e-6;
  } else {
    throw std::invalid_argument(subject + ": model_type '" + type +
                                "' is not a vision tower (vit, clip_vision_model, siglip_vision_model, clip, siglip)");
  }
  c.image_size = positive(json, "image_size", c.image_size, subject);
  c.patch_size = positive(json, "patch_size", c.patch_size, subject);
  c.num_channels = positive(json, "num_channels", c.num_channels, subject);
  c.hidden_size = positive(json, "hidden_size", c.hidden_size, subject);
  c.num_layers = positive(json, "num_hidden_layers", c.num_layers, subject);
  c.num_heads = positive(json, "num_attention_heads", c.num_heads, subject);
  c.intermediate_size = positive(json, "intermediate_size", c.intermediate_size, subject);
  c.layer_norm_eps = number(json, "layer_norm_eps", c.layer_norm_eps, subject);
  const nlohmann::json act = json.value("hidden_act", nlohmann::json(default_activation));
  if (!act.is_string()) throw std::invalid_argument(subject + ": hidden_act must be a string");
  try {
    c.activation = activation_from_name(act.get<std::string>());
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(subject + ": " + e.what());
  }
  if (c.family == VisionFamily::vit) c.qkv_bias = flag(json, "qkv_bias", true, subject);
  if (c.family == VisionFamily::vit) c.pooler = flag(json, "add_pooling_layer", true, subject);
  if (c.family == VisionFamily::siglip) c.pooler = flag(json, "vision_use_head", true, subject);
  if (c.image_size % c.patch_size != 0)
    throw std::invalid_argument(subject + ": image_size " + std::to_string(c.image_size) +
                                " is not a multiple of patch_size " + std::to_string(c.patch_size));
  if (c.hidden_size % c.num_heads != 0)
    throw std::invalid_argument(subject + ": hidden_size " + std::to_string(c.hidden_size) +
                                " is not a multiple of num_attention_heads " + std::to_string(c.num_heads));
  if (c.family == VisionFamily::vit && json.contains("pooler_output_size") && !json.at("pooler_output_size").is_null() &&
      json.at("pooler_output_size") != c.hidden_size)
    throw std::invalid_argument(subject + ": pooler_output_size other than hidden_size is not supported");
  if (c.family == VisionFamily::vit && json.value("pooler_act", std::string("tanh")) != "tanh")
    throw std::invalid_argument(subject + ": pooler_act other than tanh is not supported");
  return c;
}

nlohmann::json VisionConfig::to_json() const {
  nlohmann::json out = {{"model_type", model_type_of(family)},
                        {"image_size", image_size},
                        {"patch_size", patch_size},
                        {"num_channels", num_channels},
                        {"hidden_size", hidden_size},
                        {"num_hidden_layers", num_layers},
                        {"num_attention_heads", num_heads},
                        {"intermediate_size", intermediate_size},
                        {"hidden_act", activation_name(activation)},
                        {"layer_norm_eps", layer_norm_eps}};
  if (family == VisionFamily::vit) {
    out["qkv_bias"] = qkv_bias;
    out["add_pooling_layer"] = pooler;
  }
  if (family == VisionFamily::siglip) out["vision_use_head"] = pooler;
  return out;
}

}  // namespace hanvit::vision
