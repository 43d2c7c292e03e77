// Generation on a fake step model whose logits are computed by hand: the decode session (left
// padding, positions, cache, row selection, row inputs, extras), greedy decoding, the logits
// processors, sampling, stop tokens and beam search against an exhaustive search.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <set>

#include "language/generation/beam_search.h"
#include "language/generation/decode_session.h"
#include "language/generation/generate.h"
#include "language/generation/sampling.h"
#include "modules/graph/ops.h"

using namespace hanvit;
using namespace hanvit::language;
using Catch::Matchers::Contains;

namespace {

constexpr int64_t kVocab = 7, kWidth = 4, kPositions = 64;

// Deterministic values in [-scale, scale).
std::vector<float> values(size_t count, uint64_t seed, float scale) {
  std::vector<float> out(count);
  uint64_t state = seed * 0x9e3779b97f4a7c15ull + 1;
  for (float& v : out) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    v = scale * (static_cast<float>(state >> 40) / static_cast<float>(1ull << 24) * 2.0f - 1.0f);
  }
  return out;
}

// logits(row) = E[last token] W + (sum of E over the row's real tokens) U + P[position of the last
// token] + bias[row]. The cache holds E of every position; the extra "history" is the sum.
class FakeStepModel : public StepModel {
 public:
  explicit FakeStepModel(std::vector<std::vector<float>> row_bias = {}) : row_bias_(std::move(row_bias)) {
    store.set("embed", Tensor::from_vector<float>({kVocab, kWidth}, values(kVocab * kWidth, 1, 1.0f)));
    store.set("w", Tensor::from_vector<float>({kWidth, kVocab}, values(kWidth * kVocab, 2, 1.5f)));
    store.set("u", Tensor::from_vector<float>({kWidth, kVocab}, values(kWidth * kVocab, 3, 0.4f)));
    store.set("p", Tensor::from_vector<float>({kPositions, kVocab}, values(kPositions * kVocab, 4, 0.5f)));
  }

  StepOutputs build_step(Graph& g, const StepInputs& in) const override {
    const int64_t batch = in.ids.shape()[0], length = in.ids.shape()[1];
    const Var embedded = embedding(g.parameter("embed", {kVocab, kWidth}), in.ids);  // (B, T, D)
    Var keys = view(embedded, {batch, 1, length, kWidth});
    Var vals = keys;
    if (!in.cache.empty()) {
      keys = concat({in.cache[0].k, keys}, 2);
      vals = concat({in.cache[0].v, vals}, 2);
    }
    const int64_t total = keys.shape()[2];
    const Var real = view(cast(in.key_mask, DType::f32), {batch, 1, total, 1});
    const Var history = sum(mul(keys, real), {2});  // (B, 1, D)
    const Var last = view(slice(embedded, 1, length - 1, length), {batch, kWidth});
    Var logits = add(matmul(last, g.parameter("w", {kWidth, kVocab})),
                     matmul(view(history, {batch, kWidth}), g.parameter("u", {kWidth, kVocab})));
    const Var position = view(slice(in.position_ids, 1, length - 1, length), {batch});
    logits = add(logits, embedding(g.parameter("p", {kPositions, kVocab}), position));
    if (!row_bias_.empty()) logits = add(logits, g.input("row_bias", {batch, kVocab}));
    return {view(logits, {batch, 1, kVocab}), {{keys, vals}}, {{"history", history}}};
  }

  std::vector<std::pair<std::string, Tensor>> row_inputs() const override {
    if (row_bias_.empty()) return {};
    std::vector<float> flat;
    for (const auto& row : row_bias_) flat.insert(flat.end(), row.begin(), row.end());
    return {{"row_bias", Tensor::from_vector<float>({static_cast<int64_t>(row_bias_.size()), kVocab}, flat)}};
  }
  int64_t vocab_size() const override { return kVocab; }

