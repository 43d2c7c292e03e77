// Reading and writing a vision-language model's config.json.
#include "fusion/model_config.h"

#include <stdexcept>

namespace hanvit::fusion {
namespace {

const nlohmann::json& section(const nlohmann::json& config, const char* key, const std::string& subject) {
  if (!config.contains(key) || !config.at(key).is_object())
    throw std::invalid_argument(subject + ": missing the \"" + std::string(key) + "\" section");
  return config.at(key);
}

}  // namespace

ModelConfig ModelConfig::from_json(const nlohmann::json& config, const std::string& subject) {
  if (!config.is_object()) throw std::invalid_argument(subject + ": config must be a JSON object");
  const std::string type = config.value("model_type", std::string());
  ModelConfig out;
  if (type == kEncoderDecoderModelType) {
    out.vision = vision::VisionConfig::from_json(section(config, "encoder", subject), subject + " encoder");
    out.language = language::DecoderConfig::from_json(section(config, "decoder", subject), subject + " decoder");
    out.fusion.style = FusionStyle::encoder_decoder;
    if (!out.language.add_cross_attention)
      throw std::invalid_argument(subject + ": the decoder of a vision-encoder-decoder model needs add_cross_attention");
    const nlohmann::json& start = config.contains("decoder_start_token_id")
                                      ? config.at("decoder_start_token_id")
                                      : section(config, "decoder", subject).value("decoder_start_token_id", nlohmann::json());
    out.decoder_start_token_id = start.is_number_integer() ? start.get<int64_t>() : out.language.bos_token_id;
    return out;
  }
  if (type != kModelType)
    throw std::invalid_argument(subject + ": model_type '" + type + "' is neither " + kModelType + " nor " +
                                kEncoderDecoderModelType);
  out.vision = vision::VisionConfig::from_json(section(config, "vision", subject), subject + " vision");
  out.language = language::DecoderConfig::from_json(section(config, "language", subject), subject + " language");
  out.fusion = FusionConfig::from_json(section(config, "fusion", subject), subject);
  if (out.fusion.style != FusionStyle::gated)
    throw std::invalid_argument(subject + ": " + kModelType + " folders use gated fusion");
  check_fusion_layers(out.fusion, out.language.num_layers, subject);
  out.decoder_start_token_id = out.language.bos_token_id;
  return out;
}

nlohmann::json ModelConfig::to_json() const {
  if (fusion.style == FusionStyle::encoder_decoder) {
    nlohmann::json decoder = language.to_json();
    decoder["is_decoder"] = true;
    decoder["add_cross_attention"] = true;
    return {{"model_type", kEncoderDecoderModelType},
            {"architectures", {"VisionEncoderDecoderModel"}},
            {"is_encoder_decoder", true},
            {"encoder", vision.to_json()},
            {"decoder", decoder},
            {"decoder_start_token_id", decoder_start_token_id},
            {"pad_token_id", language.pad_token_id},
            {"tie_word_embeddings", false}};
  }
  return {{"model_type", kModelType},
          {"architectures", {"HanvitVisionLanguageModel"}},
          {"vision", vision.to_json()},
          {"language", language.to_json()},
          {"fusion", fusion.to_json()}};
}

}  // namespace hanvit::fusion
