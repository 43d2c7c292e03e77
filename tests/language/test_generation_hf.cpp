// Generation equal to Hugging Face generate() token for token on tiny random LLaMA (GQA) and GPT-2
// checkpoints: greedy, repetition penalty, stop tokens and beam search (num_beams, length_penalty,
// early_stopping), with both prompts batched (left padding) where the reference ran each alone.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>

#include "language/generation/decoder_step_model.h"
#include "language/generation/generate.h"
#include "modules/io/safetensors.h"

using namespace hanvit;
using namespace hanvit::language;
namespace fs = std::filesystem;

namespace {

const fs::path kData = fs::path(HANVIT_TEST_DATA) / "generation";

std::vector<int32_t> ids(const SafetensorsFile& file, const std::string& name) {
  const Tensor t = file.get(name);
  return {t.data<int32_t>(), t.data<int32_t>() + t.numel()};
}

struct Case {
  const char* name;
  int num_beams = 1;
  double length_penalty = 1.0;
  bool early_stopping = false;
  double repetition_penalty = 1.0;
  bool stop = false;
};

const Case kCases[] = {
    {"greedy"},
    {"greedy_penalty", 1, 1.0, false, 1.5},
    {"greedy_stop", 1, 1.0, false, 1.0, true},
    {"beam", 3},
    {"beam_stop", 3, 1.0, false, 1.0, true},
    {"beam_stop_long", 4, 2.0, false, 1.0, true},
    {"beam_stop_two", 2, 1.0, false, 1.0, true},
    {"beam_stop_early", 3, 2.0, true, 1.0, true},
    {"beam_penalty", 3, 1.0, false, 1.5},
};

}  // namespace

TEST_CASE("generation/greedy, penalties, stop tokens and beam search equal Hugging Face generate()", "[generation]") {
  for (const char* model_name : {"llama_gqa", "gpt2"}) {
    ParameterStore store;
    const LoadedDecoder loaded = load_decoder((kData / model_name).string(), store);
    const DecoderStepModel step(*loaded.model);
    const SafetensorsFile expected((kData / model_name / "expected.safetensors").string());
    const std::vector<std::vector<int32_t>> prompts = {ids(expected, "prompt_0"), ids(expected, "prompt_1")};
    REQUIRE(prompts[0].size() != prompts[1].size());
    for (const Case& c : kCases) {
      GenerationOptions o;
      o.max_new_tokens = 20;
      o.num_beams = c.num_beams;
      o.length_penalty = c.length_penalty;
      o.early_stopping = c.early_stopping;
      o.repetition_penalty = c.repetition_penalty;
      if (c.stop) o.stop_ids = ids(expected, "stop_id");
      const std::vector<GenerationResult> got = generate(step, store, cpu_backend(), prompts, o);
      for (size_t p = 0; p < prompts.size(); ++p) {
        INFO(model_name << " " << c.name << " prompt " << p);
        const std::vector<int32_t> want = ids(expected, std::string(c.name) + "_" + std::to_string(p));
        CHECK(got[p].tokens == want);
        CHECK(got[p].stopped == (c.stop && want.back() == o.stop_ids[0]));
        if (c.num_beams > 1)
          CHECK(
              got[p].score ==
              Approx(expected.get(std::string(c.name) + "_score_" + std::to_string(p)).data<float>()[0]).margin(1e-4));
      }
    }
  }
}

TEST_CASE("generation/a vocabulary limit keeps every generated id below it", "[generation]") {
  ParameterStore store;
  const LoadedDecoder loaded = load_decoder((kData / "llama_gqa").string(), store);
  const DecoderStepModel step(*loaded.model);
  GenerationOptions options;
  options.max_new_tokens = 12;
  const std::vector<std::vector<int32_t>> prompts = {{5, 9, 40}, {7}};
  std::vector<int32_t> unlimited;
  for (const GenerationResult& r : generate(step, store, cpu_backend(), prompts, options))
    unlimited.insert(unlimited.end(), r.tokens.begin(), r.tokens.end());
  // A limit below some of the unlimited choices, so that it has to act.
  const int32_t limit = *std::max_element(unlimited.begin(), unlimited.end());
  REQUIRE(limit > 1);
  for (int beams : {1, 3})
    for (double temperature : {0.0, 1.0}) {
      if (beams > 1 && temperature > 0) continue;
      options.num_beams = beams;
      options.temperature = temperature;
      options.vocab_limit = limit;
      for (const GenerationResult& r : generate(step, store, cpu_backend(), prompts, options))
        for (int32_t id : r.tokens) CHECK(id < limit);
    }
}