  // The logits after `history` (prompt and generated tokens), in f64.
  std::vector<double> reference(const std::vector<int32_t>& history, size_t row = 0) const {
    const float* e = store.get("embed").data<float>();
    const float *w = store.get("w").data<float>(), *u = store.get("u").data<float>();
    const float* p = store.get("p").data<float>();
    std::vector<double> sum(kWidth, 0.0), out(kVocab, 0.0);
    for (int32_t t : history)
      for (int64_t d = 0; d < kWidth; ++d) sum[d] += e[t * kWidth + d];
    const int32_t last = history.back();
    for (int64_t v = 0; v < kVocab; ++v) {
      for (int64_t d = 0; d < kWidth; ++d)
        out[v] += e[last * kWidth + d] * w[d * kVocab + v] + sum[d] * u[d * kVocab + v];
      out[v] += p[(static_cast<int64_t>(history.size()) - 1) * kVocab + v];
      if (!row_bias_.empty()) out[v] += row_bias_[row][v];
    }
    return out;
  }
  std::vector<double> history_sum(const std::vector<int32_t>& history) const {
    std::vector<double> sum(kWidth, 0.0);
    for (int32_t t : history)
      for (int64_t d = 0; d < kWidth; ++d) sum[d] += store.get("embed").data<float>()[t * kWidth + d];
    return sum;
  }

  ParameterStore store;

 private:
  std::vector<std::vector<float>> row_bias_;
};

std::vector<GenerationResult> run(const FakeStepModel& model, const std::vector<std::vector<int32_t>>& prompts,
                                  const GenerationOptions& o) {
  return generate(model, model.store, cpu_backend(), prompts, o);
}

// Greedy decoding on the f64 reference, with HF's repetition penalty and the stop ids.
std::vector<int32_t> reference_greedy(const FakeStepModel& model, std::vector<int32_t> history,
                                      const GenerationOptions& o, size_t row = 0) {
  std::vector<int32_t> out;
  for (int step = 0; step < o.max_new_tokens; ++step) {
    std::vector<double> logits = model.reference(history, row);
    for (int32_t seen : std::set<int32_t>(history.begin(), history.end()))
      logits[seen] = logits[seen] < 0 ? logits[seen] * o.repetition_penalty : logits[seen] / o.repetition_penalty;
    const int32_t token = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    out.push_back(token);
    history.push_back(token);
    if (o.is_stop(token)) break;
  }
  return out;
}

std::vector<double> log_softmax(std::vector<double> x) {
  const double top = *std::max_element(x.begin(), x.end());
  double total = 0.0;
  for (double v : x) total += std::exp(v - top);
  for (double& v : x) v -= top + std::log(total);
  return x;
}

std::vector<float> as_float(const std::vector<double>& x) { return {x.begin(), x.end()}; }

void check_logits(const Tensor& logits, int64_t row, const std::vector<double>& expected) {
  for (int64_t v = 0; v < kVocab; ++v)
    CHECK(logits.data<float>()[row * kVocab + v] == Approx(expected[v]).margin(1e-4));
}

const std::vector<std::vector<int32_t>> kPrompts = {{3, 1}, {5, 0, 2, 6, 4}, {1}};

}  // namespace

TEST_CASE("generation/session: left padding, positions and the cache give each row's own logits", "[generation]") {
  FakeStepModel model;
  for (Backend* backend : available_backends()) {
    INFO(backend->name());
    DecodeSession session(model, model.store, *backend);
    const Tensor first = session.start(kPrompts);
    REQUIRE(first.shape() == Shape{3, kVocab});
    for (size_t b = 0; b < kPrompts.size(); ++b)
      check_logits(first, static_cast<int64_t>(b), model.reference(kPrompts[b]));
    const Tensor second = session.next({4, 4, 2});
    CHECK(session.past_length() == 6);
    for (size_t b = 0; b < kPrompts.size(); ++b) {
      std::vector<int32_t> history = kPrompts[b];
      history.push_back(b == 2 ? 2 : 4);
      check_logits(second, static_cast<int64_t>(b), model.reference(history));
      const auto sum = model.history_sum(history);
      for (int64_t d = 0; d < kWidth; ++d)
        CHECK(session.extras()[0].second.data<float>()[static_cast<int64_t>(b) * kWidth + d] ==
              Approx(sum[d]).margin(1e-5));
    }
  }
}

