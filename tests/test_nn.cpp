// nn modules: dotted names, float64-checked forwards, gradients, KV caches and the parameter store.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "modules/exec/executor.h"
#include "modules/graph/autograd.h"
#include "modules/graph/ops.h"
#include "modules/nn/attention.h"
#include "modules/nn/embedding.h"
#include "modules/nn/layer_norm.h"
#include "modules/nn/linear.h"
#include "modules/nn/mlp.h"
#include "modules/nn/parameter_store.h"
#include "modules/nn/rms_norm.h"
#include "modules/nn/swiglu_mlp.h"

using namespace hanvit;

namespace {

using Vec = std::vector<double>;

// A plain module to build trees with.
struct Container : Module {
  explicit Container(std::string type = "Container") : Module(std::move(type)) {}
};

// A graph, its bound inputs and a runner over a parameter store.
struct Bench {
  Graph g;
  std::vector<std::pair<std::string, Tensor>> inputs;
  std::mt19937_64 rng{42};

  Var input(const std::string& name, const Shape& shape) {
    std::uniform_real_distribution<double> dist(-1.0, 1.0);
    std::vector<float> data(static_cast<size_t>(numel(shape)));
    for (float& x : data) x = static_cast<float>(dist(rng));
    return bind(name, Tensor::from_vector<float>(shape, data));
  }
  Var bind(const std::string& name, const Tensor& t) {
    inputs.emplace_back(name, t);
    return g.input(name, t.shape(), t.dtype());
  }
  Vec value(const std::string& name) const {
    for (const auto& [n, t] : inputs)
      if (n == name) return t.to_f64();
    throw std::invalid_argument("no input " + name);
  }
  std::vector<Vec> run(const ParameterStore& store, const std::vector<Var>& outs) {
    Executor exec(g, cpu_backend(), outs, {.poison = true});
    store.bind_all(exec, g);
    for (const auto& [n, t] : inputs) exec.bind(n, t);
    exec.run();
    std::vector<Vec> result;
    result.reserve(outs.size());
    for (const Var& v : outs) result.push_back(exec.value(v).to_f64());
    return result;
  }
};

void require_close(const Vec& got, const Vec& want, double tol = 5e-5) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << ": got " << got[i] << ", want " << want[i]);
    REQUIRE(std::abs(got[i] - want[i]) <= tol * (1.0 + std::abs(want[i])));
  }
}

// Columns [begin, end) of every row of x (rows of `width` values).
Vec columns(const Vec& x, int64_t width, int64_t begin, int64_t end) {
  Vec out;
  for (size_t row = 0; row < x.size() / static_cast<size_t>(width); ++row)
    for (int64_t i = begin; i < end; ++i) out.push_back(x[row * width + i]);
  return out;
}

Vec param(const ParameterStore& store, const std::string& name) { return store.get(name).to_f64(); }

// x (N, in); w (out, in), or (in, out) when in_out; b (out) or empty -> (N, out)
Vec linear_ref(const Vec& x, const Vec& w, const Vec& b, int64_t in, int64_t out, bool in_out = false) {
  const int64_t n = static_cast<int64_t>(x.size()) / in;
  Vec y(static_cast<size_t>(n * out));
  for (int64_t r = 0; r < n; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double s = b.empty() ? 0.0 : b[o];
      for (int64_t i = 0; i < in; ++i) s += x[r * in + i] * (in_out ? w[i * out + o] : w[o * in + i]);
      y[r * out + o] = s;
    }
  return y;
}

Vec layer_norm_ref(const Vec& x, const Vec& w, const Vec& b, int64_t c, double eps) {
  Vec y(x.size());
  for (size_t r = 0; r < x.size() / c; ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < c; ++i) mean += x[r * c + i] / c;
    for (int64_t i = 0; i < c; ++i) var += (x[r * c + i] - mean) * (x[r * c + i] - mean) / c;
    for (int64_t i = 0; i < c; ++i) y[r * c + i] = (x[r * c + i] - mean) / std::sqrt(var + eps) * w[i] + b[i];
  }
  return y;
}

Vec rms_norm_ref(const Vec& x, const Vec& w, int64_t c, double eps) {
  Vec y(x.size());
  for (size_t r = 0; r < x.size() / c; ++r) {
    double ms = 0;
    for (int64_t i = 0; i < c; ++i) ms += x[r * c + i] * x[r * c + i] / c;
    for (int64_t i = 0; i < c; ++i) y[r * c + i] = x[r * c + i] / std::sqrt(ms + eps) * w[i];
  }
  return y;
}

double gelu_erf_ref(double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); }
double gelu_tanh_ref(double v) {
  return 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
}
double quick_gelu_ref(double v) { return v / (1.0 + std::exp(-1.702 * v)); }
double silu_ref(double v) { return v / (1.0 + std::exp(-v)); }

// Rotate-half RoPE in place on x laid out (B, T, heads, Dh).
void rope_ref(Vec& x, int64_t batch, int64_t length, int64_t heads, int64_t dh, const std::vector<int32_t>& positions,
              double theta, double position_scale) {
  const int64_t half = dh / 2;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < length; ++t)
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t base = ((b * length + t) * heads + h) * dh;
        for (int64_t i = 0; i < half; ++i) {
          double angle = positions[t] / position_scale * std::pow(theta, -2.0 * i / dh);
          double x1 = x[base + i], x2 = x[base + i + half];
          x[base + i] = x1 * std::cos(angle) - x2 * std::sin(angle);
          x[base + i + half] = x2 * std::cos(angle) + x1 * std::sin(angle);
        }
      }
}

struct AttnRefShape {
  int64_t batch, tq, tk, heads, kv_heads, dh;
};

