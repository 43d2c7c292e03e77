// Generation: greedy and beam search token for token equal to Hugging Face generate() on LLaMA and
// GPT-2, batching with padding equal to one prompt at a time, sampling, stop tokens, and the logits
// processors on hand-checked rows.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <limits>

#include "language/generation/decoder_step_model.h"
#include "language/generation/generate.h"
#include "language/generation/logits_processing.h"
#include "modules/io/safetensors.h"

using namespace hanvit;
using namespace hanvit::language;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

const fs::path kDecoderData = fs::path(HANVIT_TEST_DATA) / "decoder";

std::vector<std::vector<int32_t>> rows_of(const Tensor& ids, int64_t columns) {
  std::vector<std::vector<int32_t>> out;
  const int64_t width = ids.shape()[1];
  for (int64_t b = 0; b < ids.shape()[0]; ++b)
    out.emplace_back(ids.data<int32_t>() + b * width, ids.data<int32_t>() + b * width + columns);
  return out;
}

struct Fixture {
  ParameterStore store;
  LoadedDecoder loaded;
  std::unique_ptr<DecoderStepModel> step;
  explicit Fixture(const std::string& name) {
    loaded = load_decoder((kDecoderData / name).string(), store);
    step = std::make_unique<DecoderStepModel>(*loaded.model);
  }
  std::vector<GenerationResult> run(const std::vector<std::vector<int32_t>>& prompts, const GenerationOptions& o) {
    return generate(*step, store, cpu_backend(), prompts, o);
  }
};

}  // namespace

TEST_CASE("generation/greedy and beam search equal Hugging Face generate() token for token", "[generation]") {
  for (const char* name : {"llama_gqa", "gpt2"}) {
    INFO(name);
    Fixture f(name);
    SafetensorsFile expected((kDecoderData / name / "expected.safetensors").string());
    const auto prompts = rows_of(expected.get("input_ids"), 5);
    GenerationOptions greedy;
    greedy.max_new_tokens = 20;
    std::vector<GenerationResult> got = f.run(prompts, greedy);
    const auto want_greedy = rows_of(expected.get("greedy_ids"), 20);
    for (size_t b = 0; b < prompts.size(); ++b) {
      CHECK(got[b].tokens == want_greedy[b]);
      CHECK_FALSE(got[b].stopped);
    }
    GenerationOptions beam = greedy;
    beam.num_beams = 3;
    got = f.run(prompts, beam);
    const auto want_beam = rows_of(expected.get("beam_ids"), 20);
    for (size_t b = 0; b < prompts.size(); ++b) CHECK(got[b].tokens == want_beam[b]);
  }
}

TEST_CASE("generation/a batch with left padding equals each prompt alone", "[generation]") {
  for (const char* name : {"llama_gqa", "gpt2"}) {
    INFO(name);
    Fixture f(name);
    SafetensorsFile expected((kDecoderData / name / "expected.safetensors").string());
    const auto rows = rows_of(expected.get("input_ids"), 12);
    const std::vector<std::vector<int32_t>> prompts = {
        {rows[0].begin(), rows[0].begin() + 3}, {rows[1].begin(), rows[1].begin() + 9}, {rows[0].begin(), rows[0].end()}};
    for (int beams : {1, 2}) {
      GenerationOptions o;
      o.max_new_tokens = 8;
      o.num_beams = beams;
      o.stop_ids = {rows[1][10]};
      const std::vector<GenerationResult> together = f.run(prompts, o);
      for (size_t p = 0; p < prompts.size(); ++p) {
        const GenerationResult alone = f.run({prompts[p]}, o)[0];
        CHECK(together[p].tokens == alone.tokens);
        CHECK(together[p].stopped == alone.stopped);
      }
    }
  }
}