TEST_CASE("generation/session: select_rows reorders, repeats and drops rows of the cache", "[generation]") {
  FakeStepModel model;
  for (Backend* backend : available_backends()) {
    INFO(backend->name());
    DecodeSession session(model, model.store, *backend);
    session.start(kPrompts);
    session.next({4, 4, 2});
    std::vector<std::vector<int32_t>> histories = {{3, 1, 4}, {5, 0, 2, 6, 4, 4}, {1, 2}};
    session.select_rows({2, 0, 2, 1});
    session.select_rows({3, 0, 1, 2});  // composes with the previous selection: rows 1, 2, 0, 2
    histories = {histories[1], histories[2], histories[0], histories[2]};
    const std::vector<int32_t> tokens = {0, 5, 6, 3};
    Tensor logits = session.next(tokens);
    REQUIRE(logits.shape() == Shape{4, kVocab});
    for (size_t b = 0; b < histories.size(); ++b) {
      histories[b].push_back(tokens[b]);
      check_logits(logits, static_cast<int64_t>(b), model.reference(histories[b]));
    }
    session.select_rows({3});
    logits = session.next({1});
    histories[3].push_back(1);
    check_logits(logits, 0, model.reference(histories[3]));
    CHECK_THROWS_WITH(session.select_rows({1}), Contains("row 1 out of range for 1 rows"));
    CHECK_THROWS_WITH(session.next({1, 2}), Contains("2 tokens for 1 rows"));
  }
}

TEST_CASE("generation/greedy equals the hand-computed argmax path; a batch equals each prompt alone", "[generation]") {
  FakeStepModel model;
  GenerationOptions o;
  o.max_new_tokens = 9;
  const auto together = run(model, kPrompts, o);
  for (size_t p = 0; p < kPrompts.size(); ++p) {
    INFO("prompt " << p);
    CHECK(together[p].tokens == reference_greedy(model, kPrompts[p], o));
    CHECK(together[p].tokens.size() == 9);  // max_new_tokens
    CHECK_FALSE(together[p].stopped);
    CHECK(run(model, {kPrompts[p]}, o)[0].tokens == together[p].tokens);
    // The extras of each chosen token: the history sum of its step.
    std::vector<int32_t> history = kPrompts[p];
    REQUIRE(together[p].extras.at("history").size() == 9);
    for (size_t t = 0; t < 9; ++t) {
      const auto sum = model.history_sum(history);
      for (int64_t d = 0; d < kWidth; ++d) CHECK(together[p].extras.at("history")[t][d] == Approx(sum[d]).margin(1e-5));
      history.push_back(together[p].tokens[t]);
    }
  }
}

TEST_CASE("generation/stop tokens end their row only; the repetition penalty is Hugging Face's", "[generation]") {
  FakeStepModel model;
  GenerationOptions o;
  o.max_new_tokens = 9;
  const auto free_run = run(model, kPrompts, o);
  o.stop_ids = {free_run[1].tokens[2], 6};
  const auto stopped = run(model, kPrompts, o);
  for (size_t p = 0; p < kPrompts.size(); ++p) {
    const std::vector<int32_t> expected = reference_greedy(model, kPrompts[p], o);
    CHECK(stopped[p].tokens == expected);
    CHECK(stopped[p].stopped == o.is_stop(expected.back()));
  }
  CHECK(stopped[1].stopped);
  CHECK(stopped[1].tokens.size() <= 3);

  GenerationOptions penalised;
  penalised.max_new_tokens = 9;
  penalised.repetition_penalty = 4.0;
  const auto with_penalty = run(model, kPrompts, penalised);
  for (size_t p = 0; p < kPrompts.size(); ++p)
    CHECK(with_penalty[p].tokens == reference_greedy(model, kPrompts[p], penalised));
  CHECK(with_penalty[2].tokens != free_run[2].tokens);
}