// q (B, Tq, H*Dh), k and v (B, Tk, Hk*Dh), mask (B, Tk) or empty -> (B, Tq, H*Dh). Naive softmax;
// query t sees key s when s <= t + Tk - Tq under causal masking.
Vec attention_ref(const Vec& q, const Vec& k, const Vec& v, const std::vector<uint8_t>& mask, bool causal,
                  const AttnRefShape& s) {
  Vec out(static_cast<size_t>(s.batch * s.tq * s.heads * s.dh), 0.0);
  const int64_t group = s.heads / s.kv_heads;
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < s.heads; ++h)
      for (int64_t t = 0; t < s.tq; ++t) {
        const int64_t kh = h / group;
        const double* qrow = &q[((b * s.tq + t) * s.heads + h) * s.dh];
        Vec weights(static_cast<size_t>(s.tk), 0.0);
        double total = 0;
        for (int64_t j = 0; j < s.tk; ++j) {
          bool allowed = (mask.empty() || mask[b * s.tk + j]) && (!causal || j <= t + s.tk - s.tq);
          if (!allowed) continue;
          double dot = 0;
          for (int64_t d = 0; d < s.dh; ++d) dot += qrow[d] * k[((b * s.tk + j) * s.kv_heads + kh) * s.dh + d];
          weights[j] = std::exp(dot / std::sqrt(static_cast<double>(s.dh)));
          total += weights[j];
        }
        double* orow = &out[((b * s.tq + t) * s.heads + h) * s.dh];
        for (int64_t j = 0; j < s.tk; ++j)
          for (int64_t d = 0; d < s.dh; ++d)
            orow[d] += weights[j] / total * v[((b * s.tk + j) * s.kv_heads + kh) * s.dh + d];
      }
  return out;
}

std::vector<std::string> names_of(const Module& m) {
  std::vector<std::string> names;
  for (const ParameterInfo& p : m.named_parameters()) names.push_back(p.name);
  return names;
}

AttentionConfig llama_attention(int64_t dim, int64_t heads, int64_t kv_heads) {
  AttentionConfig c;
  c.dim = dim;
  c.num_heads = heads;
  c.num_kv_heads = kv_heads;
  c.causal = true;
  c.q_bias = c.k_bias = c.v_bias = c.o_bias = false;
  c.rope = RopeConfig{500.0, 2.0};
  return c;
}

// A LLaMA-style decoder layer, to test names and gradients through a tree.
struct DecoderLayer : Module {
  std::shared_ptr<RMSNorm> input_norm, post_norm;
  std::shared_ptr<Attention> self_attn;
  std::shared_ptr<SwiGLUMLP> mlp;

  DecoderLayer(int64_t dim, int64_t heads, int64_t kv_heads) : Module("DecoderLayer") {
    input_norm = register_module("input_layernorm", std::make_shared<RMSNorm>(dim));
    self_attn = register_module("self_attn", std::make_shared<Attention>(llama_attention(dim, heads, kv_heads)));
    post_norm = register_module("post_attention_layernorm", std::make_shared<RMSNorm>(dim));
    mlp = register_module("mlp", std::make_shared<SwiGLUMLP>(dim, 2 * dim));
  }
  Var forward(Var x, Var positions) const {
    Var h = x + self_attn->forward({.x = input_norm->forward(x), .positions = positions}).out;
    return h + mlp->forward(post_norm->forward(h));
  }
};

struct TinyLlama : Module {
  std::shared_ptr<Embedding> embed;
  std::shared_ptr<ModuleList<DecoderLayer>> layers;
  std::shared_ptr<RMSNorm> norm;

  TinyLlama() : Module("TinyLlama") {
    embed = register_module("embed_tokens", std::make_shared<Embedding>(11, 8));
    layers = register_module("layers", std::make_shared<ModuleList<DecoderLayer>>());
    for (int i = 0; i < 2; ++i) layers->push_back(std::make_shared<DecoderLayer>(8, 4, 2));
    norm = register_module("norm", std::make_shared<RMSNorm>(8));
  }
};

}  // namespace

TEST_CASE("nn/module dotted names follow the tree, ModuleList numbers its children") {
  Container root("LlamaForCausalLM");
  auto model = root.register_module("model", std::make_shared<TinyLlama>());
  auto head = root.register_module("lm_head", std::make_shared<Linear>(8, 11, false));
  std::vector<std::string> expected = {"model.embed_tokens.weight"};
  for (std::string layer : {"model.layers.0.", "model.layers.1."})
    for (std::string name : {"input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight",
                             "self_attn.v_proj.weight", "self_attn.o_proj.weight", "post_attention_layernorm.weight",
                             "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight"})
      expected.push_back(layer + name);
  expected.push_back("model.norm.weight");
  expected.push_back("lm_head.weight");
  CHECK(names_of(root) == expected);
  CHECK(model->layers->size() == 2);
  CHECK((*model->layers)[1].self_attn->path() == "model.layers.1.self_attn");
  CHECK(head->path() == "lm_head");
  CHECK(root.path().empty());

  // named_parameters of a subtree gives full names too; shapes follow the modules (GQA: 2 kv heads of 2)
  std::vector<ParameterInfo> attn = (*model->layers)[0].self_attn->named_parameters();
  REQUIRE(attn.size() == 4);
  CHECK(attn[0].name == "model.layers.0.self_attn.q_proj.weight");
  CHECK(attn[0].shape == Shape{8, 8});
  CHECK(attn[1].shape == Shape{4, 8});
  CHECK(attn[3].shape == Shape{8, 8});
  std::vector<std::string> paths;
  for (const auto& layer : *model->layers) paths.push_back(layer->path());
  CHECK(paths == std::vector<std::string>{"model.layers.0", "model.layers.1"});
  CHECK(model->layers->type_name() == "ModuleList");
}

