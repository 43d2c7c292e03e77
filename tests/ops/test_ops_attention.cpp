// Cross-backend cases for fused attention: self and cross attention, bottom-right causal masks,
// grouped-query heads, key padding (fully masked rows give zeros), multi-tile sizes, the packed
// backward against an analytic float64 reference, a PyTorch fixture and builder errors.
#include <omp.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "modules/exec/executor.h"
#include "modules/graph/autograd.h"
#include "tests/ops/op_harness.h"

using namespace hanvit;
using namespace hanvit::test;

namespace {

struct Dims {
  int64_t b, hq, hk, tq, tk, d, dv;
};

Dims dims_of(const Shape& q, const Shape& k, const Shape& v) { return {q[0], q[1], k[1], q[2], k[2], q[3], v[3]}; }

// Whether query i of batch b sees key j: the key mask (1 = attend) and the bottom-right causal rule.
bool visible(const Dims& s, const RefTensor* mask, bool causal, int64_t b, int64_t i, int64_t j) {
  if (mask && (*mask)[b * s.tk + j] == 0.0) return false;
  return !causal || j <= i + s.tk - s.tq;
}

// Softmax probabilities (Tk) of query (b, h, i), all zero when it sees no key.
std::vector<double> ref_probs(const Dims& s, const RefTensor& q, const RefTensor& k, const RefTensor* mask, bool causal,
                              double scale, int64_t b, int64_t h, int64_t i) {
  const int64_t hk = h / (s.hq / s.hk);
  std::vector<double> p(static_cast<size_t>(s.tk), 0.0);
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < s.tk; ++j) {
    if (!visible(s, mask, causal, b, i, j)) continue;
    double dot = 0.0;
    for (int64_t d = 0; d < s.d; ++d)
      dot += q[((b * s.hq + h) * s.tq + i) * s.d + d] * k[((b * s.hk + hk) * s.tk + j) * s.d + d];
    p[static_cast<size_t>(j)] = dot * scale;
    m = std::max(m, dot * scale);
  }
  if (m == -std::numeric_limits<double>::infinity()) return std::vector<double>(static_cast<size_t>(s.tk), 0.0);
  double sum = 0.0;
  for (int64_t j = 0; j < s.tk; ++j) {
    double& pj = p[static_cast<size_t>(j)];
    pj = visible(s, mask, causal, b, i, j) ? std::exp(pj - m) : 0.0;
    sum += pj;
  }
  for (double& pj : p) pj /= sum;
  return p;
}

// Materialised float64 attention: out (B, Hq, Tq, Dv).
RefTensor ref_attention(const RefTensor& q, const RefTensor& k, const RefTensor& v, const RefTensor* mask, bool causal,
                        double scale) {
  const Dims s = dims_of(q.shape, k.shape, v.shape);
  RefTensor out({s.b, s.hq, s.tq, s.dv});
  for (int64_t b = 0; b < s.b; ++b)
    for (int64_t h = 0; h < s.hq; ++h)
      for (int64_t i = 0; i < s.tq; ++i) {
        const std::vector<double> p = ref_probs(s, q, k, mask, causal, scale, b, h, i);
        const int64_t hk = h / (s.hq / s.hk);
        for (int64_t j = 0; j < s.tk; ++j)
          for (int64_t e = 0; e < s.dv; ++e)
            out[((b * s.hq + h) * s.tq + i) * s.dv + e] +=
                p[static_cast<size_t>(j)] * v[((b * s.hk + hk) * s.tk + j) * s.dv + e];
      }
  return out;
}

struct RefGrads {
  RefTensor dq, dk, dv;
};

