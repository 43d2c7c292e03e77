// The demo's vision pretraining: the tower learns each cell's colour and shape, only the tower changes, the
// heads leave no trace; a tower whose patches do not tile the 3 x 3 grid, too few images and a corrupt image are
// refused with a message naming them.
#include <catch2/catch.hpp>
#include <fstream>

#include "apps/train/cell_pretraining.h"
#include "apps/train/demo_setup.h"
#include "datasets/image/processor_config.h"
#include "datasets/synth/writer.h"
#include "tests/support/model_test_support.h"

using namespace hanvit;
using namespace hanvit::app;
using hanvit::testing::TempDir;

namespace {

// 256 training and 64 validation images of 24 px (8 px cells), made once per test run.
const std::filesystem::path& cell_data() {
  static const TempDir dir("cell-pretraining-data");
  static const bool written = [] {
    data::SynthOptions synth;
    synth.out = dir.path;
    synth.train = 256;
    synth.val = 64;
    synth.test = 0;
    synth.size = 24;
    synth.seed = 5;
    data::write_synth_dataset(synth);
    return true;
  }();
  (void)written;
  return dir.path;
}

CellPretrainingOptions options(int64_t steps) {
  CellPretrainingOptions o;
  o.data_dir = cell_data();
  o.data_seed = 5;
  o.canvas = 24;
  o.train_images = 256;
  o.val_images = 64;
  o.steps = steps;
  o.batch = 16;
  o.lr = 3e-3;
  o.seed = 1;
  o.quiet = true;
  return o;
}

// The demo's model at 24 px (one 8 px patch per cell), width 32, one layer each, composed into `store`; its
// configs go to `dir`.
fusion::ComposedModel tiny_demo_model(const std::filesystem::path& dir, ParameterStore& store) {
  DemoOptions demo;
  demo.out = dir.string();
  demo.image_size = 24;
  demo.width = 32;
  demo.vision_layers = 1;
  demo.layers = 1;
  demo.vocab = 64;
  return compose_demo_model(demo, {}, store);
}

data::PreprocessOptions preprocess_of(const fusion::ComposedModel& composed) {
  return data::processor_options_from_json(nlohmann::json::parse(composed.preprocessor_json), "test");
}

}  // namespace

TEST_CASE("cell pretraining/the tower learns the cells; nothing but the tower changes", "[train]") {
  TempDir dir("cell-pretraining-model");
  ParameterStore store(3);
  const fusion::ComposedModel composed = tiny_demo_model(dir.path, store);
  const data::PreprocessOptions preprocess = preprocess_of(composed);
  std::map<std::string, std::vector<double>> before;
  for (const std::string& name : store.names()) before[name] = store.get(name).to_f64();

  const CellPretrainingResult result =
      pretrain_vision_on_cells(*composed.loaded.model, store, preprocess, options(300));
  INFO("loss " << result.final_loss << ", shape " << result.shape_accuracy << ", colour " << result.colour_accuracy);
  CHECK(result.colour_accuracy > 0.8);  // seven colours: chance is 1/7
  CHECK(result.shape_accuracy > 0.3);   // six shapes: chance is 1/6 (8 px cells: 4-7 px shapes)
  CHECK(result.seconds > 0.0);
  CHECK(store.names().size() == before.size());  // the heads are gone
  // Every parameter of the tower changes except the pooler, which the cell tokens do not pass through;
  // the projector, the fusion blocks and the decoder stay bit for bit.
  for (const auto& [name, values] : before) {
    INFO(name);
    const bool tower = name.rfind("vision.", 0) == 0 && name.rfind("vision.pooler.", 0) != 0;
    CHECK((store.get(name).to_f64() != values) == tower);
  }
}

TEST_CASE("cell pretraining/refuses a tower whose patches do not tile the grid, and too few images", "[train]") {
  TempDir dir("cell-pretraining-refused");
  std::ofstream(dir.path / "vision.json") << R"({"model_type": "vit", "hidden_size": 32, "num_hidden_layers": 1,
      "num_attention_heads": 1, "intermediate_size": 64, "image_size": 32, "patch_size": 8})";
  std::ofstream(dir.path / "language.json") << R"({"model_type": "llama", "vocab_size": 64, "hidden_size": 32,
      "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 1, "max_position_embeddings": 32})";
  fusion::ComposeOptions compose;
  compose.vision = (dir.path / "vision.json").string();
  compose.language = (dir.path / "language.json").string();
  compose.fusion_spec = "gated:every=1,projector=linear";
  ParameterStore store;
  const fusion::ComposedModel composed = fusion::compose_model(compose, store);
  const data::PreprocessOptions preprocess = preprocess_of(composed);
  CHECK_THROWS_WITH(pretrain_vision_on_cells(*composed.loaded.model, store, preprocess, options(1)),
                    Catch::Contains("4 patches per side do not tile a 3 x 3 grid"));

  ParameterStore demo_store;
  const fusion::ComposedModel tiled = tiny_demo_model(dir.path, demo_store);
  CellPretrainingOptions few = options(1);
  few.train_images = 8;
  CHECK_THROWS_WITH(pretrain_vision_on_cells(*tiled.loaded.model, demo_store, preprocess, few),
                    Catch::Contains("at least one batch of training images"));
}

TEST_CASE("cell pretraining/a corrupt image is named", "[train]") {
  TempDir dir("cell-pretraining-corrupt");
  std::filesystem::copy(cell_data(), dir.path / "data", std::filesystem::copy_options::recursive);
  const std::filesystem::path broken = dir.path / "data" / "val" / "images" / "000002.png";
  std::ofstream(broken, std::ios::binary | std::ios::trunc) << "not a png";
  ParameterStore store(3);
  const fusion::ComposedModel composed = tiny_demo_model(dir.path, store);
  CellPretrainingOptions o = options(1);
  o.data_dir = dir.path / "data";
  CHECK_THROWS_WITH(pretrain_vision_on_cells(*composed.loaded.model, store, preprocess_of(composed), o),
                    Catch::Contains(broken.string()));
}
