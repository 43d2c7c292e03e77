// How to generate (length, stop tokens, greedy or sampling with temperature / top-k / top-p,
// repetition penalty, beam search) with Hugging Face generate()'s meaning for each, and what comes back.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace hanvit::language {

struct GenerationOptions {
  int max_new_tokens = 32;
  std::vector<int32_t> stop_ids;    // a row ends after generating one of these (kept in its output): eos ids
  double temperature = 0.0;         // 0: greedy (do_sample=False); > 0: sample from softmax(logits / temperature)
  int top_k = 0;                    // sampling: keep the k largest logits (ties kept); 0: all
  double top_p = 1.0;               // sampling: keep the smallest set of tokens with probability >= top_p
  double repetition_penalty = 1.0;  // > 1 discourages tokens already in the prompt or the output
  uint64_t seed = 0;                // sampling: prompt p draws from stream p of this seed
  int num_beams = 1;                // > 1: beam search (deterministic; temperature must be 0)
  double length_penalty = 1.0;      // beam search: finished hypotheses scored sum(log p) / generated^length_penalty
  bool early_stopping = false;      // beam search: a prompt ends as soon as num_beams hypotheses have finished
  // > 0: ids at or above it are never generated — the model's vocabulary can be larger than its
  // tokenizer's (padded embedding tables, or a tokenizer trained after the model was composed).
  int64_t vocab_limit = 0;

  bool is_stop(int32_t id) const;
};

inline bool GenerationOptions::is_stop(int32_t id) const {
  return std::find(stop_ids.begin(), stop_ids.end(), id) != stop_ids.end();
}

struct GenerationResult {
  std::vector<int32_t> tokens;  // generated ids, without the prompt, with the stop token if one ended it
  bool stopped = false;         // ended by a stop token (else by max_new_tokens)
  double score = 0.0;           // beam search: the hypothesis' score
  // Per named step extra of the model (e.g. "cross_attention"): for each generated token, the values of
  // the step that chose it, flattened, for that token's row.
  std::map<std::string, std::vector<std::vector<float>>> extras;
};

}  // namespace hanvit::language