// Analytic float64 gradients of sum(out * dout).
RefGrads ref_attention_grads(const RefTensor& q, const RefTensor& k, const RefTensor& v, const RefTensor* mask,
                             const RefTensor& dout, bool causal, double scale) {
  const Dims s = dims_of(q.shape, k.shape, v.shape);
  RefGrads g{RefTensor(q.shape), RefTensor(k.shape), RefTensor(v.shape)};
  for (int64_t b = 0; b < s.b; ++b)
    for (int64_t h = 0; h < s.hq; ++h)
      for (int64_t i = 0; i < s.tq; ++i) {
        const std::vector<double> p = ref_probs(s, q, k, mask, causal, scale, b, h, i);
        const int64_t hk = h / (s.hq / s.hk);
        const int64_t qrow = (b * s.hq + h) * s.tq + i;
        std::vector<double> dp(static_cast<size_t>(s.tk), 0.0);
        double delta = 0.0;
        for (int64_t j = 0; j < s.tk; ++j) {
          const int64_t kvrow = (b * s.hk + hk) * s.tk + j;
          for (int64_t e = 0; e < s.dv; ++e) {
            dp[static_cast<size_t>(j)] += dout[qrow * s.dv + e] * v[kvrow * s.dv + e];
            g.dv[kvrow * s.dv + e] += p[static_cast<size_t>(j)] * dout[qrow * s.dv + e];
          }
          delta += p[static_cast<size_t>(j)] * dp[static_cast<size_t>(j)];
        }
        for (int64_t j = 0; j < s.tk; ++j) {
          const double ds = p[static_cast<size_t>(j)] * (dp[static_cast<size_t>(j)] - delta) * scale;
          const int64_t kvrow = (b * s.hk + hk) * s.tk + j;
          for (int64_t d = 0; d < s.d; ++d) {
            g.dq[qrow * s.d + d] += ds * k[kvrow * s.d + d];
            g.dk[kvrow * s.d + d] += ds * q[qrow * s.d + d];
          }
        }
      }
  return g;
}

Shape q_shape(const Dims& s) { return {s.b, s.hq, s.tq, s.d}; }
Shape k_shape(const Dims& s) { return {s.b, s.hk, s.tk, s.d}; }
Shape v_shape(const Dims& s) { return {s.b, s.hk, s.tk, s.dv}; }

// A harness case for attention with these dims; with_mask adds a random key mask (B, Tk).
OpCase attention_case(const std::string& name, const Dims& s, bool causal, double scale, bool with_mask) {
  OpCase c;
  c.name = name;
  c.inputs = {{"q", q_shape(s)}, {"k", k_shape(s)}, {"v", v_shape(s)}};
  if (with_mask) c.inputs.push_back({"key_mask", {s.b, s.tk}, Fill::mask});
  c.build = [=](std::vector<Var>& in) {
    return attention(in[0], in[1], in[2], with_mask ? std::optional<Var>(in[3]) : std::nullopt, causal, scale);
  };
  c.reference = [=](const std::vector<RefTensor>& r) {
    return ref_attention(r[0], r[1], r[2], with_mask ? &r[3] : nullptr, causal, scale);
  };
  return c;
}

RefTensor random_ref(const Shape& shape, std::mt19937_64& rng) {
  RefTensor t(shape);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (double& x : t.data) x = static_cast<float>(normal(rng));
  return t;
}

Tensor to_f32(const RefTensor& r) { return Tensor::from_values(r.shape, r.data, DType::f32); }

double worst_error(const std::vector<double>& ours, const std::vector<double>& ref) {
  REQUIRE(ours.size() == ref.size());
  double worst = 0.0;
  for (size_t i = 0; i < ours.size(); ++i) {
    const double err = std::abs(ours[i] - ref[i]) / (1.0 + std::abs(ref[i]));
    worst = std::isnan(err) ? INFINITY : std::max(worst, err);
  }
  return worst;
}

std::vector<double> slice_of(const std::vector<double>& v, size_t start, size_t n) {
  return {v.begin() + static_cast<std::ptrdiff_t>(start), v.begin() + static_cast<std::ptrdiff_t>(start + n)};
}

