// Model folders: save/load round trips, composing from parts (hanvit init), fusion specs, and the
// errors of bad folders (missing tensors, shapes against config.json, unknown architectures).
#include <fstream>
#include <unistd.h>

#include "tests/support/model_test_support.h"
#include "fusion/compose.h"
#include "modules/io/json_strict.h"
#include "tests/fusion/fusion_test_util.h"

using namespace hanvit;
using namespace hanvit::testing;
using namespace hanvit::fusion;
using namespace hanvit::fusion::testing;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

nlohmann::json read_config(const fs::path& dir) {
  return read_json_file_strict((dir / "config.json").string(), "config");
}

void write_json(const fs::path& path, const nlohmann::json& json) { std::ofstream(path) << json.dump(2); }

// A copy of the gated fixture with config.json edited and the weights filtered.
void copy_gated(const fs::path& to, const std::function<void(nlohmann::json&)>& edit_config,
                const std::function<bool(const std::string&)>& keep_tensor) {
  fs::create_directories(to);
  nlohmann::json config = read_config(kFusionData / "gated");
  edit_config(config);
  write_json(to / "config.json", config);
  SafetensorsFile weights((kFusionData / "gated" / "model.safetensors").string());
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const std::string& name : weights.names())
    if (keep_tensor(name)) tensors.emplace_back(name, weights.get(name));
  save_safetensors((to / "model.safetensors").string(), tensors);
}

}  // namespace

TEST_CASE("fusion/save then load gives the same config and bit-identical parameters", "[fusion]") {
  for (const char* name : {"gated", "ved"}) {
    ParameterStore store;
    LoadedModel loaded = load_model((kFusionData / name).string(), store);
    TempDir dir(std::string("save-") + name);
    const fs::path out = dir.path / "model";
    save_model(out.string(), loaded.config, *loaded.model, store, {kFusionData / name / "generation_config.json"},
               false);
    CHECK(fs::exists(out / "config.json"));
    CHECK(fs::exists(out / "model.safetensors"));
    CHECK(fs::exists(out / "generation_config.json") == fs::exists(kFusionData / name / "generation_config.json"));
    ParameterStore again;
    LoadedModel reloaded = load_model(out.string(), again);
    CHECK(reloaded.config.to_json() == loaded.config.to_json());
    REQUIRE(again.names() == store.names());
    for (const std::string& parameter : store.names())
      REQUIRE(again.get(parameter).to_f64() == store.get(parameter).to_f64());
    // Saving over a non-empty folder needs overwrite; the old folder survives a refused save.
    CHECK_THROWS_WITH(save_model(out.string(), loaded.config, *loaded.model, store, {}, false),
                      Contains("not empty"));
    CHECK(fs::exists(out / "model.safetensors"));
  }
}

TEST_CASE("fusion/a saved encoder-decoder folder keeps Hugging Face's layout", "[fusion]") {
  ParameterStore store;
  LoadedModel loaded = load_model((kFusionData / "ved").string(), store);
  nlohmann::json config = loaded.config.to_json();
  CHECK(config["model_type"] == "vision-encoder-decoder");
  CHECK(config["decoder"]["add_cross_attention"] == true);
  CHECK(config["encoder"]["model_type"] == "vit");
  std::vector<std::string> names;
  for (const ParameterInfo& p : loaded.model->named_parameters()) names.push_back(p.name);
  SafetensorsFile original((kFusionData / "ved" / "model.safetensors").string());
  for (const std::string& name : names) CHECK(original.contains(name));
}

TEST_CASE("fusion/composing from fresh configs: zero gates give the plain decoder's logits", "[fusion]") {
  TempDir dir("compose");
  nlohmann::json gated = read_config(kFusionData / "gated");
  write_json(dir.path / "vision.json", gated["vision"]);
  write_json(dir.path / "language.json", gated["language"]);
  ComposeOptions options{.vision = (dir.path / "vision.json").string(),
                         .language = (dir.path / "language.json").string(),
                         .fusion_spec = "gated:every=2,projector=linear",
                         .tokenizer = {},
                         .seed = 7};
  ParameterStore store;
  ComposedModel composed = compose_model(options, store);
  const VisionLanguageModel& model = *composed.loaded.model;
  CHECK(composed.loaded.config.fusion.layers == std::vector<int64_t>{0, 2});
  CHECK(store.get("fusion.blocks.0.attn_gate").to_f64() == std::vector<double>{0.0});
  CHECK_FALSE(composed.preprocessor_json.empty());
  SafetensorsFile expected((kFusionData / "gated" / "expected.safetensors").string());
  const Tensor ids = expected.get("input_ids");
  Tensor with_image = model_logits(model, store, expected.get("pixel_values"), ids);
  Tensor text_only = model_logits(model, store, Tensor(), ids);
  CHECK(with_image.to_f64() == text_only.to_f64());

  // ... and equal the plain decoder's, run alone with the same weights.
  language::DecoderLM plain(composed.loaded.config.language);
  ParameterStore plain_store;
  for (const ParameterInfo& p : plain.named_parameters()) plain_store.set(p.name, store.get("language." + p.name));
  Graph g(false);
  language::DecoderInputs in;
  in.ids = g.input("ids", ids.shape(), DType::i32);
  in.positions = g.input("positions", {ids.shape()[1]}, DType::i32);
  Var logits = plain.forward(in).logits;
  Executor exec(g, cpu_backend(), {logits});
  plain_store.bind_all(exec, g);
  exec.bind("ids", ids);
  exec.bind("positions", positions_tensor(0, ids.shape()[1]));
  exec.run();
  CHECK(exec.value(logits).to_f64() == with_image.to_f64());

  // The same seed draws the same fresh weights.
  ParameterStore again;
  compose_model(options, again);
  CHECK(again.get("fusion.blocks.1.q_proj.weight").to_f64() == store.get("fusion.blocks.1.q_proj.weight").to_f64());
}

