// Decoder folders and configs: config.json round trips, tied checkpoints, one-line errors for bad folders,
// and Hugging Face's initialization of fresh models.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "tests/support/model_test_support.h"
#include "language/decoder/decoder_lm.h"
#include "modules/io/json_strict.h"
#include "modules/io/safetensors.h"

using namespace hanvit;
using namespace hanvit::testing;
using namespace hanvit::language;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

const fs::path kDecoderData = fs::path(HANVIT_TEST_DATA) / "decoder";

fs::path edited_copy(const TempDir& dir, const std::string& name, const std::function<void(nlohmann::json&)>& edit,
                     const std::string& drop = "", const Tensor& replacement = Tensor()) {
  const fs::path out = dir.path / name;
  fs::create_directories(out);
  nlohmann::json config = read_json_file_strict((kDecoderData / name / "config.json").string(), "config");
  edit(config);
  std::ofstream(out / "config.json") << config.dump();
  SafetensorsFile weights((kDecoderData / name / "model.safetensors").string());
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const std::string& t : weights.names()) {
    if (t == drop && !replacement.defined()) continue;
    tensors.emplace_back(t, t == drop ? replacement : weights.get(t));
  }
  save_safetensors((out / "model.safetensors").string(), tensors);
  return out;
}

}  // namespace

TEST_CASE("decoder/configs read back from to_json and keep Hugging Face's names", "[decoder]") {
  for (const char* name :
       {"llama_gqa", "llama_tied_linear", "llama_dynamic", "qwen2_tied", "mistral_window", "gpt2", "gpt2_cross"}) {
    const std::string path = (kDecoderData / name / "config.json").string();
    DecoderConfig config = DecoderConfig::from_json(read_json_file_strict(path, "config"), path);
    CHECK(DecoderConfig::from_json(config.to_json(), "again").to_json() == config.to_json());
  }
  ParameterStore store;
  LoadedDecoder tied = load_decoder((kDecoderData / "llama_tied_linear").string(), store);
  CHECK(tied.config.tie_word_embeddings);
  CHECK(tied.config.rope_scaling.kind == RopeScaling::Kind::linear);
  CHECK_FALSE(store.contains("lm_head.weight"));
  CHECK(store.contains("model.layers.1.self_attn.k_proj.weight"));
  CHECK(store.get("model.layers.1.self_attn.k_proj.weight").shape() == Shape{16, 32});         // 2 kv heads x 8
  LoadedDecoder qwen2 = load_decoder((kDecoderData / "qwen2_tied").string(), store, "qwen.");  // float16 weights
  CHECK(qwen2.config.qkv_bias);
  CHECK(qwen2.config.sliding_window == 0);
  CHECK(store.contains("qwen.model.layers.0.self_attn.k_proj.bias"));
  CHECK_FALSE(store.contains("qwen.model.layers.0.self_attn.o_proj.bias"));
  LoadedDecoder gpt2 = load_decoder((kDecoderData / "gpt2_cross").string(), store, "decoder.");
  CHECK(store.contains("decoder.transformer.h.0.crossattention.q_attn.weight"));
}

