// Generation with images: Hugging Face VisionEncoderDecoderModel.generate() reproduced token for token
// (greedy and beam search) through the cached visual keys/values, cached stepping equal to the full
// pass for the gated model, and per-token cross-attention maps.
#include "fusion/encode_images.h"
#include "fusion/vlm_step_model.h"
#include "language/generation/generate.h"
#include "tests/fusion/fusion_test_util.h"

using namespace hanvit;
using namespace hanvit::fusion;
using namespace hanvit::fusion::testing;

TEST_CASE("fusion/VisionEncoderDecoderModel greedy and beam generation equal generate()", "[fusion]") {
  ParameterStore store;
  LoadedModel loaded = load_model((kFusionData / "ved").string(), store);
  SafetensorsFile expected((kFusionData / "ved" / "expected.safetensors").string());
  const Tensor pixels = expected.get("pixel_values");
  VlmStepModel step(*loaded.model, encode_images(*loaded.model, store, cpu_backend(), pixels), false);
  const std::vector<std::vector<int32_t>> prompts(2, {static_cast<int32_t>(loaded.config.decoder_start_token_id)});
  for (const char* key : {"greedy_ids", "beam_ids"}) {
    INFO(key);
    language::GenerationOptions options;
    options.max_new_tokens = 20;
    options.num_beams = std::string(key) == "beam_ids" ? 3 : 1;
    std::vector<language::GenerationResult> results = language::generate(step, store, cpu_backend(), prompts, options);
    const Tensor want = expected.get(key);  // (2, 21): the start token, then 20 generated
    for (int64_t b = 0; b < 2; ++b) {
      std::vector<int32_t> row(want.data<int32_t>() + b * 21 + 1, want.data<int32_t>() + (b + 1) * 21);
      CHECK(results[static_cast<size_t>(b)].tokens == row);
    }
  }
}

TEST_CASE("fusion/gated generation: cached steps equal the full pass; attention maps are distributions",
          "[fusion]") {
  ParameterStore store;
  LoadedModel loaded = load_model((kFusionData / "gated").string(), store);
  SafetensorsFile expected((kFusionData / "gated" / "expected.safetensors").string());
  const Tensor pixels = expected.get("pixel_values");
  VlmStepModel step(*loaded.model, encode_images(*loaded.model, store, cpu_backend(), pixels), true);
  language::GenerationOptions options;
  options.max_new_tokens = 6;
  const std::vector<std::vector<int32_t>> prompts = {{1, 17, 40}, {1, 99}};
  std::vector<language::GenerationResult> results = language::generate(step, store, cpu_backend(), prompts, options);
  for (size_t b = 0; b < prompts.size(); ++b) {
    // Each generated token is the argmax of the full (uncached) pass over prompt + tokens so far.
    std::vector<int32_t> sequence = prompts[b];
    for (size_t t = 0; t < results[b].tokens.size(); ++t) {
      const int64_t length = static_cast<int64_t>(sequence.size());
      Tensor one = Tensor::empty({1, 3, 32, 32}, DType::f32);
      std::copy(pixels.data<float>() + static_cast<int64_t>(b) * one.numel(),
                pixels.data<float>() + static_cast<int64_t>(b + 1) * one.numel(), one.data<float>());
      Tensor logits = model_logits(*loaded.model, store, one, Tensor::from_vector<int32_t>({1, length}, sequence));
      const std::vector<double> values = logits.to_f64();
      const std::vector<double> last(values.end() - loaded.config.language.vocab_size, values.end());
      const int32_t best = static_cast<int32_t>(std::max_element(last.begin(), last.end()) - last.begin());
      CHECK(results[b].tokens[t] == best);
      sequence.push_back(results[b].tokens[t]);
    }
    const auto& maps = results[b].extras.at("cross_attention");
    REQUIRE(maps.size() == results[b].tokens.size());
    for (const std::vector<float>& map : maps) {
      CHECK(map.size() == 17u);  // the class token and 4x4 patches
      double total = 0.0;
      for (float w : map) {
        total += w;
        CHECK(w >= 0.0f);
      }
      CHECK(total == Approx(1.0).epsilon(1e-4));
    }
  }
}