TEST_CASE("generation/logits processors on hand-checked rows", "[generation]") {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> row = {2.0f, -1.0f, 0.5f, 3.0f};
  apply_repetition_penalty(row, std::vector<int32_t>{0, 1, 1}, 2.0);
  CHECK(row == std::vector<float>{1.0f, -2.0f, 0.5f, 3.0f});

  std::vector<float> ties = {1.0f, 3.0f, 2.0f, 2.0f, 0.0f};
  apply_top_k(ties, 2);
  CHECK(ties == std::vector<float>{-inf, 3.0f, 2.0f, 2.0f, -inf});

  // Probabilities 0.5, 0.25, 0.125, 0.125: top_p 0.6 keeps two tokens, 0.5 one, 0.8 three.
  const std::vector<float> base = {std::log(0.5f), std::log(0.25f), std::log(0.125f), std::log(0.125f)};
  for (auto [top_p, kept] : {std::pair{0.6, 2}, {0.5, 1}, {0.8, 3}, {1.0, 4}}) {
    std::vector<float> nucleus = base;
    apply_top_p(nucleus, top_p);
    INFO("top_p " << top_p);
    CHECK(std::count_if(nucleus.begin(), nucleus.end(), [](float s) { return std::isfinite(s); }) == kept);
    for (int i = 0; i < kept; ++i) CHECK(nucleus[i] == base[i]);
  }

  std::vector<float> logs = {0.0f, std::log(3.0f)};
  log_softmax_in_place(logs);
  CHECK(logs[0] == Approx(std::log(0.25)));
  CHECK(argmax(std::vector<float>{1.0f, 5.0f, 5.0f}) == 1);

  Rng rng(derive_seed(3, 0));
  int counts[3] = {0, 0, 0};
  const std::vector<float> probs = {std::log(0.2f), -inf, std::log(0.8f)};
  for (int i = 0; i < 20000; ++i) ++counts[sample_from(probs, rng)];
  CHECK(counts[1] == 0);
  CHECK(counts[2] / 20000.0 == Approx(0.8).margin(0.02));
}

TEST_CASE("generation/top-p sampling draws exactly the nucleus; top-k 1 is greedy", "[generation]") {
  // Probabilities 0.4, 0.3, 0.2, 0.1 at temperature 1: top_p 0.75 keeps the first three.
  GenerationOptions o;
  o.temperature = 1.0;
  o.top_p = 0.75;
  Rng rng(derive_seed(5, 0));
  std::set<int32_t> drawn;
  for (int i = 0; i < 2000; ++i) {
    std::vector<float> logits = {std::log(0.4f), std::log(0.3f), std::log(0.2f), std::log(0.1f)};
    drawn.insert(choose_token(logits, {}, o, rng));
  }
  CHECK(drawn == std::set<int32_t>{0, 1, 2});
  o.top_p = 1.0;
  o.top_k = 2;
  drawn.clear();
  for (int i = 0; i < 2000; ++i) {
    std::vector<float> logits = {std::log(0.4f), std::log(0.3f), std::log(0.2f), std::log(0.1f)};
    drawn.insert(choose_token(logits, {}, o, rng));
  }
  CHECK(drawn == std::set<int32_t>{0, 1});

  FakeStepModel model;
  GenerationOptions greedy;
  greedy.max_new_tokens = 8;
  GenerationOptions top1 = greedy;
  top1.temperature = 2.0;
  top1.top_k = 1;
  top1.seed = 9;
  const auto a = run(model, kPrompts, greedy), b = run(model, kPrompts, top1);
  for (size_t p = 0; p < kPrompts.size(); ++p) CHECK(a[p].tokens == b[p].tokens);
}

TEST_CASE("generation/sampling is reproducible per seed, differs across seeds, and stays in the nucleus",
          "[generation]") {
  FakeStepModel model;
  GenerationOptions o;
  o.max_new_tokens = 12;
  o.temperature = 1.5;
  o.top_p = 0.8;
  o.seed = 21;
  const auto a = run(model, kPrompts, o), b = run(model, kPrompts, o);
  std::set<std::vector<int32_t>> outputs;
  for (size_t p = 0; p < kPrompts.size(); ++p) {
    CHECK(a[p].tokens == b[p].tokens);
    outputs.insert(a[p].tokens);
    // Every drawn token lies in the nucleus of its step's (hand-computed) distribution.
    std::vector<int32_t> history = kPrompts[p];
    for (int32_t token : a[p].tokens) {
      std::vector<float> scaled = as_float(model.reference(history));
      for (float& s : scaled) s = static_cast<float>(s / o.temperature);
      apply_top_p(scaled, o.top_p);
      CHECK(std::isfinite(scaled[token]));
      history.push_back(token);
    }
  }
  CHECK(run(model, {kPrompts[0]}, o)[0].tokens == a[0].tokens);  // prompt 0 draws from stream 0 either way
  for (uint64_t seed : {22, 23, 24}) {
    o.seed = seed;
    outputs.insert(run(model, {kPrompts[0]}, o)[0].tokens);
  }
  CHECK(outputs.size() >= 4);
}

