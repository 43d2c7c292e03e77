// Activation recomputation: region marks, gradients bit-identical to the plain backward, a lower
// planned peak, and no change at all with recomputation off.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "language/decoder/decoder_lm.h"
#include "modules/exec/executor.h"
#include "modules/graph/autograd.h"
#include "modules/graph/ops.h"
#include "modules/graph/recompute.h"
#include "modules/nn/parameter_store.h"
#include "modules/random/rng.h"
#include "vision/vision_layers.h"

using namespace hanvit;

namespace {

// Records a model's loss on `g`; the inputs it creates are bound from `inputs` by name.
using BuildLoss = std::function<Var(Graph&)>;

struct TrainingRun {
  double loss = 0;
  std::map<std::string, std::vector<double>> grads;  // by parameter name
  size_t forward_nodes = 0, nodes = 0, peak_bytes = 0;
  std::vector<int> kept;     // forward values still alive when the backward starts
  std::vector<int> regions;  // by node id, forward nodes only
};

// Records the loss (with recomputation on or off), its backward, and runs both once on the CPU
// with a poisoned arena.
TrainingRun train_once(const BuildLoss& build, bool recompute, const ParameterStore& store,
                       const std::map<std::string, Tensor>& inputs) {
  Graph g;
  g.set_recompute(recompute);
  Var loss = build(g);
  TrainingRun run;
  run.forward_nodes = g.size();
  for (size_t id = 0; id < g.size(); ++id) run.regions.push_back(g.node(static_cast<int>(id)).region);
  Gradients grads = backward(loss);
  run.nodes = g.size();
  std::vector<Var> outputs{loss};
  for (const auto& [name, grad] : grads.by_name) outputs.push_back(grad);
  Executor exec(g, cpu_backend(), outputs, {.poison = true});
  store.bind_all(exec, g);
  for (const auto& [name, value] : inputs) exec.bind(name, value);
  exec.run();
  run.loss = exec.value(loss).to_f64()[0];
  for (const auto& [name, grad] : grads.by_name) run.grads[name] = exec.value(grad).to_f64();
  run.peak_bytes = exec.planned_peak_bytes();
  const std::vector<int>& order = exec.order();
  int backward_start = 0;
  while (order[static_cast<size_t>(backward_start)] < static_cast<int>(run.forward_nodes)) ++backward_start;
  for (const Executor::Placement& p : exec.placements())
    if (p.node < static_cast<int>(run.forward_nodes) && p.last_step >= backward_start) run.kept.push_back(p.node);
  return run;
}

// Every gradient of `on` equals the one of `off` exactly, and all are finite.
void require_identical_gradients(const TrainingRun& on, const TrainingRun& off) {
  REQUIRE(on.grads.size() == off.grads.size());
  REQUIRE_FALSE(on.grads.empty());
  CHECK(on.loss == off.loss);
  for (const auto& [name, expected] : off.grads) {
    INFO(name);
    REQUIRE(on.grads.count(name) == 1);
    const std::vector<double>& got = on.grads.at(name);
    REQUIRE(got.size() == expected.size());
    size_t differing = 0, non_finite = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      differing += got[i] != expected[i];
      non_finite += !std::isfinite(got[i]);
    }
    CHECK(non_finite == 0);
    CHECK(differing == 0);
  }
}

Tensor uniform_tensor(const Shape& shape, uint64_t seed, double low, double high) {
  Rng rng(seed);
  std::vector<double> values(static_cast<size_t>(numel(shape)));
  for (double& v : values) v = low + (high - low) * rng.uniform();
  return Tensor::from_values(shape, values);
}

Tensor token_tensor(const Shape& shape, uint64_t seed, int vocab) {
  Rng rng(seed);
  std::vector<int32_t> values(static_cast<size_t>(numel(shape)));
  for (int32_t& v : values) v = rng.between(0, vocab - 1);
  return Tensor::from_vector<int32_t>(shape, values);
}