TEST_CASE("nn/module names for ViT (dotted and mounted in place) and GPT-2 (fused, Conv1D layout)") {
  Container vit_layer("ViTLayer");
  vit_layer.register_module("layernorm_before", std::make_shared<LayerNorm>(8, 1e-12));
  AttentionConfig ac;
  ac.dim = 8;
  ac.num_heads = 2;
  ac.names = {.q = "attention.query", .k = "attention.key", .v = "attention.value", .o = "output.dense"};
  vit_layer.register_module("attention", std::make_shared<Attention>(ac));
  vit_layer.register_module("layernorm_after", std::make_shared<LayerNorm>(8, 1e-12));
  vit_layer.register_module(
      "", std::make_shared<MLP>(MLPConfig{.dim = 8, .hidden = 32, .fc1 = "intermediate.dense", .fc2 = "output.dense"}));
  CHECK(names_of(vit_layer) ==
        std::vector<std::string>{
            "layernorm_before.weight", "layernorm_before.bias", "attention.attention.query.weight",
            "attention.attention.query.bias", "attention.attention.key.weight", "attention.attention.key.bias",
            "attention.attention.value.weight", "attention.attention.value.bias", "attention.output.dense.weight",
            "attention.output.dense.bias", "layernorm_after.weight", "layernorm_after.bias",
            "intermediate.dense.weight", "intermediate.dense.bias", "output.dense.weight", "output.dense.bias"});

  Container gpt2_block("GPT2Block");
  AttentionConfig gc;
  gc.dim = 8;
  gc.num_heads = 2;
  gc.causal = true;
  gc.layout = WeightLayout::in_out;
  gc.names = {.o = "c_proj", .qkv = "c_attn"};
  gpt2_block.register_module("attn", std::make_shared<Attention>(gc));
  AttentionConfig cc = gc;
  cc.causal = false;
  cc.cross = true;
  cc.names = {.q = "q_attn", .o = "c_proj", .kv = "c_attn"};
  gpt2_block.register_module("crossattention", std::make_shared<Attention>(cc));
  gpt2_block.register_module("mlp", std::make_shared<MLP>(MLPConfig{.dim = 8,
                                                                    .hidden = 32,
                                                                    .activation = Activation::gelu_tanh,
                                                                    .fc1 = "c_fc",
                                                                    .fc2 = "c_proj",
                                                                    .layout = WeightLayout::in_out}));
  std::vector<ParameterInfo> params = gpt2_block.named_parameters();
  std::vector<std::pair<std::string, Shape>> got;
  got.reserve(params.size());
  for (const ParameterInfo& p : params) got.emplace_back(p.name, p.shape);
  CHECK(got == std::vector<std::pair<std::string, Shape>>{{"attn.c_attn.weight", {8, 24}},
                                                          {"attn.c_attn.bias", {24}},
                                                          {"attn.c_proj.weight", {8, 8}},
                                                          {"attn.c_proj.bias", {8}},
                                                          {"crossattention.q_attn.weight", {8, 8}},
                                                          {"crossattention.q_attn.bias", {8}},
                                                          {"crossattention.c_attn.weight", {8, 16}},
                                                          {"crossattention.c_attn.bias", {16}},
                                                          {"crossattention.c_proj.weight", {8, 8}},
                                                          {"crossattention.c_proj.bias", {8}},
                                                          {"mlp.c_fc.weight", {8, 32}},
                                                          {"mlp.c_fc.bias", {32}},
                                                          {"mlp.c_proj.weight", {32, 8}},
                                                          {"mlp.c_proj.bias", {8}}});
}

TEST_CASE("nn/module set_init reaches descendants by dotted path, through children mounted in place") {
  Container root;
  auto layer = root.register_module("layer", std::make_shared<Container>("Layer"));
  layer->register_module("", std::make_shared<MLP>(MLPConfig{.dim = 4, .hidden = 8}));
  root.set_init("layer.fc1.weight", Init::normal(0.5));
  layer->set_init("fc2.bias", Init::ones());
  for (const ParameterInfo& p : root.named_parameters()) {
    if (p.name == "layer.fc1.weight") CHECK((p.init.kind == Init::Kind::normal && p.init.scale == 0.5));
    if (p.name == "layer.fc2.bias") CHECK(p.init.kind == Init::Kind::ones);
    if (p.name == "layer.fc1.bias") CHECK(p.init.kind == Init::Kind::uniform);
  }
  CHECK_THROWS_WITH(root.set_init("layer.fc3.weight", Init::zeros()), Catch::Matchers::Contains("has no parameter"));
}

TEST_CASE("nn/module registration errors") {
  Container root;
  root.register_parameter("w", {2, 3}, Init::zeros());
  REQUIRE_THROWS_WITH(root.register_parameter("w", {2}, Init::zeros()), Catch::Contains("'w' is already registered"));
  REQUIRE_THROWS_WITH(root.register_module("w", std::make_shared<Linear>(2, 2)), Catch::Contains("already registered"));
  for (std::string bad : {"", ".a", "a.", "a..b"})
    REQUIRE_THROWS_WITH(root.register_parameter(bad, {1}, Init::zeros()), Catch::Contains("invalid parameter name"));
  REQUIRE_THROWS_WITH(root.register_module("a..b", std::make_shared<Linear>(2, 2)),
                      Catch::Contains("invalid module name"));
  REQUIRE_THROWS_WITH(root.register_parameter("neg", {2, -1}, Init::zeros()), Catch::Contains("negative dimension"));
  REQUIRE_THROWS_WITH(root.register_module<Linear>("null", nullptr), Catch::Contains("'null' is null"));

  auto child = root.register_module("child", std::make_shared<Container>());
  Container other;
  REQUIRE_THROWS_WITH(other.register_module("again", child), Catch::Contains("already registered as 'child'"));
  auto top = std::make_shared<Container>();
  auto inner = top->register_module("inner", std::make_shared<Container>());
  REQUIRE_THROWS_WITH(inner->register_module("up", top),
                      Catch::Contains("Container 'inner'") && Catch::Contains("cycle"));
  REQUIRE_THROWS_WITH(top->register_module("me", top), Catch::Contains("cycle"));

  // a parent that goes away releases its children
  auto orphan = std::make_shared<Linear>(2, 2);
  {
    Container temporary;
    temporary.register_module("lin", orphan);
    CHECK(orphan->path() == "lin");
  }
  CHECK(orphan->path().empty());
  root.register_module("adopted", orphan);
  CHECK(orphan->path() == "adopted");

  // mounting in place can collide: caught by named_parameters with the full name
  auto mounted = std::make_shared<Container>();
  mounted->register_parameter("w", {1}, Init::zeros());
  root.register_module("", mounted);
  REQUIRE_THROWS_WITH(root.named_parameters(), Catch::Contains("declares parameter 'w' twice"));

  REQUIRE_THROWS_WITH(root.set_init("nope", Init::ones()), Catch::Contains("Container: has no parameter 'nope'"));
  REQUIRE_THROWS_WITH(Linear(0, 3), Catch::Contains("Linear") && Catch::Contains("in=0"));
  REQUIRE_THROWS_WITH(Embedding(3, 0), Catch::Contains("dim=0"));
  REQUIRE_THROWS_WITH(LayerNorm(4, 0.0), Catch::Contains("eps must be positive"));
  REQUIRE_THROWS_WITH(RMSNorm(0), Catch::Contains("dim must be positive"));
  REQUIRE_THROWS_WITH(MLP(MLPConfig{.dim = 4}), Catch::Contains("hidden=0"));
  REQUIRE_THROWS_WITH(SwiGLUMLP(4, -1), Catch::Contains("hidden=-1"));
}

