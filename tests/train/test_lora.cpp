// LoRA adapters: float64 parity on one Linear (both layouts, dropout), fresh adapters change nothing,
// merging equals the adapted model, training only the adapters, adapter files and target errors.
#include <map>

#include "fusion/training_loss.h"
#include "kernels/cpu/elementwise.h"
#include "modules/graph/autograd.h"
#include "modules/nn/lora.h"
#include "modules/nn/name_patterns.h"
#include "modules/optim/optimizer.h"
#include "tests/fusion/fusion_test_util.h"

using namespace hanvit;
using namespace hanvit::fusion;
using namespace hanvit::fusion::testing;
using Catch::Matchers::Contains;
using hanvit::testing::TempDir;

namespace {

using Vec = std::vector<double>;

struct Container : Module {
  Container() : Module("Container") {}
};

// Logits (B, T, V) as model_logits computes them, with `adapter` installed when it is set.
Tensor logits_with(const VisionLanguageModel& model, const ParameterStore& store, const Tensor& pixels,
                   const Tensor& ids, const Graph::LinearAdapter& adapter) {
  Graph g(false);
  g.set_linear_adapter(adapter);
  TextInputs in;
  in.ids = g.input("ids", ids.shape(), DType::i32);
  in.positions = g.input("positions", {ids.shape()[1]}, DType::i32);
  in.visual = model.visual_kv(model.encode(g.input("pixels", pixels.shape())));
  Var logits = model.forward(in).logits;
  Executor exec(g, cpu_backend(), {logits});
  store.bind_all(exec, g);
  exec.bind("ids", ids);
  exec.bind("positions", positions_tensor(0, ids.shape()[1]));
  exec.bind("pixels", pixels);
  exec.run();
  return exec.value(logits).clone();
}

// Adapter parameters with B nonzero too: U(-0.3, 0.3) for both, so the adapters change the outputs.
void randomize_adapters(const Module& model, const LoraConfig& config, ParameterStore& store) {
  for (const ParameterInfo& p : lora_parameters(model, config)) store.initialize(p.name, p.shape, Init::uniform(0.3));
}

// x (N, in) W^T + b + s * (x * keep) A^T B^T, W (out, in) or (in, out); keep (N*in) or empty (all kept).
Vec lora_linear_ref(const Vec& x, const Vec& w, const Vec& bias, const Vec& a, const Vec& b, const Vec& keep,
                    int64_t in, int64_t out, int64_t rank, double s, bool in_out) {
  const int64_t rows = static_cast<int64_t>(x.size()) / in;
  Vec y(static_cast<size_t>(rows * out));
  for (int64_t n = 0; n < rows; ++n) {
    Vec low(static_cast<size_t>(rank), 0.0);  // (x * keep) A^T
    for (int64_t k = 0; k < rank; ++k)
      for (int64_t i = 0; i < in; ++i) {
        const double xi = x[n * in + i] * (keep.empty() ? 1.0 : keep[n * in + i]);
        low[k] += xi * a[k * in + i];
      }
    for (int64_t o = 0; o < out; ++o) {
      double v = bias[o];
      for (int64_t i = 0; i < in; ++i) v += x[n * in + i] * (in_out ? w[i * out + o] : w[o * in + i]);
      for (int64_t k = 0; k < rank; ++k) v += s * low[k] * b[o * rank + k];
      y[n * out + o] = v;
    }
  }
  return y;
}

// The fixture's pixels, ids and next-token targets (the first two positions are a prompt).
struct Batch {
  Tensor pixels, ids;
  std::vector<int32_t> targets;
  explicit Batch(const std::string& fixture) {
    SafetensorsFile expected((kFusionData / fixture / "expected.safetensors").string());
    pixels = expected.get("pixel_values").clone();
    ids = expected.get("input_ids").clone();
    const int64_t batch = ids.shape()[0], length = ids.shape()[1];
    targets.assign(static_cast<size_t>(batch * length), -100);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 2; t + 1 < length; ++t)
        targets[static_cast<size_t>(b * length + t)] = ids.data<int32_t>()[b * length + t + 1];
  }
};

const std::vector<std::string> kGatedTargets = {"language.*.self_attn.?_proj", "fusion.blocks.*.?_proj",
                                                "vision.*.q_proj", "*.mlp.down_proj"};

}  // namespace