// config.json of a 3-layer decoder of width 32 (llama with GQA, or gpt2).
const char* tiny_decoder_config(bool llama) {
  if (llama)
    return R"({"model_type": "llama", "vocab_size": 48, "hidden_size": 32, "intermediate_size": 64,
               "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2})";
  return R"({"model_type": "gpt2", "vocab_size": 48, "n_embd": 32, "n_layer": 3, "n_head": 4, "n_positions": 32})";
}

Var mean_square(Var y) { return mul_scalar(sum_all(mul(y, y)), 1.0 / static_cast<double>(numel(y.shape()))); }

// A hand-built block: x + layer_norm(dropout(gelu(x w))) with a nested scope around the matmul.
Var toy_block(Graph& g, Var x, int index) {
  RecomputeScope scope(g);
  const std::string prefix = "block" + std::to_string(index) + ".";
  const int64_t c = x.dim(-1);
  Var h;
  {
    RecomputeScope inner(g);
    h = matmul(x, g.parameter(prefix + "w", {c, c}));
  }
  h = dropout(gelu_erf(h), 0.25, 1000 + static_cast<uint64_t>(index));
  return x + layer_norm(h, g.parameter(prefix + "ln.weight", {c}), g.parameter(prefix + "ln.bias", {c}));
}

}  // namespace

TEST_CASE("recompute/scopes mark one region per outermost scope, only with recomputation on", "[recompute]") {
  Graph g;
  g.set_recompute(true);
  Var x = g.input("x", {2, 4});
  Var y = toy_block(g, x, 0);
  Var z = toy_block(g, y, 1);
  const int per_block = z.id() - y.id();
  CHECK(per_block == 8);  // 3 parameters + matmul, gelu, dropout, layer_norm, add
  for (int id = 0; id < static_cast<int>(g.size()); ++id) {
    const Node& node = g.node(id);
    INFO(Var(&g, id).str());
    const bool leaf = node.op == OpKind::input || node.op == OpKind::parameter;
    const int expected = leaf ? 0 : (id <= y.id() ? 1 : 2);  // the nested scope opens no region of its own
    CHECK(node.region == expected);
  }
  CHECK(g.region() == 0);

  Graph off;
  toy_block(off, off.input("x", {2, 4}), 0);
  Graph inference(false);
  inference.set_recompute(true);
  toy_block(inference, inference.input("x", {2, 4}), 0);
  for (const Graph* graph : {&off, &inference})
    for (int id = 0; id < static_cast<int>(graph->size()); ++id) CHECK(graph->node(id).region == 0);
}

TEST_CASE("recompute/hand-built blocks with dropout: same gradients, outputs kept, internals recomputed",
          "[recompute]") {
  const int64_t rows = 16, c = 32;
  const int blocks = 3;
  ParameterStore store(3);
  for (int i = 0; i < blocks; ++i) {
    const std::string prefix = "block" + std::to_string(i) + ".";
    store.set(prefix + "w", uniform_tensor({c, c}, 10 + i, -0.3, 0.3));
    store.set(prefix + "ln.weight", uniform_tensor({c}, 20 + i, 0.5, 1.5));
    store.set(prefix + "ln.bias", uniform_tensor({c}, 30 + i, -0.1, 0.1));
  }
  const std::map<std::string, Tensor> inputs{{"x", uniform_tensor({rows, c}, 1, -1.0, 1.0)}};
  BuildLoss build = [&](Graph& g) {
    Var x = g.input("x", {rows, c});
    for (int i = 0; i < blocks; ++i) x = toy_block(g, x, i);
    return mean_square(x);
  };
  const TrainingRun off = train_once(build, false, store, inputs);
  const TrainingRun on = train_once(build, true, store, inputs);
  require_identical_gradients(on, off);
  Graph untouched;  // never told about recomputation: the graph as before the feature
  backward(build(untouched));
  CHECK(untouched.size() == off.nodes);
  CHECK(on.forward_nodes == off.forward_nodes);
  // Per block, matmul, gelu, dropout and layer_norm are recorded again; the residual add is the
  // block's output (read by the next block or the loss) and is not.
  CHECK(on.nodes == off.nodes + 4 * blocks);
  CHECK(on.peak_bytes < off.peak_bytes);
}