TEST_CASE("nn/module param creates one graph leaf per graph with the full name") {
  Container root;
  auto lin =
      root.register_module("blocks", std::make_shared<ModuleList<Linear>>())->push_back(std::make_shared<Linear>(3, 2));
  Graph g;
  Var w = lin->param(g, "weight");
  CHECK(w.node().name == "blocks.0.weight");
  CHECK(w.node().op == OpKind::parameter);
  CHECK(w.shape() == Shape{2, 3});
  CHECK(lin->param(g, "weight").id() == w.id());
  Graph other;
  CHECK(lin->param(other, "weight").node().name == "blocks.0.weight");
  REQUIRE_THROWS_WITH(lin->param(g, "scale"), Catch::Contains("Linear 'blocks.0': has no parameter 'scale'"));

  g.input("blocks.0.bias", {2});
  REQUIRE_THROWS_WITH(lin->param(g, "bias"), Catch::Contains("the graph has an input named 'blocks.0.bias'"));
  Graph clash;
  clash.parameter("blocks.0.weight", {3, 2});
  REQUIRE_THROWS_WITH(lin->param(clash, "weight"), Catch::Contains("declared f32(2,3)") && Catch::Contains("f32(3,2)"));
}

TEST_CASE("nn/linear equals a float64 product, torch and Conv1D layouts, any leading dims") {
  for (bool bias : {true, false})
    for (WeightLayout layout : {WeightLayout::out_in, WeightLayout::in_out})
      for (const Shape& shape : {Shape{5, 7}, Shape{2, 3, 7}, Shape{7}}) {
        Linear lin(7, 3, bias, layout);
        ParameterStore store(3);
        store.initialize(lin);
        Bench b;
        Var y = lin.forward(b.input("x", shape));
        Shape out_shape = shape;
        out_shape.back() = 3;
        CHECK(y.shape() == out_shape);
        Vec got = b.run(store, {y})[0];
        Vec want = linear_ref(b.value("x"), param(store, "weight"), bias ? param(store, "bias") : Vec{}, 7, 3,
                              layout == WeightLayout::in_out);
        require_close(got, want);
      }
  Linear lin(4, 2);
  Graph g;
  REQUIRE_THROWS_WITH(lin.forward(g.input("x", {2, 5})),
                      Catch::Contains("Linear") && Catch::Contains("(2,5)") && Catch::Contains("last dim 4"));
}

TEST_CASE("nn/linear gradients equal the hand-computed x^T dy") {
  Linear lin(4, 3);
  ParameterStore store(5);
  store.initialize(lin);
  Bench b;
  Var x = b.input("x", {2, 3, 4});
  Var r = b.input("r", {2, 3, 3});
  Gradients grads = backward(sum_all(lin.forward(x) * r));
  std::vector<Vec> got = b.run(store, {grads["weight"], grads["bias"]});
  Vec xv = b.value("x"), rv = b.value("r");
  Vec dw(12, 0.0), db(3, 0.0);
  for (int n = 0; n < 6; ++n)
    for (int o = 0; o < 3; ++o) {
      db[o] += rv[n * 3 + o];
      for (int i = 0; i < 4; ++i) dw[o * 4 + i] += rv[n * 3 + o] * xv[n * 4 + i];
    }
  require_close(got[0], dw);
  require_close(got[1], db);
}

TEST_CASE("nn/embedding gathers rows") {
  Embedding emb(6, 4);
  ParameterStore store(9);
  store.initialize(emb);
  Bench b;
  std::vector<int32_t> ids = {5, 0, 3, 3, 1, 2};
  Var y = emb.forward(b.bind("ids", Tensor::from_vector<int32_t>({2, 3}, ids)));
  CHECK(y.shape() == Shape{2, 3, 4});
  Vec table = param(store, "weight"), want;
  for (int32_t id : ids)
    for (int d = 0; d < 4; ++d) want.push_back(table[id * 4 + d]);
  require_close(b.run(store, {y})[0], want);
  Graph g;
  REQUIRE_THROWS_WITH(emb.forward(g.input("f", {2})), Catch::Contains("Embedding") && Catch::Contains("must be i32"));
}

TEST_CASE("nn/norms match float64 LayerNorm and RMSNorm") {
  for (int64_t c : {1, 5, 130}) {
    LayerNorm ln(c, 1e-5);
    RMSNorm rms(c, 1e-6);
    ParameterStore store(11);
    store.initialize("weight", {c}, Init::normal(1.0));
    store.initialize("bias", {c}, Init::normal(1.0));
    Bench b;
    Var x = b.input("x", {2, 3, c});
    std::vector<Vec> got = b.run(store, {ln.forward(x), rms.forward(x)});
    require_close(got[0], layer_norm_ref(b.value("x"), param(store, "weight"), param(store, "bias"), c, 1e-5), 1e-4);
    require_close(got[1], rms_norm_ref(b.value("x"), param(store, "weight"), c, 1e-6), 1e-4);
  }
  Graph g;
  Var x = g.input("x", {2, 4});
  REQUIRE_THROWS_WITH(LayerNorm(3).forward(x), Catch::Contains("LayerNorm") && Catch::Contains("last dim 3"));
  REQUIRE_THROWS_WITH(RMSNorm(5).forward(x), Catch::Contains("RMSNorm") && Catch::Contains("last dim 5"));
}

