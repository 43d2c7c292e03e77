// The fusion layer against references: our gated model vs its PyTorch re-implementation, Hugging
// Face VisionEncoderDecoderModel logits, and zero gates leaving the decoder's logits untouched.
#include "fusion/vision_language_model.h"
#include "tests/fusion/fusion_test_util.h"

using namespace hanvit;
using namespace hanvit::fusion;
using namespace hanvit::fusion::testing;

TEST_CASE("fusion/gated model equals its PyTorch re-implementation (CLIP + LLaMA GQA, two gated blocks)",
          "[fusion]") {
  ParameterStore store;
  LoadedModel loaded = load_model((kFusionData / "gated").string(), store);
  SafetensorsFile expected((kFusionData / "gated" / "expected.safetensors").string());
  CHECK(loaded.config.fusion.layers == std::vector<int64_t>{0, 2});
  Tensor logits = model_logits(*loaded.model, store, expected.get("pixel_values"), expected.get("input_ids"));
  require_close_to_scale(logits, expected.get("logits"));
}

TEST_CASE("fusion/zero gates leave the decoder's text logits exactly as they were", "[fusion]") {
  ParameterStore store;
  LoadedModel loaded = load_model((kFusionData / "gated").string(), store);
  SafetensorsFile expected((kFusionData / "gated" / "expected.safetensors").string());
  for (size_t i = 0; i < loaded.config.fusion.layers.size(); ++i) {
    store.set("fusion.blocks." + std::to_string(i) + ".attn_gate", Tensor::zeros({1}));
    store.set("fusion.blocks." + std::to_string(i) + ".mlp_gate", Tensor::zeros({1}));
  }
  const Tensor ids = expected.get("input_ids");
  Tensor with_image = model_logits(*loaded.model, store, expected.get("pixel_values"), ids);
  Tensor text_only = model_logits(*loaded.model, store, Tensor(), ids);
  CHECK(with_image.to_f64() == text_only.to_f64());
  require_close_to_scale(text_only, expected.get("plain_logits"));
}

TEST_CASE("fusion/Hugging Face VisionEncoderDecoderModel (ViT + GPT-2 with cross-attention) loads unchanged",
          "[fusion]") {
  ParameterStore store;
  LoadedModel loaded = load_model((kFusionData / "ved").string(), store);
  CHECK(loaded.config.fusion.style == FusionStyle::encoder_decoder);
  CHECK(loaded.config.decoder_start_token_id == 1);
  SafetensorsFile expected((kFusionData / "ved" / "expected.safetensors").string());
  Tensor logits = model_logits(*loaded.model, store, expected.get("pixel_values"), expected.get("input_ids"));
  require_close_to_scale(logits, expected.get("logits"));
}