TEST_CASE("generation/beam search with enough beams equals an exhaustive search", "[generation]") {
  // 7 tokens, 2 new tokens, stop id 3: every prefix fits in 7 beams, so beam search is exact.
  FakeStepModel model;
  const int32_t stop = 3;
  for (double length_penalty : {1.0, 0.0, -1.0, 3.0}) {
    for (const std::vector<int32_t>& prompt : kPrompts) {
      double best = -INFINITY, second = -INFINITY;
      std::vector<int32_t> best_tokens;
      const std::vector<double> first = log_softmax(model.reference(prompt));
      for (int32_t a = 0; a < kVocab; ++a) {
        std::vector<std::pair<std::vector<int32_t>, double>> ends;
        if (a == stop) {
          ends.push_back({{a}, first[a]});
        } else {
          std::vector<int32_t> history = prompt;
          history.push_back(a);
          const std::vector<double> next = log_softmax(model.reference(history));
          for (int32_t b = 0; b < kVocab; ++b) ends.push_back({{a, b}, first[a] + next[b]});
        }
        for (const auto& [tokens, sum] : ends) {
          const double score = sum / std::pow(static_cast<double>(tokens.size()), length_penalty);
          if (score > best)
            second = best, best = score, best_tokens = tokens;
          else
            second = std::max(second, score);
        }
      }
      REQUIRE(best - second > 1e-4);
      GenerationOptions o;
      o.max_new_tokens = 2;
      o.num_beams = kVocab;
      o.stop_ids = {stop};
      o.length_penalty = length_penalty;
      const GenerationResult result = run(model, {prompt}, o)[0];
      INFO("length_penalty " << length_penalty);
      CHECK(result.tokens == best_tokens);
      CHECK(result.score == Approx(best).margin(1e-4));
      CHECK(result.stopped == (best_tokens.back() == stop));
    }
  }
}

TEST_CASE("generation/beam search of a batch with per-row inputs equals each prompt alone", "[generation]") {
  const std::vector<std::vector<float>> bias = {values(kVocab, 11, 2.0f), values(kVocab, 12, 2.0f),
                                                values(kVocab, 13, 2.0f)};
  FakeStepModel batched(bias);
  for (int beams : {1, 2, 3}) {
    for (bool early : {false, true}) {
      GenerationOptions o;
      o.max_new_tokens = 7;
      o.num_beams = beams;
      o.stop_ids = {3};
      o.early_stopping = early;
      o.length_penalty = 0.7;
      const auto together = run(batched, kPrompts, o);
      for (size_t p = 0; p < kPrompts.size(); ++p) {
        FakeStepModel alone({bias[p]});
        const GenerationResult single = run(alone, {kPrompts[p]}, o)[0];
        INFO("beams " << beams << " early " << early << " prompt " << p);
        CHECK(together[p].tokens == single.tokens);
        CHECK(together[p].score == single.score);
        CHECK(together[p].stopped == single.stopped);
        CHECK(together[p].extras.at("history").size() == single.tokens.size());
        if (beams == 1) CHECK(together[p].tokens == reference_greedy(batched, kPrompts[p], o, p));
      }
    }
  }
}

TEST_CASE("generation/bad options and inputs are refused", "[generation]") {
  FakeStepModel model;
  GenerationOptions o;
  o.num_beams = 2;
  o.temperature = 0.7;
  CHECK_THROWS_WITH(run(model, {{5, 6}}, o), Contains("beam search does not sample"));
  o = {};
  o.max_new_tokens = 0;
  CHECK_THROWS_WITH(run(model, {{5, 6}}, o), Contains("max_new_tokens"));
  o = {};
  o.top_p = 0;
  CHECK_THROWS_WITH(run(model, {{5, 6}}, o), Contains("top_p"));
  o = {};
  o.repetition_penalty = 0;
  CHECK_THROWS_WITH(run(model, {{5, 6}}, o), Contains("repetition_penalty"));
  CHECK_THROWS_WITH(run(model, {{5, 6}, {}}, {}), Contains("prompt 1 is empty"));
  CHECK_THROWS_WITH(run(model, {}, {}), Contains("at least one prompt"));
  FakeStepModel with_rows({values(kVocab, 1, 1.0f)});
  CHECK_THROWS_WITH(run(with_rows, {{1}, {2}}, {}), Contains("row input 'row_bias' has 1 rows for 2 prompts"));
}