TEST_CASE("nn/mlp with each GELU activation matches float64") {
  struct Case {
    Activation act;
    double (*ref)(double);
  };
  for (Case c : {Case{Activation::gelu_erf, gelu_erf_ref}, Case{Activation::gelu_tanh, gelu_tanh_ref},
                 Case{Activation::quick_gelu, quick_gelu_ref}}) {
    MLP mlp({.dim = 6, .hidden = 17, .activation = c.act});
    ParameterStore store(13);
    store.initialize(mlp);
    Bench b;
    Var y = mlp.forward(b.input("x", {3, 2, 6}));
    Vec h = linear_ref(b.value("x"), param(store, "fc1.weight"), param(store, "fc1.bias"), 6, 17);
    for (double& v : h) v = c.ref(v);
    require_close(b.run(store, {y})[0], linear_ref(h, param(store, "fc2.weight"), param(store, "fc2.bias"), 17, 6));
  }
  CHECK(activation_from_name("gelu") == Activation::gelu_erf);
  CHECK(activation_from_name("gelu_pytorch_tanh") == Activation::gelu_tanh);
  CHECK(activation_from_name("gelu_new") == Activation::gelu_tanh);
  CHECK(activation_from_name("quick_gelu") == Activation::quick_gelu);
  REQUIRE_THROWS_WITH(activation_from_name("relu6"), Catch::Contains("unknown activation 'relu6'"));
}

TEST_CASE("nn/swiglu mlp matches float64 down(silu(gate) * up)") {
  SwiGLUMLP mlp(5, 11);
  ParameterStore store(17);
  store.initialize(mlp);
  Bench b;
  Var y = mlp.forward(b.input("x", {2, 3, 5}));
  Vec x = b.value("x");
  Vec gate = linear_ref(x, param(store, "gate_proj.weight"), {}, 5, 11);
  Vec up = linear_ref(x, param(store, "up_proj.weight"), {}, 5, 11);
  for (size_t i = 0; i < gate.size(); ++i) gate[i] = silu_ref(gate[i]) * up[i];
  require_close(b.run(store, {y})[0], linear_ref(gate, param(store, "down_proj.weight"), {}, 11, 5));
}

TEST_CASE("nn/attention self-attention with biases matches a naive softmax reference") {
  AttentionConfig c;
  c.dim = 12;
  c.num_heads = 3;
  Attention attn(c);
  ParameterStore store(19);
  store.initialize(attn);
  Bench b;
  AttentionOutput out = attn.forward({.x = b.input("x", {2, 5, 12})});
  CHECK(out.out.shape() == Shape{2, 5, 12});
  CHECK(out.kv.k.shape() == Shape{2, 3, 5, 4});
  Vec x = b.value("x");
  Vec q = linear_ref(x, param(store, "q_proj.weight"), param(store, "q_proj.bias"), 12, 12);
  Vec k = linear_ref(x, param(store, "k_proj.weight"), param(store, "k_proj.bias"), 12, 12);
  Vec v = linear_ref(x, param(store, "v_proj.weight"), param(store, "v_proj.bias"), 12, 12);
  Vec y = attention_ref(q, k, v, {}, false, {2, 5, 5, 3, 3, 4});
  require_close(b.run(store, {out.out})[0],
                linear_ref(y, param(store, "o_proj.weight"), param(store, "o_proj.bias"), 12, 12));
}

TEST_CASE("nn/attention GQA + RoPE + causal matches float64") {
  AttentionConfig c = llama_attention(16, 4, 2);
  c.head_dim = 6;  // H*Dh = 24 differs from C = 16
  Attention attn(c);
  ParameterStore store(23);
  store.initialize(attn);
  Bench b;
  std::vector<int32_t> positions = {3, 4, 5, 6, 7, 8, 9};
  Var pos = b.bind("positions", Tensor::from_vector<int32_t>({7}, positions));
  AttentionOutput out = attn.forward({.x = b.input("x", {2, 7, 16}), .positions = pos});
  CHECK(out.kv.k.shape() == Shape{2, 2, 7, 6});
  Vec x = b.value("x");
  Vec q = linear_ref(x, param(store, "q_proj.weight"), {}, 16, 24);
  Vec k = linear_ref(x, param(store, "k_proj.weight"), {}, 16, 12);
  Vec v = linear_ref(x, param(store, "v_proj.weight"), {}, 16, 12);
  rope_ref(q, 2, 7, 4, 6, positions, 500.0, 2.0);
  rope_ref(k, 2, 7, 2, 6, positions, 500.0, 2.0);
  Vec y = attention_ref(q, k, v, {}, true, {2, 7, 7, 4, 2, 6});
  require_close(b.run(store, {out.out})[0], linear_ref(y, param(store, "o_proj.weight"), {}, 24, 16), 1e-4);
}

