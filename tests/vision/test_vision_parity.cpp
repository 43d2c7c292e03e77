// Vision towers against Hugging Face transformers (ViTModel, ViTForImageClassification, CLIPVisionModel,
// CLIPModel, SiglipVisionModel, SiglipModel) on fixed images, and fresh towers that learn.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>

#include "tests/support/model_test_support.h"
#include "modules/exec/executor.h"
#include "modules/graph/autograd.h"
#include "modules/graph/ops.h"
#include "modules/io/safetensors.h"
#include "modules/nn/linear.h"
#include "modules/optim/optimizer.h"
#include "vision/load_vision.h"

using namespace hanvit;
using namespace hanvit::testing;
using namespace hanvit::vision;
namespace fs = std::filesystem;

namespace {

const fs::path kVisionData = fs::path(HANVIT_TEST_DATA) / "vision";

VisionConfig tiny_config(VisionFamily family) {
  VisionConfig config;
  config.family = family;
  config.image_size = 16;
  config.patch_size = 4;
  config.hidden_size = 32;
  config.num_layers = 2;
  config.num_heads = 4;
  config.intermediate_size = 64;
  return config;
}

}  // namespace

TEST_CASE("vision/towers equal Hugging Face: last hidden state and pooled output", "[vision]") {
  struct Case {
    const char* folder;
    int64_t tokens;
    bool pooled;
  };
  for (const Case& c : {Case{"vit", 17, true}, Case{"vit_classifier", 17, false}, Case{"clip", 17, true},
                        Case{"clip_full", 17, true}, Case{"siglip", 16, true}, Case{"siglip_full", 16, true}}) {
    INFO(c.folder);
    ParameterStore store;
    LoadedVision loaded = load_vision((kVisionData / c.folder).string(), store, "tower.");
    CHECK(loaded.model->num_tokens() == c.tokens);
    CHECK(loaded.model->hidden_size() == 32);
    SafetensorsFile expected((kVisionData / c.folder / "expected.safetensors").string());
    const Tensor pixels = expected.get("pixel_values");  // (2, 3, 32, 32)
    Graph g(false);
    auto root = std::make_shared<Group>("Root");
    root->register_module("tower", loaded.model);
    VisionOutputs out = loaded.model->forward(g.input("pixels", pixels.shape()));
    REQUIRE(out.pooled.defined() == c.pooled);
    REQUIRE(expected.contains("pooler_output") == c.pooled);
    std::vector<Var> outputs = {out.last_hidden};
    if (c.pooled) outputs.push_back(out.pooled);
    Executor exec(g, cpu_backend(), outputs);
    store.bind_all(exec, g);
    exec.bind("pixels", pixels);
    exec.run();
    require_close_to_scale(exec.value(out.last_hidden), expected.get("last_hidden_state"));
    if (c.pooled) require_close_to_scale(exec.value(out.pooled), expected.get("pooler_output"));
  }
}

TEST_CASE("vision/fresh towers learn to tell bright images from dark ones", "[vision]") {
  for (VisionFamily family : {VisionFamily::vit, VisionFamily::clip, VisionFamily::siglip}) {
    const VisionConfig config = tiny_config(family);
    INFO(config.to_json().dump());
    Group root("Classifier");
    auto tower = root.register_module("tower", std::make_shared<VisionTransformer>(config));
    auto classifier = root.register_module("classifier", std::make_shared<Linear>(config.hidden_size, 2));
    ParameterStore store(7);
    store.initialize(root);

    // 8 images of noise around -0.5 (label 0) or +0.5 (label 1).
    const int64_t batch = 8, side = config.image_size;
    std::vector<double> pixels;
    std::vector<int32_t> labels;
    uint64_t state = 12345;
    for (int64_t b = 0; b < batch; ++b) {
      labels.push_back(static_cast<int32_t>(b % 2));
      for (int64_t i = 0; i < 3 * side * side; ++i) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        const double noise = static_cast<double>(state >> 11) / 9007199254740992.0 - 0.5;
        pixels.push_back((b % 2 ? 0.5 : -0.5) + noise);
      }
    }
    Graph g;
    VisionOutputs out = tower->forward(g.input("pixels", {batch, 3, side, side}));
    Var loss = cross_entropy(classifier->forward(out.pooled), g.input("labels", {batch}, DType::i32));
    Gradients grads = backward(loss);

    std::vector<Var> outputs = {loss};
    std::vector<ParamRef> params;
    for (const ParameterInfo& p : root.named_parameters()) {
      outputs.push_back(grads[p.name]);
      params.push_back({p.name, store.get(p.name), Tensor::zeros(p.shape)});
    }
    Executor exec(g, cpu_backend(), outputs);
    store.bind_all(exec, g);
    exec.bind("pixels", Tensor::from_values({batch, 3, side, side}, pixels));
    exec.bind("labels", Tensor::from_vector<int32_t>({batch}, labels));
    AdamW optimizer({ParamGroup{params}});
    double first = 0.0, last = 0.0;
    for (int step = 0; step < 20; ++step) {
      exec.run();
      last = exec.value(loss).item();
      if (step == 0) first = last;
      REQUIRE(std::isfinite(last));
      for (size_t i = 0; i < params.size(); ++i) params[i].grad.copy_from(exec.value(outputs[i + 1]));
      optimizer.step(1e-3);
    }
    INFO("loss " << first << " -> " << last);
    CHECK(last < 0.5 * first);
  }
}