TEST_CASE("recompute/ViT encoder layers: gradients bit-identical, originals die in the forward, lower peak",
          "[recompute]") {
  // 4 ViT layers, batch 8, 64 tokens, width 128.
  const int64_t batch = 8, tokens = 64, width = 128;
  vision::VisionConfig config;
  config.hidden_size = width;
  config.num_heads = 4;
  config.intermediate_size = 4 * width;
  ModuleList<vision::EncoderLayer> layers;
  for (int i = 0; i < 4; ++i) layers.push_back(std::make_shared<vision::EncoderLayer>(config));
  ParameterStore store(5);
  store.initialize(layers);
  const std::map<std::string, Tensor> inputs{{"x", uniform_tensor({batch, tokens, width}, 2, -1.0, 1.0)}};
  BuildLoss build = [&](Graph& g) {
    Var x = g.input("x", {batch, tokens, width});  // (B, S, C)
    for (const auto& layer : layers) x = layer->forward(x);
    return mean_square(x);
  };
  const TrainingRun off = train_once(build, false, store, inputs);
  const TrainingRun on = train_once(build, true, store, inputs);
  require_identical_gradients(on, off);
  CHECK(on.forward_nodes == off.forward_nodes);
  CHECK(on.nodes > off.nodes);
  for (int region : off.regions) CHECK(region == 0);
  std::vector<int> seen;
  for (int region : on.regions)
    if (region != 0 && (seen.empty() || seen.back() != region)) seen.push_back(region);
  CHECK(seen == std::vector<int>{1, 2, 3, 4});
  // Of the layers' values, only each layer's output (the next layer's input, or the loss's)
  // outlives the forward; without recomputation, every value some backward rule reads does.
  auto kept_in_layers = [&](const TrainingRun& run) {
    return std::count_if(run.kept.begin(), run.kept.end(),
                         [&](int id) { return on.regions[static_cast<size_t>(id)] != 0; });
  };
  CHECK(kept_in_layers(on) == 4);
  CHECK(kept_in_layers(off) > 4 * 8);
  CHECK(on.peak_bytes < off.peak_bytes * 3 / 4);
  WARN("4 ViT layers (B 8, S 64, C 128): planned peak " << off.peak_bytes << " bytes without recomputation, "
                                                        << on.peak_bytes << " with");
}

TEST_CASE("recompute/decoder layers (llama, gpt2): gradients bit-identical, lower peak", "[recompute]") {
  const int64_t batch = 2, length = 12, vocab = 48;
  for (const char* type : {"llama", "gpt2"}) {
    INFO(type);
    const bool llama = std::string(type) == "llama";
    language::DecoderLM model(
        language::DecoderConfig::from_json(nlohmann::json::parse(tiny_decoder_config(llama)), type));
    ParameterStore store(9);
    store.initialize(model);
    std::vector<int32_t> positions(static_cast<size_t>(length));
    for (int64_t t = 0; t < length; ++t) positions[static_cast<size_t>(t)] = static_cast<int32_t>(t);
    const std::map<std::string, Tensor> inputs{{"ids", token_tensor({batch, length}, 3, static_cast<int>(vocab))},
                                               {"targets", token_tensor({batch * length}, 4, static_cast<int>(vocab))},
                                               {"positions", Tensor::from_vector<int32_t>({length}, positions)}};
    BuildLoss build = [&](Graph& g) {
      language::DecoderInputs in;
      in.ids = g.input("ids", {batch, length}, DType::i32);
      in.positions = g.input("positions", {length}, DType::i32);
      Var logits = model.forward(in).logits;  // (B, T, V)
      return cross_entropy(view(logits, {batch * length, vocab}), g.input("targets", {batch * length}, DType::i32));
    };
    const TrainingRun off = train_once(build, false, store, inputs);
    const TrainingRun on = train_once(build, true, store, inputs);
    require_identical_gradients(on, off);
    CHECK(on.forward_nodes == off.forward_nodes);
    CHECK(on.peak_bytes < off.peak_bytes);
  }
}