TEST_CASE("nn/attention cross-attention with another length, another width and a padding mask") {
  AttentionConfig c;
  c.dim = 8;
  c.num_heads = 2;
  c.cross = true;
  c.context_dim = 10;
  Attention attn(c);
  ParameterStore store(29);
  store.initialize(attn);
  Bench b;
  std::vector<uint8_t> mask = {1, 1, 1, 0, 0, /* batch 1 */ 0, 1, 0, 1, 1};  // (2, 5)
  Var m = b.bind("mask", Tensor::from_vector<uint8_t>({2, 5}, mask));
  Var x = b.input("x", {2, 3, 8});
  Var ctx = b.input("ctx", {2, 5, 10});
  AttentionOutput out = attn.forward({.x = x, .context = ctx, .key_mask = m});
  CHECK(out.kv.v.shape() == Shape{2, 2, 5, 4});
  // the same with keys/values projected once and passed as a cache
  KeyValues kv = attn.project_context(ctx);
  AttentionOutput cached = attn.forward({.x = x, .cache = kv, .key_mask = m});
  Vec xv = b.value("x"), cv = b.value("ctx");
  Vec q = linear_ref(xv, param(store, "q_proj.weight"), param(store, "q_proj.bias"), 8, 8);
  Vec k = linear_ref(cv, param(store, "k_proj.weight"), param(store, "k_proj.bias"), 10, 8);
  Vec v = linear_ref(cv, param(store, "v_proj.weight"), param(store, "v_proj.bias"), 10, 8);
  Vec y = attention_ref(q, k, v, mask, false, {2, 3, 5, 2, 2, 4});
  Vec want = linear_ref(y, param(store, "o_proj.weight"), param(store, "o_proj.bias"), 8, 8);
  std::vector<Vec> got = b.run(store, {out.out, cached.out});
  require_close(got[0], want);
  require_close(got[1], want);
}

TEST_CASE("nn/attention fused GPT-2 projections (Conv1D layout) match float64") {
  AttentionConfig self;
  self.dim = 8;
  self.num_heads = 2;
  self.causal = true;
  self.layout = WeightLayout::in_out;
  self.names = {.o = "c_proj", .qkv = "c_attn"};
  AttentionConfig cross = self;
  cross.causal = false;
  cross.cross = true;
  cross.names = {.q = "q_attn", .o = "c_proj", .kv = "c_attn"};
  Container block;
  auto attn = block.register_module("attn", std::make_shared<Attention>(self));
  auto xattn = block.register_module("crossattention", std::make_shared<Attention>(cross));
  ParameterStore store(31);
  store.initialize(block);
  Bench b;
  Var x = b.input("x", {1, 4, 8});
  Var ctx = b.input("ctx", {1, 6, 8});
  Var h = attn->forward({.x = x}).out;
  Var y = xattn->forward({.x = h, .context = ctx}).out;
  std::vector<Vec> got = b.run(store, {h, y});

  Vec qkv = linear_ref(b.value("x"), param(store, "attn.c_attn.weight"), param(store, "attn.c_attn.bias"), 8, 24, true);
  Vec q = columns(qkv, 24, 0, 8), k = columns(qkv, 24, 8, 16), v = columns(qkv, 24, 16, 24);  // [q | k | v]
  Vec hs = linear_ref(attention_ref(q, k, v, {}, true, {1, 4, 4, 2, 2, 4}), param(store, "attn.c_proj.weight"),
                      param(store, "attn.c_proj.bias"), 8, 8, true);
  require_close(got[0], hs);

  Vec cq = linear_ref(hs, param(store, "crossattention.q_attn.weight"), param(store, "crossattention.q_attn.bias"), 8,
                      8, true);
  Vec kv = linear_ref(b.value("ctx"), param(store, "crossattention.c_attn.weight"),
                      param(store, "crossattention.c_attn.bias"), 8, 16, true);
  Vec ck = columns(kv, 16, 0, 8), cv = columns(kv, 16, 8, 16);  // [k | v]
  Vec want =
      linear_ref(attention_ref(cq, ck, cv, {}, false, {1, 4, 6, 2, 2, 4}), param(store, "crossattention.c_proj.weight"),
                 param(store, "crossattention.c_proj.bias"), 8, 8, true);
  require_close(got[1], want);
}

TEST_CASE("nn/attention a cached decode step equals the full causal pass") {
  Attention attn(llama_attention(8, 4, 1));
  ParameterStore store(37);
  store.initialize(attn);
  Bench b;
  Var x = b.input("x", {2, 5, 8});
  Var all = b.bind("p_all", Tensor::from_vector<int32_t>({5}, {0, 1, 2, 3, 4}));
  Var first = b.bind("p_first", Tensor::from_vector<int32_t>({3}, {0, 1, 2}));
  Var rest = b.bind("p_rest", Tensor::from_vector<int32_t>({2}, {3, 4}));
  std::vector<uint8_t> mask(10, 1);
  mask[5] = 0;  // batch 1 pads its first token
  Var m = b.bind("mask", Tensor::from_vector<uint8_t>({2, 5}, mask));
  Var m_first = b.bind("mask_first", Tensor::from_vector<uint8_t>({2, 3}, {1, 1, 1, 0, 1, 1}));
  AttentionOutput full = attn.forward({.x = x, .positions = all, .key_mask = m});
  AttentionOutput prefix = attn.forward({.x = slice(x, 1, 0, 3), .positions = first, .key_mask = m_first});
  AttentionOutput step = attn.forward({.x = slice(x, 1, 3, 5), .cache = prefix.kv, .positions = rest, .key_mask = m});
  CHECK(step.kv.k.shape() == Shape{2, 1, 5, 2});
  std::vector<Vec> got = b.run(store, {full.out, prefix.out, step.out, full.kv.k, step.kv.k});
  require_close(got[1], columns(got[0], 40, 0, 24));  // tokens 0..2 of each batch row (5 x 8)
  require_close(got[2], columns(got[0], 40, 24, 40));
  require_close(got[4], got[3]);
}