TEST_CASE("decoder/bad folders give one-line errors naming the folder and the problem", "[decoder]") {
  ParameterStore store;
  auto same = [](nlohmann::json&) {};
  TempDir d1("missing");
  const fs::path missing = edited_copy(d1, "llama_gqa", same, "model.layers.0.mlp.up_proj.weight");
  CHECK_THROWS_WITH(load_decoder(missing.string(), store),
                    Contains(missing.string()) && Contains("1 tensors missing: model.layers.0.mlp.up_proj.weight"));
  TempDir d2("shape");
  const fs::path shape = edited_copy(d2, "gpt2", [](nlohmann::json& c) { c["n_inner"] = 100; });
  CHECK_THROWS_WITH(load_decoder(shape.string(), store), Contains("but the config gives"));
  TempDir d3("type");
  const fs::path type = edited_copy(d3, "gpt2", [](nlohmann::json& c) { c["model_type"] = "mamba"; });
  CHECK_THROWS_WITH(load_decoder(type.string(), store), Contains("model_type 'mamba' is not a supported decoder"));
  TempDir d4("dtype");
  const fs::path dtype = edited_copy(d4, "llama_gqa", same, "model.norm.weight", Tensor::zeros({32}, DType::u8));
  CHECK_THROWS_WITH(load_decoder(dtype.string(), store), Contains("'model.norm.weight' has dtype"));
  TempDir d5("rope");
  const fs::path rope = edited_copy(d5, "llama_gqa", [](nlohmann::json& c) {
    c["rope_parameters"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"rope_theta", 10000.0}};
  });
  CHECK_THROWS_WITH(load_decoder(rope.string(), store), Contains("rope type 'yarn' is not supported"));
  TempDir d6("upcast");
  const fs::path upcast = edited_copy(d6, "gpt2", [](nlohmann::json& c) { c["reorder_and_upcast_attn"] = true; });
  CHECK_THROWS_WITH(load_decoder(upcast.string(), store), Contains("reorder_and_upcast_attn is not supported"));
  TempDir d7("extra");
  const fs::path extra = edited_copy(d7, "llama_gqa", same);
  {
    SafetensorsFile weights((extra / "model.safetensors").string());
    std::vector<std::pair<std::string, Tensor>> tensors;
    for (const std::string& t : weights.names()) tensors.emplace_back(t, weights.get(t).clone());
    tensors.emplace_back("model.layers.0.self_attn.q_norm.weight", Tensor::zeros({8}));
    save_safetensors((extra / "model.safetensors").string(), tensors);
  }
  CHECK_THROWS_WITH(load_decoder(extra.string(), store),
                    Contains("1 unexpected tensors: model.layers.0.self_attn.q_norm.weight"));
}

TEST_CASE("decoder/fresh models start as Hugging Face initializes them", "[decoder]") {
  auto stats = [](const Tensor& t) {
    const std::vector<double> v = t.to_f64();
    double sum = 0.0, squares = 0.0;
    for (double x : v) sum += x, squares += x * x;
    const double mean = sum / static_cast<double>(v.size());
    return std::pair{mean, std::sqrt(squares / static_cast<double>(v.size()) - mean * mean)};
  };
  auto is_constant = [](const Tensor& t, double value) {
    for (double x : t.to_f64())
      if (x != value) return false;
    return true;
  };
  const DecoderConfig gpt2 = DecoderConfig::from_json({{"model_type", "gpt2"},
                                                       {"vocab_size", 300},
                                                       {"n_embd", 64},
                                                       {"n_layer", 8},
                                                       {"n_head", 4},
                                                       {"n_positions", 64},
                                                       {"initializer_range", 0.05}},
                                                      "gpt2 config");
  DecoderLM gpt2_model(gpt2);
  ParameterStore store(7);
  store.initialize(gpt2_model);
  CHECK(stats(store.get("transformer.wte.weight")).second == Approx(0.05).epsilon(0.05));
  CHECK(stats(store.get("transformer.h.3.mlp.c_fc.weight")).second == Approx(0.05).epsilon(0.05));
  CHECK(stats(store.get("transformer.h.3.attn.c_proj.weight")).second == Approx(0.05 / 4.0).epsilon(0.05));
  CHECK(stats(store.get("transformer.h.3.mlp.c_proj.weight")).second == Approx(0.05 / 4.0).epsilon(0.05));
  CHECK(is_constant(store.get("transformer.h.3.attn.c_attn.bias"), 0.0));
  CHECK(is_constant(store.get("transformer.h.3.ln_2.weight"), 1.0));
  CHECK(is_constant(store.get("transformer.ln_f.bias"), 0.0));

  const DecoderConfig llama = DecoderConfig::from_json({{"model_type", "llama"},
                                                        {"vocab_size", 300},
                                                        {"hidden_size", 64},
                                                        {"intermediate_size", 128},
                                                        {"num_hidden_layers", 2},
                                                        {"num_attention_heads", 4},
                                                        {"num_key_value_heads", 2}},
                                                       "llama config");
  DecoderLM llama_model(llama);
  store.initialize(llama_model);
  for (const char* name : {"model.embed_tokens.weight", "model.layers.1.self_attn.o_proj.weight",
                           "model.layers.1.mlp.down_proj.weight", "lm_head.weight"}) {
    INFO(name);
    const auto [mean, std] = stats(store.get(name));
    CHECK(std::abs(mean) < 0.005);
    CHECK(std == Approx(0.02).epsilon(0.05));
  }
  CHECK(is_constant(store.get("model.layers.0.input_layernorm.weight"), 1.0));
  CHECK(is_constant(store.get("model.norm.weight"), 1.0));
}