TEST_CASE("fusion/fusion specs are parsed or refused by name", "[fusion]") {
  CHECK(FusionConfig::parse_spec("gated:every=4", 12).layers == std::vector<int64_t>{0, 4, 8});
  CHECK(FusionConfig::parse_spec("gated:layers=1,5,9,projector=mlp", 12).layers == std::vector<int64_t>{1, 5, 9});
  CHECK(FusionConfig::parse_spec("gated:layers=1,5,projector=mlp", 12).projector == ProjectorKind::mlp);
  CHECK(FusionConfig::parse_spec("ved", 12).style == FusionStyle::encoder_decoder);
  CHECK_THROWS_WITH(FusionConfig::parse_spec("gated:every=0", 12), Contains("at least 1"));
  CHECK_THROWS_WITH(FusionConfig::parse_spec("gated:layers=3,12", 12), Contains("outside the decoder's 12 layers"));
  CHECK_THROWS_WITH(FusionConfig::parse_spec("gated:layers=5,3", 12), Contains("increasing"));
  CHECK_THROWS_WITH(FusionConfig::parse_spec("gated:projector=mlp", 12), Contains("every=K"));
  CHECK_THROWS_WITH(FusionConfig::parse_spec("gated:every=2,colour=red", 12), Contains("unknown option 'colour'"));
  CHECK_THROWS_WITH(FusionConfig::parse_spec("perceiver", 12), Contains("expected gated"));
}

TEST_CASE("fusion/bad model folders give one-line errors naming the folder and the problem", "[fusion]") {
  TempDir dir("bad");
  ParameterStore store;
  auto keep_all = [](const std::string&) { return true; };
  auto same = [](nlohmann::json&) {};

  const fs::path missing = dir.path / "missing";
  copy_gated(missing, same, [](const std::string& name) { return name.find("blocks.1.q_proj") == std::string::npos; });
  CHECK_THROWS_WITH(load_model(missing.string(), store),
                    Contains(missing.string()) && Contains("1 tensors missing: fusion.blocks.1.q_proj.weight"));

  const fs::path shapes = dir.path / "shapes";
  copy_gated(shapes, [](nlohmann::json& c) { c["language"]["intermediate_size"] = 100; }, keep_all);
  CHECK_THROWS_WITH(load_model(shapes.string(), store), Contains("but the config gives"));

  const fs::path unknown = dir.path / "unknown";
  copy_gated(unknown, [](nlohmann::json& c) { c["model_type"] = "perceiver_resampler"; }, keep_all);
  CHECK_THROWS_WITH(load_model(unknown.string(), store), Contains("model_type 'perceiver_resampler'"));

  const fs::path layers = dir.path / "layers";
  copy_gated(layers, [](nlohmann::json& c) { c["fusion"]["layers"] = {0, 7}; }, keep_all);
  CHECK_THROWS_WITH(load_model(layers.string(), store), Contains("fusion layer 7 is outside"));

  const fs::path dtype = dir.path / "dtype";
  copy_gated(dtype, same, [](const std::string& name) { return name != "fusion.blocks.0.attn_gate"; });
  {
    SafetensorsFile weights((dtype / "model.safetensors").string());
    std::vector<std::pair<std::string, Tensor>> tensors;
    for (const std::string& name : weights.names()) tensors.emplace_back(name, weights.get(name).clone());
    tensors.emplace_back("fusion.blocks.0.attn_gate", Tensor::zeros({1}, DType::i32));
    save_safetensors((dtype / "model.safetensors").string(), tensors);
  }
  CHECK_THROWS_WITH(load_model(dtype.string(), store), Contains("'fusion.blocks.0.attn_gate' has dtype"));

  CHECK_THROWS_WITH(load_model((dir.path / "absent").string(), store), Contains("not a folder"));
  const fs::path no_config = dir.path / "no-config";
  fs::create_directories(no_config);
  CHECK_THROWS_WITH(load_model(no_config.string(), store), Contains("config.json is missing"));
  const fs::path broken = dir.path / "broken";
  fs::create_directories(broken);
  std::ofstream(broken / "config.json") << "{\"model_type\": ";
  CHECK_THROWS_WITH(load_model(broken.string(), store), Contains("config.json"));
}
