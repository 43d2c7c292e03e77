// Decoder LMs against Hugging Face transformers (LLaMA with GQA / tied / linear / dynamic RoPE, Qwen2,
// Mistral, GPT-2 with and without cross-attention): logits, cached decoding, last-only logits, the layer hook.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>

#include "tests/support/model_test_support.h"
#include "language/decoder/decoder_lm.h"
#include "modules/exec/executor.h"
#include "modules/graph/ops.h"
#include "modules/io/safetensors.h"

using namespace hanvit;
using namespace hanvit::testing;
using namespace hanvit::language;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

// "k0", "v1", ...: names of the cache inputs (built without operator+ on a literal, which GCC 12 misdiagnoses).
std::string leaf_name(const char* prefix, size_t layer) {
  std::string name = prefix;
  name += std::to_string(layer);
  return name;
}

const fs::path kDecoderData = fs::path(HANVIT_TEST_DATA) / "decoder";

Tensor arange(int64_t begin, int64_t count) {
  std::vector<int32_t> v(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) v[static_cast<size_t>(i)] = static_cast<int32_t>(begin + i);
  return Tensor::from_vector<int32_t>({count}, v);
}

// Full-pass logits (B, T, V) of ids (B, T), with a context for cross-attention when given.
Tensor logits_of(const DecoderLM& model, const ParameterStore& store, const Tensor& ids, const Tensor& context = {},
                 bool last_only = false) {
  Graph g(false);
  DecoderInputs in;
  in.ids = g.input("ids", ids.shape(), DType::i32);
  in.positions = g.input("positions", {ids.shape()[1]}, DType::i32);
  if (context.defined()) in.context = g.input("context", context.shape());
  in.last_only = last_only;
  Var logits = model.forward(in).logits;
  Executor exec(g, cpu_backend(), {logits});
  store.bind_all(exec, g);
  exec.bind("ids", ids);
  exec.bind("positions", arange(0, ids.shape()[1]));
  if (context.defined()) exec.bind("context", context);
  exec.run();
  return exec.value(logits).clone();
}

Tensor columns(const Tensor& ids, int64_t begin, int64_t end) {
  const int64_t batch = ids.shape()[0], width = ids.shape()[1];
  std::vector<int32_t> out;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = begin; t < end; ++t) out.push_back(ids.data<int32_t>()[b * width + t]);
  return Tensor::from_vector<int32_t>({batch, end - begin}, out);
}

}  // namespace

TEST_CASE("decoder/logits equal Hugging Face for LLaMA (GQA, tied, linear and dynamic RoPE), Qwen2, Mistral and GPT-2",
          "[decoder]") {
  for (const char* name :
       {"llama_gqa", "llama_tied_linear", "llama_dynamic", "qwen2_tied", "mistral_window", "gpt2", "gpt2_cross"}) {
    INFO(name);
    ParameterStore store;
    LoadedDecoder loaded = load_decoder((kDecoderData / name).string(), store);
    SafetensorsFile expected((kDecoderData / name / "expected.safetensors").string());
    Tensor context = expected.contains("encoder_hidden_states") ? expected.get("encoder_hidden_states") : Tensor();
    require_close_to_scale(logits_of(*loaded.model, store, expected.get("input_ids"), context), expected.get("logits"));
  }
}