TEST_CASE("lora/adapted Linear equals a float64 reference, both weight layouts, untargeted Linears unchanged",
          "[lora]") {
  for (WeightLayout layout : {WeightLayout::out_in, WeightLayout::in_out}) {
    Container root;
    auto proj = root.register_module("proj", std::make_shared<Linear>(7, 5, true, layout));
    auto other = root.register_module("other", std::make_shared<Linear>(7, 5, true, layout));
    const LoraConfig config{.rank = 3, .alpha = 4.5, .targets = {"pro?"}};
    ParameterStore store(11);
    store.initialize(root);
    randomize_adapters(root, config, store);
    REQUIRE(store.contains("proj.lora_A.weight"));
    CHECK(store.get("proj.lora_A.weight").shape() == Shape{3, 7});
    CHECK(store.get("proj.lora_B.weight").shape() == Shape{5, 3});
    CHECK_FALSE(store.contains("other.lora_A.weight"));

    Graph g;
    g.set_linear_adapter(lora_adapter(root, config));
    Var x = g.input("x", {2, 3, 7});
    Var y = proj->forward(x), z = other->forward(x);
    CHECK(y.shape() == Shape{2, 3, 5});
    Executor exec(g, cpu_backend(), {y, z}, {.poison = true});
    store.bind_all(exec, g);
    std::vector<double> xs(42);
    for (size_t i = 0; i < xs.size(); ++i) xs[i] = std::sin(0.7 * static_cast<double>(i) + 0.3);
    exec.bind("x", Tensor::from_values({2, 3, 7}, xs));
    exec.run();

    const bool in_out = layout == WeightLayout::in_out;
    auto get = [&](const std::string& name) { return store.get(name).to_f64(); };
    const Vec want = lora_linear_ref(xs, get("proj.weight"), get("proj.bias"), get("proj.lora_A.weight"),
                                     get("proj.lora_B.weight"), {}, 7, 5, 3, 4.5 / 3, in_out);
    const Vec plain = lora_linear_ref(xs, get("other.weight"), get("other.bias"), Vec(21, 0.0), Vec(15, 0.0), {}, 7, 5,
                                      3, 0.0, in_out);
    require_close_to_scale(exec.value(y), Tensor::from_values({2, 3, 5}, want), 1e-5);
    require_close_to_scale(exec.value(z), Tensor::from_values({2, 3, 5}, plain), 1e-5);
    CHECK(g.find_leaf("other.lora_A.weight") < 0);
  }
}

TEST_CASE("lora/dropout runs in training graphs only, with a mask drawn from the seed, the step and the path",
          "[lora]") {
  Container root;
  auto proj = root.register_module("proj", std::make_shared<Linear>(6, 4));
  const LoraConfig config{.rank = 2, .alpha = 2, .dropout = 0.5, .targets = {"proj"}, .seed = 9};
  ParameterStore store(3);
  store.initialize(root);
  randomize_adapters(root, config, store);
  std::vector<double> xs(24);
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = std::cos(1.3 * static_cast<double>(i));

  // Output of proj on x (4, 6) and the dropout seeds recorded in the graph.
  auto run = [&](bool training, uint64_t step) {
    Graph g(training);
    g.set_linear_adapter(lora_adapter(root, config, step));
    Var y = proj->forward(g.input("x", {4, 6}));
    proj->forward(g.input("x2", {4, 6}));  // a second use of the same Linear
    std::vector<uint64_t> seeds;
    for (size_t id = 0; id < g.size(); ++id)
      if (g.node(static_cast<int>(id)).op == OpKind::dropout) {
        const auto& attrs = std::get<DropoutAttrs>(g.node(static_cast<int>(id)).attrs);
        CHECK(attrs.p == 0.5);
        seeds.push_back(attrs.seed);
      }
    Executor exec(g, cpu_backend(), {y});
    store.bind_all(exec, g);
    exec.bind("x", Tensor::from_values({4, 6}, xs));
    exec.run();
    return std::pair{exec.value(y).to_f64(), seeds};
  };
  auto get = [&](const std::string& name) { return store.get(name).to_f64(); };
  auto reference = [&](const Vec& keep) {
    return lora_linear_ref(xs, get("proj.weight"), get("proj.bias"), get("proj.lora_A.weight"),
                           get("proj.lora_B.weight"), keep, 6, 4, 2, 1.0, false);
  };

  auto [inference, no_seeds] = run(false, 0);
  CHECK(no_seeds.empty());
  require_close_to_scale(Tensor::from_values({4, 4}, inference), Tensor::from_values({4, 4}, reference({})), 1e-5);

  auto [trained, seeds] = run(true, 0);
  REQUIRE(seeds.size() == 2u);
  CHECK(seeds[0] == seeds[1]);
  Vec keep(24);
  int dropped = 0;
  for (int64_t i = 0; i < 24; ++i) {
    keep[i] = cpu::dropout_keeps(seeds[0], i, 0.5f) ? 2.0 : 0.0;
    dropped += keep[i] == 0.0;
  }
  CHECK(dropped > 0);
  CHECK(dropped < 24);
  require_close_to_scale(Tensor::from_values({4, 4}, trained), Tensor::from_values({4, 4}, reference(keep)), 1e-5);
  CHECK(run(true, 0).second[0] == seeds[0]);
  CHECK(run(true, 1).second[0] != seeds[0]);
}

