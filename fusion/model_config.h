// The config.json of a vision-language model folder: vision, language and fusion sections (ours),
// or Hugging Face's VisionEncoderDecoderModel config (encoder / decoder), read into one shape.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "fusion/fusion_config.h"
#include "language/decoder/decoder_lm.h"
#include "vision/vision_config.h"

namespace hanvit::fusion {

// model_type of our own folders; Hugging Face's VisionEncoderDecoderModel is "vision-encoder-decoder".
inline constexpr const char* kModelType = "hanvit_vision_language";
inline constexpr const char* kEncoderDecoderModelType = "vision-encoder-decoder";

struct ModelConfig {
  vision::VisionConfig vision;
  language::DecoderConfig language;
  FusionConfig fusion;
  // encoder_decoder: the token generation starts from (decoder_start_token_id, else the decoder's bos).
  int64_t decoder_start_token_id = -1;

  // Throws std::invalid_argument "<subject>: <problem>" (unknown model_type, bad sections,
  // gated layers outside the decoder, an encoder-decoder decoder without add_cross_attention).
  static ModelConfig from_json(const nlohmann::json& config, const std::string& subject);
  // Ours for gated fusion; Hugging Face's vision-encoder-decoder layout for encoder_decoder, so
  // transformers loads a saved folder.
  nlohmann::json to_json() const;
};

}  // namespace hanvit::fusion
