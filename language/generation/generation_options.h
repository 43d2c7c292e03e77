// How to generate: length, stop tokens, greedy / sampling (temperature, top-k, top-p), repetition
// penalty, beam search, with Hugging Face generate()'s meaning for each.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace hanvit::language {

struct GenerationOptions {
  int max_new_tokens = 32;
  std::vector<int32_t> stop_ids;  // generation of a row ends after one of these (it is kept in the output)
  double temperature = 0.0;       // 0: greedy; > 0: sample from softmax(logits / temperature)
  int top_k = 0;                  // sampling: keep the k largest logits (ties kept); 0: all
  double top_p = 1.0;             // sampling: keep the smallest set of tokens with probability >= top_p
  double repetition_penalty = 1.0;  // > 1 discourages tokens already in the prompt or the output
  uint64_t seed = 0;              // sampling
  int num_beams = 1;              // > 1: beam search (deterministic; temperature must be 0)
  double length_penalty = 1.0;    // beam search: hypotheses scored sum(log p) / length^length_penalty
  bool early_stopping = false;    // beam search: stop a prompt once num_beams hypotheses have finished
};

struct GenerationResult {
  std::vector<int32_t> tokens;  // generated ids, without the prompt, with the stop token if one ended it
  bool stopped = false;         // ended by a stop token (else by max_new_tokens)
  double score = 0.0;           // beam search: the hypothesis score
  // Per named step extra of the model (e.g. "cross_attention"), one row of values per generated token.
  std::map<std::string, std::vector<std::vector<float>>> extras;
};

}  // namespace hanvit::language