TEST_CASE("lora/fresh adapters leave the logits bit-identical; trained ones change them", "[lora]") {
  ParameterStore store;
  LoadedModel loaded = load_model((kFusionData / "gated").string(), store);
  const VisionLanguageModel& model = *loaded.model;
  const Batch batch("gated");
  const LoraConfig config{.rank = 4, .alpha = 8, .targets = kGatedTargets};
  const Tensor plain = logits_with(model, store, batch.pixels, batch.ids, {});

  for (const ParameterInfo& p : lora_parameters(model, config)) store.initialize(p.name, p.shape, p.init);
  CHECK(store.get("language.model.layers.0.self_attn.q_proj.lora_A.weight").shape() == Shape{4, 48});
  CHECK(store.get("language.model.layers.0.self_attn.q_proj.lora_B.weight").to_f64() == Vec(48 * 4, 0.0));
  const Tensor fresh = logits_with(model, store, batch.pixels, batch.ids, lora_adapter(model, config));
  CHECK(fresh.to_f64() == plain.to_f64());

  randomize_adapters(model, config, store);
  const Tensor adapted = logits_with(model, store, batch.pixels, batch.ids, lora_adapter(model, config));
  CHECK(adapted.to_f64() != plain.to_f64());
}

TEST_CASE("lora/merged weights give the adapted logits without the adapter (LLaMA and GPT-2 layouts)", "[lora]") {
  struct Case {
    std::string fixture;
    std::vector<std::string> targets;
  };
  for (const Case& c :
       {Case{"gated", kGatedTargets},
        Case{"ved", {"decoder.*.c_attn", "decoder.*.mlp.c_fc", "decoder.*.q_attn", "encoder.*.query"}}}) {
    INFO(c.fixture);
    ParameterStore store;
    LoadedModel loaded = load_model((kFusionData / c.fixture).string(), store);
    const VisionLanguageModel& model = *loaded.model;
    const Batch batch(c.fixture);
    const LoraConfig config{.rank = 4, .alpha = 8, .targets = c.targets};
    randomize_adapters(model, config, store);
    const Tensor plain = logits_with(model, store, batch.pixels, batch.ids, {});
    const Tensor adapted = logits_with(model, store, batch.pixels, batch.ids, lora_adapter(model, config));
    CHECK(adapted.to_f64() != plain.to_f64());

    merge_lora(model, config, store);
    for (const std::string& name : store.names()) CHECK(name.find("lora_") == std::string::npos);
    store.require_match(model);
    require_close_to_scale(logits_with(model, store, batch.pixels, batch.ids, {}), adapted, 1e-4);
  }
}

TEST_CASE("lora/training with the base frozen moves only the adapters and lowers the loss", "[lora]") {
  ParameterStore store;
  LoadedModel loaded = load_model((kFusionData / "gated").string(), store);
  const VisionLanguageModel& model = *loaded.model;
  const Batch batch("gated");
  const int64_t rows = batch.ids.shape()[0], length = batch.ids.shape()[1];
  const LoraConfig config{.rank = 4, .alpha = 8, .targets = kGatedTargets};
  const std::vector<ParameterInfo> adapters = lora_parameters(model, config);
  for (const ParameterInfo& p : adapters) store.initialize(p.name, p.shape, p.init);

  Graph g;
  g.set_frozen([](const std::string& name) { return !matches_pattern(name, "*lora_*"); });
  g.set_linear_adapter(lora_adapter(model, config));
  TrainingInputs in;
  in.pixels = g.input("pixels", batch.pixels.shape());
  in.ids = g.input("ids", batch.ids.shape(), DType::i32);
  in.positions = g.input("positions", {length}, DType::i32);
  in.targets = g.input("targets", {rows * length}, DType::i32);
  Var loss = training_loss(model, in);
  Gradients grads = backward(loss);
  CHECK(grads.by_name.size() == adapters.size());
  for (const ParameterInfo& p : adapters) CHECK(grads.by_name.count(p.name) == 1u);

  std::vector<Var> outputs{loss};
  for (const auto& [name, grad] : grads.by_name) outputs.push_back(grad);
  Executor exec(g, cpu_backend(), outputs);
  store.bind_all(exec, g);
  exec.bind("pixels", batch.pixels);
  exec.bind("ids", batch.ids);
  exec.bind("positions", positions_tensor(0, length));
  exec.bind("targets", Tensor::from_vector<int32_t>({rows * length}, batch.targets));
  std::vector<ParamRef> params;
  size_t index = 1;
  for (const auto& [name, grad] : grads.by_name)
    params.push_back({name, store.get(name), exec.value(outputs[index++])});

  std::map<std::string, Vec> before;
  for (const std::string& name : store.names()) before[name] = store.get(name).to_f64();
  AdamW optimizer(split_decay_groups(params, 0.0));
  double first = 0.0, last = 0.0;
  for (int step = 0; step < 20; ++step) {
    exec.run();
    last = exec.value(loss).to_f64()[0];
    if (step == 0) first = last;
    optimizer.step(1e-2);
  }
  INFO("loss " << first << " -> " << last);
  CHECK(last < 0.9 * first);
  for (const std::string& name : store.names()) {
    INFO(name);
    const bool moved = store.get(name).to_f64() != before[name];
    CHECK(moved == (name.find(".lora_") != std::string::npos));
  }
}

