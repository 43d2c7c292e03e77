// Generation equal to Hugging Face generate() token for token on tiny random LLaMA (GQA) and GPT-2
// checkpoints: greedy, repetition penalty, stop tokens and beam search (num_beams, length_penalty,
// early_stopping), with both prompts batched (left padding) where the reference ran each alone.
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
