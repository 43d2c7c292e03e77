// Vision configs (round trips, transformers' defaults) and the one-line errors of bad folders and inputs.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "tests/support/model_test_support.h"
#include "modules/io/json_strict.h"
#include "modules/io/safetensors.h"
#include "vision/load_vision.h"

using namespace hanvit;
using namespace hanvit::testing;
using namespace hanvit::vision;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

const fs::path kVisionData = fs::path(HANVIT_TEST_DATA) / "vision";

using Tensors = std::vector<std::pair<std::string, Tensor>>;

// A copy of fixture `name` under `dir` with config.json and the tensors edited; returns the folder.
fs::path edited_copy(const TempDir& dir, const std::string& name,
                     const std::function<void(nlohmann::json&)>& edit_config,
                     const std::function<void(Tensors&)>& edit_tensors) {
  const fs::path out = dir.path / name;
  fs::create_directories(out);
  nlohmann::json config = read_json_file_strict((kVisionData / name / "config.json").string(), "config");
  edit_config(config);
  std::ofstream(out / "config.json") << config.dump();
  SafetensorsFile weights((kVisionData / name / "model.safetensors").string());
  Tensors tensors;
  for (const std::string& t : weights.names()) tensors.emplace_back(t, weights.get(t));
  edit_tensors(tensors);
  save_safetensors((out / "model.safetensors").string(), tensors);
  return out;
}

void same_config(nlohmann::json&) {}
void same_tensors(Tensors&) {}

// Rewrites `path` (a safetensors file of f32 tensors) with tensor `name` stored as F64, a dtype the
// runtime does not hold, laid out by hand as the format describes.
void store_as_f64(const fs::path& path, const std::string& name) {
  SafetensorsFile weights(path.string());
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const std::string& t : weights.names()) {
    const Tensor tensor = weights.get(t);
    const size_t begin = data.size();
    if (t == name) {
      const std::vector<double> values = tensor.to_f64();
      data.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(double));
    } else {
      data.append(static_cast<const char*>(tensor.raw_data()), tensor.nbytes());
    }
    header[t] = {
        {"dtype", t == name ? "F64" : "F32"}, {"shape", tensor.shape()}, {"data_offsets", {begin, data.size()}}};
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t length = text.size();
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(reinterpret_cast<const char*>(&length), sizeof(length));
  file << text << data;
}

}  // namespace

TEST_CASE("vision/configs read back from to_json", "[vision]") {
  for (const char* name : {"vit", "vit_classifier", "clip", "clip_full", "siglip", "siglip_full"}) {
    INFO(name);
    const std::string path = (kVisionData / name / "config.json").string();
    const VisionConfig config = VisionConfig::from_json(read_json_file_strict(path, "config"), path);
    const VisionConfig again = VisionConfig::from_json(config.to_json(), "round trip");
    CHECK(again.to_json() == config.to_json());
    CHECK(config.hidden_size == 32);
    CHECK(config.intermediate_size == 64);
    CHECK(config.num_layers == 2);
    CHECK(config.num_heads == 4);
    CHECK(config.grid() == 4);
  }
  const auto read = [](const char* name) {
    const std::string path = (kVisionData / name / "config.json").string();
    return VisionConfig::from_json(read_json_file_strict(path, "config"), path);
  };
  CHECK(read("clip_full").family == VisionFamily::clip);
  CHECK(read("clip_full").activation == Activation::quick_gelu);
  CHECK(read("siglip_full").family == VisionFamily::siglip);
  CHECK(read("siglip_full").activation == Activation::gelu_tanh);
  CHECK(read("siglip_full").layer_norm_eps == 1e-6);
  CHECK(read("vit").layer_norm_eps == 1e-12);
}

TEST_CASE("vision/absent config fields take the defaults of transformers' config classes", "[vision]") {
  const VisionConfig vit = VisionConfig::from_json({{"model_type", "vit"}}, "vit");
  CHECK(vit.patch_size == 16);
  CHECK(vit.image_size == 224);
  CHECK(vit.hidden_size == 768);
  CHECK(vit.activation == Activation::gelu_erf);
  CHECK(vit.qkv_bias);
  CHECK(vit.num_tokens() == 197);
  const VisionConfig clip = VisionConfig::from_json(
      {{"model_type", "clip"}, {"vision_config", {{"hidden_size", 1024}, {"num_attention_heads", 16}}}}, "clip");
  CHECK(clip.patch_size == 32);
  CHECK(clip.hidden_size == 1024);
  CHECK(clip.layer_norm_eps == 1e-5);
  CHECK(clip.num_tokens() == 50);
  const VisionConfig siglip = VisionConfig::from_json({{"model_type", "siglip_vision_model"}}, "siglip");
  CHECK(siglip.patch_size == 16);
  CHECK(siglip.pooler);
  CHECK(siglip.num_tokens() == 196);
}