TEST_CASE("lora/adapter tensors and adapter_config.json as PEFT writes them", "[lora]") {
  ParameterStore store;
  LoadedModel loaded = load_model((kFusionData / "ved").string(), store);
  const VisionLanguageModel& model = *loaded.model;
  const LoraConfig config{.rank = 2, .alpha = 5, .dropout = 0.1, .targets = {"decoder.*.h.1.attn.c_attn"}};
  randomize_adapters(model, config, store);

  const std::vector<std::pair<std::string, Tensor>> state = lora_state(model, config, store);
  REQUIRE(state.size() == 2u);
  CHECK(state[0].first == "decoder.transformer.h.1.attn.c_attn.lora_A.weight");
  CHECK(state[1].first == "decoder.transformer.h.1.attn.c_attn.lora_B.weight");
  CHECK(state[0].second.shape() == Shape{2, 48});
  CHECK(state[1].second.shape() == Shape{144, 2});
  TempDir dir("lora");
  save_safetensors((dir.path / "adapter_model.safetensors").string(), state);
  SafetensorsFile saved((dir.path / "adapter_model.safetensors").string());
  for (const auto& [name, tensor] : state) CHECK(saved.get(name).to_f64() == tensor.to_f64());

  const nlohmann::json json = lora_adapter_config(model, config);
  CHECK(json.at("peft_type") == "LORA");
  CHECK(json.at("r") == 2);
  CHECK(json.at("lora_alpha") == 5.0);
  CHECK(json.at("lora_dropout") == 0.1);
  CHECK(json.at("fan_in_fan_out") == true);
  CHECK(json.at("target_modules") == nlohmann::json::array({"decoder.transformer.h.1.attn.c_attn"}));
}

TEST_CASE("lora/a pattern matching no Linear, bad configs and missing adapters are errors naming the input", "[lora]") {
  ParameterStore store;
  LoadedModel loaded = load_model((kFusionData / "gated").string(), store);
  const VisionLanguageModel& model = *loaded.model;
  REQUIRE_THROWS_WITH(lora_targets(model, {.targets = {"*.q_proj", "language.*.qq_proj"}}),
                      Contains("'language.*.qq_proj'") && Contains("matches no Linear") && Contains("q_proj"));
  REQUIRE_THROWS_WITH(lora_adapter(model, {.targets = {"*.weight"}}), Contains("'*.weight'"));
  REQUIRE_THROWS_WITH(lora_parameters(model, {.rank = 0, .targets = {"*"}}), Contains("rank") && Contains("0"));
  REQUIRE_THROWS_WITH(lora_targets(model, {.dropout = 1.0, .targets = {"*"}}), Contains("dropout"));
  REQUIRE_THROWS_WITH(lora_targets(model, {}), Contains("no target patterns"));

  const LoraConfig config{.rank = 4, .targets = {"fusion.blocks.*.q_proj"}};
  const std::vector<std::string> names_before = store.names();
  REQUIRE_THROWS_WITH(merge_lora(model, config, store), Contains("fusion.blocks.0.q_proj.lora_A.weight"));
  CHECK(store.names() == names_before);
  randomize_adapters(model, config, store);
  store.initialize("fusion.blocks.1.q_proj.lora_B.weight", {48, 2}, Init::zeros());
  const Vec weight_before = store.get("fusion.blocks.0.q_proj.weight").to_f64();
  REQUIRE_THROWS_WITH(merge_lora(model, config, store),
                      Contains("fusion.blocks.1.q_proj.lora_B.weight") && Contains("(48,2)") && Contains("(48,4)"));
  CHECK(store.get("fusion.blocks.0.q_proj.weight").to_f64() == weight_before);
  CHECK(store.contains("fusion.blocks.0.q_proj.lora_A.weight"));
  store.erase("fusion.blocks.0.q_proj.lora_A.weight");
  CHECK_FALSE(store.contains("fusion.blocks.0.q_proj.lora_A.weight"));
  REQUIRE_THROWS_WITH(store.erase("fusion.blocks.0.q_proj.lora_A.weight"),
                      Contains("'fusion.blocks.0.q_proj.lora_A.weight'"));
}