// Runs the packed attention_backward op on random inputs and compares dq, dk, dv with the
// analytic reference. Returns the packed result.
std::vector<double> check_packed_backward(const Dims& s, bool causal, double scale, const std::vector<uint8_t>& mask,
                                          uint64_t seed, double tolerance = 5e-5) {
  std::mt19937_64 rng(seed);
  const RefTensor q = random_ref(q_shape(s), rng), k = random_ref(k_shape(s), rng), v = random_ref(v_shape(s), rng);
  const RefTensor dout = random_ref({s.b, s.hq, s.tq, s.dv}, rng);
  RefTensor mask_ref({s.b, s.tk});
  for (size_t i = 0; i < mask.size(); ++i) mask_ref.data[i] = mask[i];
  const RefGrads expected = ref_attention_grads(q, k, v, mask.empty() ? nullptr : &mask_ref, dout, causal, scale);

  Graph g(false);
  Var qv = g.input("q", q.shape), kv = g.input("k", k.shape), vv = g.input("v", v.shape);
  Var dv = g.input("dout", dout.shape);
  std::optional<Var> mv;
  if (!mask.empty()) mv = g.input("key_mask", {s.b, s.tk}, DType::u8);
  Var packed = attention_backward(qv, kv, vv, mv, dv, AttentionAttrs{causal, scale});
  REQUIRE(packed.shape() == Shape{q.numel() + k.numel() + v.numel()});
  std::vector<double> result;
  for (Backend* backend : available_backends()) {
    INFO("backend: " << backend->name());
    Executor exec(g, *backend, {packed}, ExecutorOptions{.poison = true});
    exec.bind("q", to_f32(q));
    exec.bind("k", to_f32(k));
    exec.bind("v", to_f32(v));
    exec.bind("dout", to_f32(dout));
    if (mv) exec.bind("key_mask", Tensor::from_vector<uint8_t>({s.b, s.tk}, mask));
    exec.run();
    result = to_host(exec.value(packed)).to_f64();
    const size_t nq = static_cast<size_t>(q.numel()), nk = static_cast<size_t>(k.numel()),
                 nv = static_cast<size_t>(v.numel());
    CHECK(worst_error(slice_of(result, 0, nq), expected.dq.data) <= tolerance);
    CHECK(worst_error(slice_of(result, nq, nk), expected.dk.data) <= tolerance);
    CHECK(worst_error(slice_of(result, nq + nk, nv), expected.dv.data) <= tolerance);
  }
  return result;
}

std::vector<uint8_t> random_mask(int64_t b, int64_t tk, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution keep(0.7);
  std::vector<uint8_t> mask(static_cast<size_t>(b * tk));
  for (uint8_t& m : mask) m = keep(rng) ? 1 : 0;
  return mask;
}

}  // namespace

TEST_CASE("ops/attention self-attention, causal and not") {
  for (bool causal : {false, true}) {
    check_op(attention_case("B2 H3 T17 D8", {2, 3, 3, 17, 17, 8, 8}, causal, 1.0 / std::sqrt(8.0), false));
    check_op(attention_case("B1 H2 T5 D3", {1, 2, 2, 5, 5, 3, 3}, causal, 1.0 / std::sqrt(3.0), false));
    check_op(attention_case("T1 D1", {1, 1, 1, 1, 1, 1, 1}, causal, 1.0, false));
    check_op(attention_case("B1 H1 T3 D17 Dv5", {1, 1, 1, 3, 3, 17, 5}, causal, 0.3, false));
  }
}

TEST_CASE("ops/attention cross-attention aligns causal masks bottom-right") {
  for (bool causal : {false, true}) {
    check_op(attention_case("Tq5 Tk13", {2, 2, 2, 5, 13, 4, 4}, causal, 0.5, false));
    check_op(attention_case("Tq1 Tk17 (decode step)", {1, 3, 3, 1, 17, 8, 8}, causal, 0.35, false));
    check_op(attention_case("Tq17 Tk1", {1, 2, 2, 17, 1, 3, 3}, causal, 0.5, false));
  }
  // Tq > Tk: queries 0..7 see no key at all under the bottom-right rule and give zero rows.
  check_op(attention_case("Tq13 Tk5 causal", {1, 2, 2, 13, 5, 4, 3}, true, 0.5, false));
}

TEST_CASE("ops/attention causal rows with no key give exact zeros and zero gradients") {
  const Dims s{1, 2, 2, 13, 5, 4, 3};
  std::mt19937_64 rng(7);
  Graph g;
  Var q = g.parameter("q", q_shape(s)), k = g.parameter("k", k_shape(s)), v = g.parameter("v", v_shape(s));
  Var out = attention(q, k, v, std::nullopt, true, 0.5);
  Gradients grads = backward(sum_all(out));
  Executor exec(g, cpu_backend(), {out, grads["q"]}, ExecutorOptions{.poison = true});
  exec.bind("q", to_f32(random_ref(q_shape(s), rng)));
  exec.bind("k", to_f32(random_ref(k_shape(s), rng)));
  exec.bind("v", to_f32(random_ref(v_shape(s), rng)));
  exec.run();
  const std::vector<double> o = exec.value(out).to_f64(), dq = exec.value(grads["q"]).to_f64();
  for (int64_t h = 0; h < s.hq; ++h)
    for (int64_t i = 0; i < s.tq; ++i) {
      const bool empty = i < s.tq - s.tk;
      for (int64_t e = 0; e < s.dv; ++e) {
        const double x = o[static_cast<size_t>((h * s.tq + i) * s.dv + e)];
        CHECK((empty ? x == 0.0 : std::isfinite(x)));
      }
      for (int64_t d = 0; d < s.d; ++d) {
        const double x = dq[static_cast<size_t>((h * s.tq + i) * s.d + d)];
        CHECK((empty ? x == 0.0 : std::isfinite(x)));
      }
    }
}