TEST_CASE("vision/config errors name the field", "[vision]") {
  CHECK_THROWS_WITH(VisionConfig::from_json({{"image_size", 32}}, "cfg"), Contains("cfg: missing model_type"));
  CHECK_THROWS_WITH(VisionConfig::from_json({{"model_type", "bert"}}, "cfg"),
                    Contains("cfg: model_type 'bert' is not a vision tower"));
  CHECK_THROWS_WITH(VisionConfig::from_json({{"model_type", "siglip"}}, "cfg"),
                    Contains("a siglip config without a vision_config section"));
  CHECK_THROWS_WITH(VisionConfig::from_json({{"model_type", "vit"}, {"patch_size", 0}}, "cfg"),
                    Contains("patch_size must be a positive integer, got 0"));
  CHECK_THROWS_WITH(VisionConfig::from_json({{"model_type", "vit"}, {"hidden_size", 30}}, "cfg"),
                    Contains("hidden_size 30 is not a multiple of num_attention_heads 12"));
  CHECK_THROWS_WITH(VisionConfig::from_json({{"model_type", "vit"}, {"hidden_act", "swish"}}, "cfg"),
                    Contains("cfg: ") && Contains("swish"));
  CHECK_THROWS_WITH(VisionConfig::from_json({{"model_type", "vit"}, {"qkv_bias", "yes"}}, "cfg"),
                    Contains("qkv_bias must be true or false"));
}

TEST_CASE("vision/loading keeps the tower's names under the store prefix and drops the classifier", "[vision]") {
  ParameterStore store;
  const LoadedVision loaded = load_vision((kVisionData / "vit_classifier").string(), store, "vision.");
  CHECK_FALSE(loaded.config.pooler);
  CHECK(store.contains("vision.embeddings.cls_token"));
  CHECK(store.contains("vision.encoder.layer.1.output.dense.weight"));
  CHECK_FALSE(store.contains("vision.classifier.weight"));
  CHECK(store.size() == loaded.model->named_parameters().size());
  ParameterStore full;
  load_vision((kVisionData / "clip_full").string(), full);
  CHECK(full.contains("pre_layrnorm.weight"));
  CHECK(full.contains("post_layernorm.bias"));
  for (const std::string& name : full.names()) CHECK(name.find("text") == std::string::npos);
}

TEST_CASE("vision/bad folders and inputs give one-line errors", "[vision]") {
  ParameterStore store;
  TempDir dir("bad");

  const fs::path missing = edited_copy(dir, "clip", same_config, [](Tensors& t) {
    std::erase_if(t, [](const auto& entry) { return entry.first == "encoder.layers.1.mlp.fc2.weight"; });
  });
  CHECK_THROWS_WITH(load_vision(missing.string(), store),
                    Contains(missing.string()) && Contains("1 tensors missing: encoder.layers.1.mlp.fc2.weight"));

  const fs::path shape = edited_copy(
      dir, "vit", [](nlohmann::json& c) { c["intermediate_size"] = 48; }, same_tensors);
  CHECK_THROWS_WITH(load_vision(shape.string(), store),
                    Contains(shape.string()) && Contains("is (64,32) but the config gives (48,32)"));

  const fs::path type = edited_copy(
      dir, "siglip", [](nlohmann::json& c) { c["model_type"] = "convnext"; }, same_tensors);
  CHECK_THROWS_WITH(load_vision(type.string(), store), Contains("model_type 'convnext' is not a vision tower"));

  const fs::path f64 = edited_copy(dir, "siglip_full", same_config, same_tensors);
  store_as_f64(f64 / "model.safetensors", "vision_model.post_layernorm.weight");
  CHECK_THROWS_WITH(load_vision(f64.string(), store), Contains(f64.string()) &&
                                                          Contains("vision_model.post_layernorm.weight") &&
                                                          Contains("dtype 'F64'"));

  const fs::path i32 = edited_copy(dir, "vit_classifier", same_config, [](Tensors& t) {
    for (auto& [name, tensor] : t)
      if (name == "vit.layernorm.weight") tensor = Tensor::zeros({32}, DType::i32);
  });
  CHECK_THROWS_WITH(load_vision(i32.string(), store), Contains("'vit.layernorm.weight' has dtype i32"));

  const fs::path patch = edited_copy(
      dir, "vit", [](nlohmann::json& c) { c["patch_size"] = 5; }, same_tensors);
  CHECK_THROWS_WITH(load_vision(patch.string(), store), Contains("image_size 32 is not a multiple of patch_size 5"));

  const fs::path other = edited_copy(
      dir, "clip_full", [](nlohmann::json& c) { c["model_type"] = "vit"; }, same_tensors);
  CHECK_THROWS_WITH(load_vision(other.string(), store),
                    Contains("no tensor 'embeddings.patch_embeddings.projection.weight'"));

  CHECK_THROWS_WITH(load_vision((dir.path / "absent").string(), store), Contains("absent") && Contains("not a folder"));
  CHECK(store.size() == 0);

  const LoadedVision loaded = load_vision((kVisionData / "vit").string(), store);
  Graph g(false);
  CHECK_THROWS_WITH(loaded.model->forward(g.input("pixels", {1, 3, 64, 64})),
                    Contains("pixels must be (B, 3, 32, 32), got"));
  CHECK_THROWS_WITH(loaded.model->forward(g.input("gray", {1, 1, 32, 32})),
                    Contains("pixels must be (B, 3, 32, 32), got"));
}