// llama_dynamic is left out: dynamic NTK scaling rotates each step's keys with the theta of the length
// reached so far, so its cached decoding differs from a full pass (in transformers too).
TEST_CASE("decoder/cached decoding, token by token, equals the full pass; last_only equals the last row", "[decoder]") {
  for (const char* name : {"llama_gqa", "llama_tied_linear", "qwen2_tied", "gpt2", "gpt2_cross"}) {
    INFO(name);
    ParameterStore store;
    LoadedDecoder loaded = load_decoder((kDecoderData / name).string(), store);
    const DecoderLM& model = *loaded.model;
    SafetensorsFile expected((kDecoderData / name / "expected.safetensors").string());
    const Tensor ids = expected.get("input_ids");
    Tensor context = expected.contains("encoder_hidden_states") ? expected.get("encoder_hidden_states") : Tensor();
    const Tensor full = logits_of(model, store, ids, context);
    const int64_t total = ids.shape()[1], vocab = loaded.config.vocab_size, prefill = 7;

    // The prefill, then one token at a time; cross keys/values projected once.
    std::vector<Tensor> cache_k, cache_v, cross_k, cross_v;
    std::vector<double> stepwise;
    for (int64_t begin = 0; begin < total;) {
      const int64_t count = begin == 0 ? prefill : 1;
      Graph g(false);
      DecoderInputs in;
      in.ids = g.input("ids", {2, count}, DType::i32);
      in.positions = g.input("positions", {count}, DType::i32);
      in.last_only = false;
      for (size_t l = 0; l < cache_k.size(); ++l)
        in.cache.push_back({g.input(leaf_name("k", l), cache_k[l].shape()),
                            g.input(leaf_name("v", l), cache_v[l].shape())});
      std::vector<Var> outputs;
      if (context.defined()) {
        if (cross_k.empty()) {
          in.cross_cache = model.project_context(g.input("context", context.shape()));
          for (const KeyValues& kv : in.cross_cache) outputs.push_back(kv.k), outputs.push_back(kv.v);
        } else {
          for (size_t l = 0; l < cross_k.size(); ++l)
            in.cross_cache.push_back({g.input(leaf_name("ck", l), cross_k[l].shape()),
                                      g.input(leaf_name("cv", l), cross_v[l].shape())});
        }
      }
      DecoderOutputs out = model.forward(in);
      const size_t cross_outputs = outputs.size();
      for (const KeyValues& kv : out.cache) outputs.push_back(kv.k), outputs.push_back(kv.v);
      outputs.push_back(out.logits);
      Executor exec(g, cpu_backend(), outputs);
      store.bind_all(exec, g);
      exec.bind("ids", columns(ids, begin, begin + count));
      exec.bind("positions", arange(begin, count));
      for (size_t l = 0; l < cache_k.size(); ++l) {
        exec.bind(leaf_name("k", l), cache_k[l]);
        exec.bind(leaf_name("v", l), cache_v[l]);
      }
      if (context.defined() && cross_outputs > 0) exec.bind("context", context);
      for (size_t l = 0; l < cross_k.size(); ++l) {
        exec.bind(leaf_name("ck", l), cross_k[l]);
        exec.bind(leaf_name("cv", l), cross_v[l]);
      }
      exec.run();
      for (size_t i = 0; i < cross_outputs; i += 2) {
        cross_k.push_back(exec.value(outputs[i]).clone());
        cross_v.push_back(exec.value(outputs[i + 1]).clone());
      }
      cache_k.clear();
      cache_v.clear();
      for (size_t i = cross_outputs; i + 1 < outputs.size(); i += 2) {
        cache_k.push_back(exec.value(outputs[i]).clone());
        cache_v.push_back(exec.value(outputs[i + 1]).clone());
      }
      std::vector<double> step = exec.value(out.logits).to_f64();  // (2, count, V)
      for (int64_t b = 0; b < 2; ++b)
        for (int64_t t = 0; t < count; ++t)
          for (int64_t v = 0; v < vocab; ++v)
            stepwise.push_back(step[static_cast<size_t>((b * count + t) * vocab + v)]);
      begin += count;
    }
    // stepwise holds per step [b][t][v]; reorder the full pass the same way.
    std::vector<double> full_values = full.to_f64(), reordered;
    for (int64_t begin = 0; begin < total;) {
      const int64_t count = begin == 0 ? prefill : 1;
      for (int64_t b = 0; b < 2; ++b)
        for (int64_t t = begin; t < begin + count; ++t)
          for (int64_t v = 0; v < vocab; ++v)
            reordered.push_back(full_values[static_cast<size_t>((b * total + t) * vocab + v)]);
      begin += count;
    }
    REQUIRE(stepwise.size() == reordered.size());
    double worst = 0.0;
    for (size_t i = 0; i < stepwise.size(); ++i) worst = std::max(worst, std::abs(stepwise[i] - reordered[i]));
    CHECK(worst < 1e-4);

    const Tensor last = logits_of(model, store, ids, context, true);
    REQUIRE(last.shape() == Shape{2, 1, vocab});
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t v = 0; v < vocab; ++v)
        CHECK(last.to_f64()[static_cast<size_t>(b * vocab + v)] ==
              Approx(full_values[static_cast<size_t>((b * total + total - 1) * vocab + v)]).margin(1e-5));
  }
}

TEST_CASE("decoder/the before_layer hook runs once per layer, in order, and changes the output", "[decoder]") {
  ParameterStore store;
  LoadedDecoder loaded = load_decoder((kDecoderData / "llama_gqa").string(), store);
  SafetensorsFile expected((kDecoderData / "llama_gqa" / "expected.safetensors").string());
  const Tensor ids = expected.get("input_ids");
  Graph g(false);
  DecoderInputs in;
  in.ids = g.input("ids", ids.shape(), DType::i32);
  in.positions = g.input("positions", {ids.shape()[1]}, DType::i32);
  std::vector<int64_t> seen;
  in.before_layer = [&](int64_t layer, Var hidden) {
    seen.push_back(layer);
    return layer == 1 ? mul_scalar(hidden, 0.5) : hidden;
  };
  Var logits = loaded.model->forward(in).logits;
  CHECK(seen == std::vector<int64_t>{0, 1});
  Executor exec(g, cpu_backend(), {logits});
  store.bind_all(exec, g);
  exec.bind("ids", ids);
  exec.bind("positions", arange(0, ids.shape()[1]));
  exec.run();
  const std::vector<double> hooked = exec.value(logits).to_f64(), plain = expected.get("logits").to_f64();
  double largest_change = 0.0;
  for (size_t i = 0; i < plain.size(); ++i) largest_change = std::max(largest_change, std::abs(hooked[i] - plain[i]));
  CHECK(largest_change > 1e-2);
}

TEST_CASE("decoder/a sequence longer than the sliding window is refused", "[decoder]") {
  ParameterStore store;
  LoadedDecoder loaded = load_decoder((kDecoderData / "mistral_window").string(), store);
  REQUIRE(loaded.config.sliding_window == 16);
  Graph g(false);
  DecoderInputs in;
  in.ids = g.input("ids", {1, 17}, DType::i32);
  in.positions = g.input("positions", {17}, DType::i32);
  CHECK_THROWS_WITH(loaded.model->forward(in), Contains("reaches position 17 but sliding-window attention (16 keys)"));
}
