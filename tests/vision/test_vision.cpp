// Vision towers against Hugging Face transformers (ViTModel, CLIPVisionModel, SiglipVisionModel, the
// vision part of a full CLIPModel), config round trips, and the errors of bad folders and inputs.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "modules/exec/executor.h"
#include "modules/io/json_strict.h"
#include "modules/io/safetensors.h"
#include "vision/load_vision.h"

using namespace hanvit;
using namespace hanvit::vision;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

const fs::path kVisionData = fs::path(HANVIT_TEST_DATA) / "vision";

void require_close_to_scale(const Tensor& got, const Tensor& want, double tol = 1e-4) {
  REQUIRE(got.shape() == want.shape());
  const std::vector<double> g = got.to_f64(), w = want.to_f64();
  double scale = 1.0, worst = 0.0;
  for (double x : w) scale = std::max(scale, std::abs(x));
  for (size_t i = 0; i < g.size(); ++i) worst = std::max(worst, std::abs(g[i] - w[i]));
  INFO("max abs difference " << worst << " at output scale " << scale);
  REQUIRE(worst <= tol * scale);
}

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / ("hanvit-vision-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

// A copy of fixture `name` with config.json edited and one tensor replaced (or dropped when undefined).
fs::path edited_copy(const TempDir& dir, const std::string& name, const std::function<void(nlohmann::json&)>& edit,
                     const std::string& tensor = "", const Tensor& replacement = Tensor()) {
  const fs::path out = dir.path / name;
  fs::create_directories(out);
  nlohmann::json config = read_json_file_strict((kVisionData / name / "config.json").string(), "config");
  edit(config);
  std::ofstream(out / "config.json") << config.dump();
  SafetensorsFile weights((kVisionData / name / "model.safetensors").string());
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const std::string& t : weights.names()) {
    if (t == tensor && !replacement.defined()) continue;
    tensors.emplace_back(t, t == tensor ? replacement : weights.get(t));
  }
  save_safetensors((out / "model.safetensors").string(), tensors);
  return out;
}

}  // namespace

TEST_CASE("vision/towers equal Hugging Face: last hidden state and pooled output", "[vision]") {
  for (const char* name : {"vit", "clip", "siglip", "clip_full"}) {
    INFO(name);
    ParameterStore store;
    LoadedVision loaded = load_vision((kVisionData / name).string(), store, "tower.");
    SafetensorsFile expected((kVisionData / name / "expected.safetensors").string());
    const Tensor pixels = expected.get("pixel_values");
    Graph g(false);
    auto root = std::make_shared<Group>("Root");
    root->register_module("tower", loaded.model);
    VisionOutputs out = loaded.model->forward(g.input("pixels", pixels.shape()));
    REQUIRE(out.pooled.defined());
    Executor exec(g, cpu_backend(), {out.last_hidden, out.pooled});
    store.bind_all(exec, g);
    exec.bind("pixels", pixels);
    exec.run();
    require_close_to_scale(exec.value(out.last_hidden), expected.get("last_hidden_state"));
    require_close_to_scale(exec.value(out.pooled), expected.get("pooler_output"));
    CHECK(loaded.model->num_tokens() == (std::string(name) == "siglip" ? 16 : 17));
  }
}

TEST_CASE("vision/configs read back from to_json", "[vision]") {
  for (const char* name : {"vit", "clip", "siglip", "clip_full"}) {
    const std::string path = (kVisionData / name / "config.json").string();
    VisionConfig config = VisionConfig::from_json(read_json_file_strict(path, "config"), path);
    VisionConfig again = VisionConfig::from_json(config.to_json(), "round trip");
    CHECK(again.to_json() == config.to_json());
    CHECK(config.hidden_size == 32);
    CHECK(config.grid() == 4);
  }
}

TEST_CASE("vision/bad folders and inputs give one-line errors", "[vision]") {
  TempDir dir("bad");
  ParameterStore store;
  auto same = [](nlohmann::json&) {};
  const fs::path missing = edited_copy(dir, "clip", same, "encoder.layers.1.mlp.fc2.weight");
  CHECK_THROWS_WITH(load_vision(missing.string(), store),
                    Contains(missing.string()) && Contains("1 tensors missing: encoder.layers.1.mlp.fc2.weight"));
  TempDir dir2("shape");
  const fs::path shape = edited_copy(dir2, "vit", [](nlohmann::json& c) { c["intermediate_size"] = 48; });
  CHECK_THROWS_WITH(load_vision(shape.string(), store), Contains("is (64,32) but the config gives (48,32)"));
  TempDir dir3("type");
  const fs::path type = edited_copy(dir3, "siglip", [](nlohmann::json& c) { c["model_type"] = "convnext"; });
  CHECK_THROWS_WITH(load_vision(type.string(), store), Contains("model_type 'convnext' is not a vision tower"));
  TempDir dir4("dtype");
  const fs::path dtype =
      edited_copy(dir4, "vit", same, "layernorm.weight", Tensor::zeros({32}, DType::i32));
  CHECK_THROWS_WITH(load_vision(dtype.string(), store), Contains("'layernorm.weight' has dtype"));
  TempDir dir5("patch");
  const fs::path patch = edited_copy(dir5, "vit", [](nlohmann::json& c) { c["patch_size"] = 5; });
  CHECK_THROWS_WITH(load_vision(patch.string(), store), Contains("image_size 32 is not a multiple of patch_size 5"));
  CHECK_THROWS_WITH(load_vision((dir.path / "absent").string(), store), Contains("not a folder"));

  LoadedVision loaded = load_vision((kVisionData / "vit").string(), store);
  Graph g(false);
  CHECK_THROWS_WITH(loaded.model->forward(g.input("pixels", {1, 3, 64, 64})),
                    Contains("pixels must be (B, 3, 32, 32), got"));
}