TEST_CASE("nn/attention configuration and input errors") {
  auto make = [](auto edit) {
    AttentionConfig c;
    c.dim = 8;
    c.num_heads = 4;
    edit(c);
    return Attention(c);
  };
  REQUIRE_THROWS_WITH(make([](auto& c) { c.num_kv_heads = 3; }), Catch::Contains("multiple of num_kv_heads=3"));
  REQUIRE_THROWS_WITH(make([](auto& c) { c.num_heads = 3; }), Catch::Contains("not divisible by num_heads=3"));
  REQUIRE_THROWS_WITH(make([](auto& c) { c.num_heads = 0; }), Catch::Contains("num_heads=0"));
  REQUIRE_THROWS_WITH(make([](auto& c) { c.head_dim = -2; }), Catch::Contains("head_dim must be positive"));
  REQUIRE_THROWS_WITH(make([](auto& c) { c.context_dim = -1; }), Catch::Contains("context_dim must be positive"));
  REQUIRE_THROWS_WITH(make([](auto& c) { c.cross = true, c.rope = RopeConfig{}; }),
                      Catch::Contains("self-attention only"));
  REQUIRE_THROWS_WITH(make([](auto& c) { c.head_dim = 3, c.rope = RopeConfig{}; }), Catch::Contains("even head_dim"));
  REQUIRE_THROWS_WITH(make([](auto& c) { c.cross = true, c.names.qkv = "c_attn"; }), Catch::Contains("fused qkv"));
  REQUIRE_THROWS_WITH(make([](auto& c) { c.names.kv = "c_attn"; }), Catch::Contains("fused kv"));
  REQUIRE_THROWS_WITH(make([](auto& c) { c.names.qkv = "c_attn", c.k_bias = false; }),
                      Catch::Contains("one bias flag"));
  REQUIRE_THROWS_WITH(make([](auto& c) { c.cross = true, c.names.kv = "kv", c.v_bias = false; }),
                      Catch::Contains("one bias flag"));

  AttentionConfig c;
  c.dim = 8;
  c.num_heads = 2;
  Attention self(c);
  AttentionConfig rc = llama_attention(8, 2, 2);
  Attention roped(rc);
  c.cross = true;
  c.context_dim = 6;
  Attention cross(c);
  Graph g;
  Var x = g.input("x", {2, 3, 8});
  Var ctx = g.input("ctx", {2, 4, 6});
  Var pos = g.input("pos", {3}, DType::i32);
  Var kv = g.input("kv", {2, 2, 4, 4});
  REQUIRE_THROWS_WITH(self.forward({}), Catch::Contains("input x is undefined"));
  REQUIRE_THROWS_WITH(self.forward({.x = g.input("bad", {2, 3, 7})}),
                      Catch::Contains("Attention") && Catch::Contains("(2,3,7)") && Catch::Contains("(B, T, 8)"));
  REQUIRE_THROWS_WITH(self.forward({.x = x, .context = ctx}), Catch::Contains("self-attention takes no context"));
  REQUIRE_THROWS_WITH(self.forward({.x = x, .positions = pos}), Catch::Contains("has no RoPE"));
  REQUIRE_THROWS_WITH(roped.forward({.x = x}), Catch::Contains("RoPE needs positions"));
  REQUIRE_THROWS_WITH(self.forward({.x = x, .cache = {kv, Var()}}), Catch::Contains("needs both k and v"));
  REQUIRE_THROWS_WITH(self.forward({.x = x, .cache = {kv, g.input("short", {2, 2, 3, 4})}}),
                      Catch::Contains("must both be (B=2, Hk=2, Tp, Dh=4)"));
  REQUIRE_THROWS_WITH(self.project_context(ctx), Catch::Contains("project_context needs cross-attention"));
  REQUIRE_THROWS_WITH(cross.forward({.x = x}), Catch::Contains("either a context or cached keys/values"));
  REQUIRE_THROWS_WITH(cross.forward({.x = x, .context = ctx, .cache = {kv, kv}}),
                      Catch::Contains("either a context or cached keys/values"));
  REQUIRE_THROWS_WITH(cross.forward({.x = x, .context = g.input("wide", {2, 4, 8})}),
                      Catch::Contains("(2,4,8)") && Catch::Contains("(B, S, 6)"));
  REQUIRE_THROWS_WITH(cross.forward({.x = x, .context = g.input("b3", {3, 4, 6})}), Catch::Contains("differ in batch"));
}

TEST_CASE("nn/autograd a gradient reaches every parameter of a decoder stack with cross-attention") {
  Container root("Captioner");
  auto llama = root.register_module("model", std::make_shared<TinyLlama>());
  AttentionConfig xc;
  xc.dim = 8;
  xc.num_heads = 2;
  xc.cross = true;
  xc.context_dim = 6;
  auto xattn = root.register_module("cross_attn", std::make_shared<Attention>(xc));
  auto xnorm = root.register_module("cross_attn_layernorm", std::make_shared<LayerNorm>(8));
  auto mlp = root.register_module("mlp", std::make_shared<MLP>(MLPConfig{.dim = 8, .hidden = 16}));
  auto head = root.register_module("lm_head", std::make_shared<Linear>(8, 11, false));
  ParameterStore store(41);
  store.initialize(root);

  Bench b;
  Var ids = b.bind("ids", Tensor::from_vector<int32_t>({2, 4}, {1, 5, 7, 2, 10, 0, 3, 3}));
  Var pos = b.bind("pos", Tensor::from_vector<int32_t>({4}, {0, 1, 2, 3}));
  Var image = b.input("image", {2, 3, 6});
  Var h = llama->embed->forward(ids);  // (2, 4, 8)
  for (const auto& layer : *llama->layers) h = layer->forward(h, pos);
  h = h + xattn->forward({.x = xnorm->forward(h), .context = image}).out;
  h = h + mlp->forward(h);
  Var logits = head->forward(llama->norm->forward(h));  // (2, 4, 11)
  Var labels = b.bind("labels", Tensor::from_vector<int32_t>({8}, {5, 7, 2, 9, 0, 3, 3, 1}));
  Var loss = cross_entropy(view(logits, {8, 11}), labels);
  Gradients grads = backward(loss);

  std::vector<ParameterInfo> params = root.named_parameters();
  std::vector<Var> outs;
  for (const ParameterInfo& p : params) {
    INFO(p.name);
    REQUIRE(grads.by_name.count(p.name) == 1);
    REQUIRE(grads[p.name].shape() == p.shape);
    outs.push_back(grads[p.name]);
  }
  CHECK(grads.by_name.size() == params.size());
  std::vector<Vec> values = b.run(store, outs);
  for (size_t i = 0; i < params.size(); ++i) {
    INFO(params[i].name);
    double norm = 0;
    for (double v : values[i]) {
      REQUIRE(std::isfinite(v));
      norm += v * v;
    }
    // a bias shared by every key shifts all scores of a query equally: softmax ignores it
    if (params[i].name == "cross_attn.k_proj.bias")
      CHECK(std::sqrt(norm) < 1e-5);
    else
      CHECK(norm > 0.0);
  }
}