TEST_CASE("generation/sampling is reproducible per seed; top-k 1 and a tiny top-p are greedy; stop tokens end a row",
          "[generation]") {
  Fixture f("llama_gqa");
  SafetensorsFile expected((kDecoderData / "llama_gqa" / "expected.safetensors").string());
  const auto prompts = rows_of(expected.get("input_ids"), 5);
  GenerationOptions greedy;
  greedy.max_new_tokens = 12;
  const auto reference = f.run(prompts, greedy);

  GenerationOptions sample = greedy;
  sample.temperature = 1.5;
  sample.seed = 11;
  const auto a = f.run(prompts, sample), b = f.run(prompts, sample);
  sample.seed = 12;
  const auto c = f.run(prompts, sample);
  CHECK(a[0].tokens == b[0].tokens);
  CHECK(a[1].tokens == b[1].tokens);
  CHECK((a[0].tokens != c[0].tokens || a[1].tokens != c[1].tokens));
  CHECK((a[0].tokens != reference[0].tokens || a[1].tokens != reference[1].tokens));

  GenerationOptions top1 = sample;
  top1.top_k = 1;
  CHECK(f.run(prompts, top1)[0].tokens == reference[0].tokens);
  GenerationOptions nucleus = sample;
  nucleus.top_p = 1e-6;
  CHECK(f.run(prompts, nucleus)[1].tokens == reference[1].tokens);

  GenerationOptions stop = greedy;
  stop.stop_ids = {reference[0].tokens[3]};
  const auto stopped = f.run(prompts, stop);
  CHECK(stopped[0].stopped);
  CHECK(stopped[0].tokens == std::vector<int32_t>(reference[0].tokens.begin(), reference[0].tokens.begin() + 4));

  GenerationOptions penalised = greedy;
  penalised.repetition_penalty = 1e6;  // no token may come back
  const auto distinct = f.run(prompts, penalised);
  for (const GenerationResult& r : distinct) {
    std::vector<int32_t> all = prompts[&r - distinct.data()];
    all.insert(all.end(), r.tokens.begin(), r.tokens.end());
    std::sort(all.begin(), all.end());
    CHECK(std::adjacent_find(all.begin() + static_cast<ptrdiff_t>(prompts[0].size()), all.end()) == all.end());
  }
}

TEST_CASE("generation/logits processors on hand-checked rows", "[generation]") {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> row = {2.0f, -1.0f, 0.5f, 3.0f};
  apply_repetition_penalty(row, std::vector<int32_t>{0, 1, 1}, 2.0);
  CHECK(row == std::vector<float>{1.0f, -2.0f, 0.5f, 3.0f});

  std::vector<float> ties = {1.0f, 3.0f, 2.0f, 2.0f, 0.0f};
  apply_top_k(ties, 2);
  CHECK(ties == std::vector<float>{-inf, 3.0f, 2.0f, 2.0f, -inf});

  // Probabilities 0.5, 0.25, 0.125, 0.125: top_p 0.6 keeps the first two, 0.5 only the first.
  const std::vector<float> base = {std::log(0.5f), std::log(0.25f), std::log(0.125f), std::log(0.125f)};
  std::vector<float> nucleus = base;
  apply_top_p(nucleus, 0.6);
  CHECK(std::isfinite(nucleus[0]));
  CHECK(std::isfinite(nucleus[1]));
  CHECK(nucleus[2] == -inf);
  nucleus = base;
  apply_top_p(nucleus, 0.5);
  CHECK(nucleus[1] == -inf);

  std::vector<float> logs = {0.0f, std::log(3.0f)};
  log_softmax_in_place(logs);
  CHECK(logs[0] == Approx(std::log(0.25)));
  CHECK(argmax(std::vector<float>{1.0f, 5.0f, 5.0f}) == 1);

  data::Rng rng(3);
  int counts[3] = {0, 0, 0};
  const std::vector<float> probs = {std::log(0.2f), -inf, std::log(0.8f)};
  for (int i = 0; i < 20000; ++i) ++counts[sample_from(probs, rng)];
  CHECK(counts[1] == 0);
  CHECK(counts[2] / 20000.0 == Approx(0.8).margin(0.02));
}

TEST_CASE("generation/bad options are refused", "[generation]") {
  Fixture f("gpt2");
  GenerationOptions o;
  o.num_beams = 2;
  o.temperature = 0.7;
  CHECK_THROWS_WITH(f.run({{5, 6}}, o), Contains("beam search does not sample"));
  o = {};
  o.max_new_tokens = 0;
  CHECK_THROWS_WITH(f.run({{5, 6}}, o), Contains("max_new_tokens"));
  o = {};
  o.top_p = 0;
  CHECK_THROWS_WITH(f.run({{5, 6}}, o), Contains("top_p"));
  CHECK_THROWS_WITH(f.run({{5, 6}, {}}, {}), Contains("non-empty prompt"));
}