TEST_CASE("ops/attention grouped-query heads") {
  for (bool causal : {false, true}) {
    check_op(attention_case("Hq4 Hk2", {2, 4, 2, 7, 7, 5, 5}, causal, 0.45, false));
    check_op(attention_case("Hq4 Hk1", {1, 4, 1, 9, 9, 3, 6}, causal, 0.6, false));
    check_op(attention_case("Hq6 Hk3 cross", {1, 6, 3, 3, 8, 4, 4}, causal, 0.5, false));
  }
}

TEST_CASE("ops/attention key padding mask") {
  for (bool causal : {false, true}) {
    check_op(attention_case("B3 H2 T11 mask", {3, 2, 2, 11, 11, 4, 4}, causal, 0.5, true));
    check_op(attention_case("GQA Hq4 Hk2 Tq6 Tk10 mask", {2, 4, 2, 6, 10, 5, 3}, causal, 0.4, true));
  }
}

TEST_CASE("ops/attention fully masked batch row gives zeros and zero gradients") {
  // Batch 1 attends to nothing; batch 0 to some keys.
  const Dims s{2, 2, 1, 6, 7, 4, 4};
  const std::vector<uint8_t> mask = {1, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
  for (bool causal : {false, true}) {
    OpCase c;
    c.name = causal ? "masked batch, causal" : "masked batch";
    c.inputs = {{"q", q_shape(s)}, {"k", k_shape(s)}, {"v", v_shape(s)}};
    c.build = [=](std::vector<Var>& in) {
      Var m = in[0].graph().constant(Tensor::from_vector<uint8_t>({s.b, s.tk}, mask));
      return attention(in[0], in[1], in[2], m, causal, 0.5);
    };
    c.reference = [=](const std::vector<RefTensor>& r) {
      RefTensor m({s.b, s.tk});
      for (size_t i = 0; i < mask.size(); ++i) m.data[i] = mask[i];
      return ref_attention(r[0], r[1], r[2], &m, causal, 0.5);
    };
    check_op(c);
    const std::vector<double> packed = check_packed_backward(s, causal, 0.5, mask, 11);
    // Batch 1's rows of dq, and its kv head's dk and dv, are exactly zero.
    const int64_t nq = numel(q_shape(s)), nk = numel(k_shape(s));
    for (int64_t i = numel(q_shape(s)) / 2; i < nq; ++i) CHECK(packed[static_cast<size_t>(i)] == 0.0);
    for (int64_t i = nk / 2; i < nk; ++i) CHECK(packed[static_cast<size_t>(nq + i)] == 0.0);
    for (int64_t i = nk / 2; i < nk; ++i) CHECK(packed[static_cast<size_t>(nq + nk + i)] == 0.0);
  }
}

TEST_CASE("ops/attention scale other than 1/sqrt(D)") {
  check_op(attention_case("scale 0.9 D5", {1, 2, 2, 6, 6, 5, 5}, false, 0.9, false));
  check_op(attention_case("scale 0.05 causal", {1, 2, 2, 6, 6, 5, 5}, true, 0.05, false));
  check_op(attention_case("negative scale", {1, 1, 1, 4, 6, 3, 3}, false, -0.7, false));
}

TEST_CASE("ops/attention multi-tile sizes: D=64 with T=130, D=128, D=17, T=300") {
  // Forward through the harness; gradients through the analytic reference (finite differences
  // over tens of thousands of inputs would take minutes).
  for (bool causal : {false, true}) {
    OpCase big = attention_case("D64 T130", {1, 2, 2, 130, 130, 64, 64}, causal, 0.125, false);
    big.check_gradient = false;
    check_op(big);
    OpCase masked = attention_case("D64 Tq70 Tk130 mask GQA", {2, 4, 2, 70, 130, 64, 64}, causal, 0.125, true);
    masked.check_gradient = false;
    check_op(masked);
    OpCase wide = attention_case("D128 T67", {1, 2, 1, 67, 67, 128, 128}, causal, 1.0 / std::sqrt(128.0), false);
    wide.check_gradient = false;
    check_op(wide);
    check_packed_backward({1, 2, 2, 130, 130, 64, 64}, causal, 0.125, {}, 21);
    check_packed_backward({2, 4, 2, 70, 130, 64, 64}, causal, 0.125, random_mask(2, 130, 5), 22);
    check_packed_backward({1, 2, 1, 67, 67, 128, 128}, causal, 1.0 / std::sqrt(128.0), {}, 23);
    check_packed_backward({1, 3, 3, 130, 131, 17, 33}, causal, 0.3, random_mask(1, 131, 6), 24);
    check_packed_backward({1, 2, 2, 2, 130, 64, 64}, causal, 0.125, {}, 25);
    check_packed_backward({1, 2, 1, 200, 300, 16, 16}, causal, 0.25, random_mask(1, 300, 7), 26);
  }
}

TEST_CASE("ops/attention backward sums shared kv heads deterministically") {
  // Hq=8 over one kv head: the backward splits the query blocks into chunks with private dk/dv.
  const Dims s{1, 8, 1, 130, 130, 16, 16};
  const int threads = omp_get_max_threads();
  const std::vector<double> first = check_packed_backward(s, true, 0.25, {}, 31);
  const std::vector<double> again = check_packed_backward(s, true, 0.25, {}, 31);
  CHECK(first == again);
  omp_set_num_threads(1);
  const std::vector<double> single = check_packed_backward(s, true, 0.25, {}, 31);
  omp_set_num_threads(threads);
  CHECK(worst_error(single, first) <= 1e-5);
}

TEST_CASE("ops/attention matches the PyTorch fixture") {
  std::ifstream file(std::string(HANVIT_TEST_DATA) + "/ops/attention.json");
  REQUIRE(file.good());
  const nlohmann::json fixture = nlohmann::json::parse(file);
  REQUIRE(fixture.at("cases").size() >= 3);
  for (const nlohmann::json& c : fixture.at("cases")) {
    INFO("fixture case " << c.at("name").get<std::string>());
    auto tensor_of = [](const nlohmann::json& t) {
      return Tensor::from_values(t.at("shape").get<Shape>(), t.at("data").get<std::vector<double>>(), DType::f32);
    };
    const Tensor q = tensor_of(c.at("q")), k = tensor_of(c.at("k")), v = tensor_of(c.at("v"));
    const Tensor dout = tensor_of(c.at("dout"));
    const bool causal = c.at("causal").get<bool>();
    const double scale = c.at("scale").get<double>();
    Graph g;
    Var qv = g.parameter("q", q.shape()), kv = g.parameter("k", k.shape()), vv = g.parameter("v", v.shape());
    Var dv = g.input("dout", dout.shape());
    std::optional<Var> mask;
    if (!c.at("key_mask").is_null()) mask = g.input("key_mask", c.at("key_mask").at("shape").get<Shape>(), DType::u8);
    Var out = attention(qv, kv, vv, mask, causal, scale);
    Gradients grads = backward(sum_all(mul(out, dv)));
    for (Backend* backend : available_backends()) {
      INFO("backend: " << backend->name());
      Executor exec(g, *backend, {out, grads["q"], grads["k"], grads["v"]}, ExecutorOptions{.poison = true});
      exec.bind("q", q);
      exec.bind("k", k);
      exec.bind("v", v);
      exec.bind("dout", dout);
      if (mask)
        exec.bind("key_mask", Tensor::from_values(mask->shape(), c.at("key_mask").at("data").get<std::vector<double>>(),
                                                  DType::u8));
      exec.run();
      CHECK(worst_error(to_host(exec.value(out)).to_f64(), c.at("out").at("data").get<std::vector<double>>()) <= 1e-5);
      CHECK(worst_error(to_host(exec.value(grads["q"])).to_f64(), c.at("dq").at("data").get<std::vector<double>>()) <= 1e-5);
      CHECK(worst_error(to_host(exec.value(grads["k"])).to_f64(), c.at("dk").at("data").get<std::vector<double>>()) <= 1e-5);
      CHECK(worst_error(to_host(exec.value(grads["v"])).to_f64(), c.at("dv").at("data").get<std::vector<double>>()) <= 1e-5);
    }
  }
}

TEST_CASE("ops/attention builder errors name the op and shapes") {
  Graph g;
  Var q = g.parameter("q", {2, 4, 5, 8});
  Var k = g.parameter("k", {2, 2, 7, 8});
  Var v = g.parameter("v", {2, 2, 7, 3});
  Var mask = g.input("mask", {2, 7}, DType::u8);
  REQUIRE_NOTHROW(attention(q, k, v, mask, true, 0.3));
  Var q3 = g.parameter("q3", {2, 5, 8});
  REQUIRE_THROWS_WITH(attention(q3, k, v, std::nullopt, false, 1.0),
                      Catch::Contains("attention: q (B, Hq, Tq, D) must have rank 4") && Catch::Contains("(2,5,8)"));
  Var q_heads = g.parameter("q_heads", {2, 3, 5, 8});
  REQUIRE_THROWS_WITH(
      attention(q_heads, k, v, std::nullopt, false, 1.0),
      Catch::Contains("attention: query heads (3) must be a multiple of kv heads (2)") && Catch::Contains("(2,3,5,8)"));
  Var v_heads = g.parameter("v_heads", {2, 1, 7, 3});
  REQUIRE_THROWS_WITH(attention(q, k, v_heads, std::nullopt, false, 1.0),
                      Catch::Contains("attention: k and v head counts differ"));
  Var k_dim = g.parameter("k_dim", {2, 2, 7, 6});
  REQUIRE_THROWS_WITH(attention(q, k_dim, v, std::nullopt, false, 1.0),
                      Catch::Contains("attention: q and k head dims differ (8 vs 6)") && Catch::Contains("(2,2,7,6)"));
  Var v_len = g.parameter("v_len", {2, 2, 6, 3});
  REQUIRE_THROWS_WITH(attention(q, k, v_len, std::nullopt, false, 1.0),
                      Catch::Contains("attention: k and v lengths differ"));
  Var k_batch = g.parameter("k_batch", {1, 2, 7, 8});
  REQUIRE_THROWS_WITH(attention(q, k_batch, v, std::nullopt, false, 1.0),
                      Catch::Contains("attention: q, k and v batch sizes differ"));
  Var mask_shape = g.input("mask_shape", {2, 5}, DType::u8);
  REQUIRE_THROWS_WITH(attention(q, k, v, mask_shape, false, 1.0),
                      Catch::Contains("attention: key_mask must be (B, Tk) = (2,7)") && Catch::Contains("(2,5)"));
  Var mask_f32 = g.input("mask_f32", {2, 7});
  REQUIRE_THROWS_WITH(attention(q, k, v, mask_f32, false, 1.0), Catch::Contains("attention: key_mask must be u8"));
  Var q_i32 = g.input("q_i32", {2, 4, 5, 8}, DType::i32);
  REQUIRE_THROWS_WITH(attention(q_i32, k, v, std::nullopt, false, 1.0), Catch::Contains("attention: needs a floating-point tensor"));
  REQUIRE_THROWS_WITH(attention(q, k, v, std::nullopt, false, std::nan("")),
                      Catch::Contains("attention: scale must be finite"));
  Var dout = g.input("dout", {2, 4, 5, 3});
  REQUIRE_NOTHROW(attention_backward(q, k, v, mask, dout, AttentionAttrs{true, 0.3}));
  Var dout_bad = g.input("dout_bad", {2, 4, 5, 8});
  REQUIRE_THROWS_WITH(
      attention_backward(q, k, v, mask, dout_bad, AttentionAttrs{}),
      Catch::Contains("attention_backward: dout must be (B, Hq, Tq, Dv)") && Catch::Contains("(2,4,5,8)"));
  REQUIRE_THROWS_WITH(attention_backward(q3, k, v, std::nullopt, dout, AttentionAttrs{}),
                      Catch::Contains("attention_backward: q (B, Hq, Tq, D) must have rank 4"));
}