TEST_CASE("nn/parameter_store init is deterministic per seed and name, with torch's defaults") {
  TinyLlama model;
  ParameterStore a(7), b(7), c(8);
  a.initialize(model);
  c.initialize(model);
  std::vector<ParameterInfo> params = model.named_parameters();
  for (auto it = params.rbegin(); it != params.rend(); ++it)
    b.initialize(it->name, it->shape, it->init);  // other order
  CHECK(a.names() == b.names());
  CHECK(a.size() == params.size());
  for (const std::string& name : a.names()) {
    INFO(name);
    CHECK(a.get(name).to_f64() == b.get(name).to_f64());
    if (name.find("norm") == std::string::npos) CHECK(a.get(name).to_f64() != c.get(name).to_f64());
  }
  CHECK(param(a, "norm.weight") == Vec(8, 1.0));

  ParameterStore s(1);
  Linear lin(400, 300);
  s.initialize(lin);
  double bound = 1.0 / std::sqrt(400.0), lo = 1, hi = -1, mean = 0;
  for (double v : param(s, "weight")) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    mean += v / 120000.0;
  }
  CHECK(lo >= -bound);
  CHECK(hi < bound);
  CHECK(lo < -0.99 * bound);
  CHECK(hi > 0.99 * bound);
  CHECK(std::abs(mean) < 0.01 * bound);
  for (double v : param(s, "bias")) CHECK(std::abs(v) <= bound);

  s.initialize("n", {100001}, Init::normal(0.02));
  Vec n = param(s, "n");
  double m1 = 0, m2 = 0;
  for (double v : n) m1 += v / n.size();
  for (double v : n) m2 += (v - m1) * (v - m1) / n.size();
  CHECK(std::abs(m1) < 0.001);
  CHECK(std::sqrt(m2) == Approx(0.02).epsilon(0.02));
  s.initialize("z", {3}, Init::zeros());
  CHECK(param(s, "z") == Vec(3, 0.0));
  REQUIRE_THROWS_WITH(s.initialize("bad", {2}, Init::normal(-1.0)),
                      Catch::Contains("initialize 'bad'") && Catch::Contains("scale must be >= 0"));

  Linear gpt2_style(4, 4);
  gpt2_style.set_init("weight", Init::normal(0.02));
  CHECK(gpt2_style.named_parameters()[0].init.kind == Init::Kind::normal);
}

TEST_CASE("nn/parameter_store reports missing, unexpected and mismatched parameters") {
  Container root("Model");
  root.register_module("proj", std::make_shared<Linear>(4, 3));
  root.register_module("norm", std::make_shared<LayerNorm>(3));
  ParameterStore store;
  store.initialize(root);
  CHECK(store.match(root).ok());
  REQUIRE_NOTHROW(store.require_match(root));

  ParameterStore partial;
  partial.set("proj.weight", Tensor::zeros({3, 4}));
  partial.set("proj.bias", Tensor::zeros({4}));
  partial.set("norm.weight", Tensor::from_vector<int32_t>({3}, {1, 2, 3}));  // converted to f32
  partial.set("lm_head.weight", Tensor::zeros({2, 2}));
  CHECK(partial.get("norm.weight").dtype() == DType::f32);
  CHECK(partial.get("norm.weight").to_f64() == Vec{1, 2, 3});
  ParameterMatch m = partial.match(root);
  CHECK_FALSE(m.ok());
  CHECK(m.missing == std::vector<std::string>{"norm.bias"});
  CHECK(m.unexpected == std::vector<std::string>{"lm_head.weight"});
  REQUIRE(m.mismatched.size() == 1);
  CHECK(m.mismatched[0].name == "proj.bias");
  CHECK(m.mismatched[0].declared == Shape{3});
  CHECK(m.mismatched[0].held == Shape{4});
  REQUIRE_THROWS_WITH(partial.require_match(root), Catch::Contains("parameters do not match Model") &&
                                                       Catch::Contains("missing [norm.bias]") &&
                                                       Catch::Contains("unexpected [lm_head.weight]") &&
                                                       Catch::Contains("proj.bias: declared (3), held (4)"));
  REQUIRE_THROWS_WITH(partial.get("norm.bias"), Catch::Contains("no parameter 'norm.bias'"));
  REQUIRE_THROWS_WITH(partial.set("x", Tensor()), Catch::Contains("set 'x'"));

  ParameterStore many;
  for (int i = 0; i < 12; ++i) many.set("extra." + std::to_string(i), Tensor::zeros({1}));
  REQUIRE_THROWS_WITH(many.require_match(root), Catch::Contains("(12 in all)"));

  // binding: a missing parameter and a shape mismatch name the parameter and both shapes
  Graph g;
  Linear lin(4, 3);
  Var out = lin.forward(g.input("x", {2, 4}));
  Executor exec(g, cpu_backend(), {out});
  ParameterStore none;
  REQUIRE_THROWS_WITH(none.bind_all(exec, g), Catch::Contains("no parameter 'weight'") && Catch::Contains("(3,4)"));
  ParameterStore wrong;
  wrong.set("weight", Tensor::zeros({4, 3}));
  wrong.set("bias", Tensor::zeros({3}));
  REQUIRE_THROWS_WITH(wrong.bind_all(exec, g),
                      Catch::Contains("'weight' is (4,3) in the store but (3,4) in the graph"));
  Graph small;
  REQUIRE_THROWS_WITH(wrong.bind_all(exec, small), Catch::Contains("built on another graph"));
  ParameterStore right;
  right.initialize(lin);
  right.bind_all(exec, g);
  CHECK(exec.is_bound("weight"));
  CHECK(exec.is_bound("bias"));
}
