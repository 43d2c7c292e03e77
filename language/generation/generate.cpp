// generate(): the greedy / sampling loop, in which finished rows leave the session, and the dispatch
// to beam search.
#include "language/generation/generate.h"

#include <numeric>
#include <stdexcept>

#include "language/generation/beam_search.h"
#include "language/generation/decode_session.h"
#include "language/generation/sampling.h"

namespace hanvit::language {
namespace {

std::vector<GenerationResult> greedy_or_sample(DecodeSession& session, const std::vector<std::vector<int32_t>>& prompts,
                                               const GenerationOptions& o) {
  std::vector<GenerationResult> results(prompts.size());
  std::vector<std::vector<int32_t>> seen = prompts;  // for the repetition penalty
  std::vector<size_t> active(prompts.size());        // session row -> prompt
  std::iota(active.begin(), active.end(), size_t{0});
  std::vector<Rng> rngs;  // one stream per prompt
  for (size_t p = 0; p < prompts.size(); ++p) rngs.emplace_back(derive_seed(o.seed, p));
  Tensor logits = session.start(prompts);
  for (int step = 0; step < o.max_new_tokens; ++step) {
    const size_t vocab = static_cast<size_t>(logits.shape()[1]);
    std::vector<int32_t> chosen;
    std::vector<int64_t> keep;
    for (size_t r = 0; r < active.size(); ++r) {
      const size_t p = active[r];
      const int32_t token = choose_token({logits.data<float>() + r * vocab, vocab}, seen[p], o, rngs[p]);
      results[p].tokens.push_back(token);
      seen[p].push_back(token);
      session.append_extras(static_cast<int64_t>(r), results[p].extras);
      if (o.is_stop(token)) {
        results[p].stopped = true;
        continue;
      }
      keep.push_back(static_cast<int64_t>(r));
      chosen.push_back(token);
    }
    if (keep.empty() || step + 1 == o.max_new_tokens) break;
    if (keep.size() != active.size()) {
      std::vector<size_t> still;
      for (int64_t r : keep) still.push_back(active[static_cast<size_t>(r)]);
      session.select_rows(keep);
      active = std::move(still);
    }
    logits = session.next(chosen);
  }
  return results;
}

}  // namespace

void check_generation_options(const GenerationOptions& o) {
  if (o.max_new_tokens < 1) throw std::invalid_argument("max_new_tokens must be at least 1");
  if (o.num_beams < 1) throw std::invalid_argument("num_beams must be at least 1");
  if (!(o.temperature >= 0)) throw std::invalid_argument("temperature must be >= 0");
  if (o.num_beams > 1 && o.temperature > 0)
    throw std::invalid_argument("beam search does not sample: use temperature 0 with num_beams > 1");
  if (!(o.top_p > 0 && o.top_p <= 1)) throw std::invalid_argument("top_p must be in (0, 1]");
  if (!(o.repetition_penalty > 0)) throw std::invalid_argument("repetition_penalty must be > 0");
}

std::vector<GenerationResult> generate(const StepModel& model, const ParameterStore& store, Backend& backend,
                                       const std::vector<std::vector<int32_t>>& prompts,
                                       const GenerationOptions& options) {
  check_generation_options(options);
  DecodeSession session(model, store, backend);
  return options.num_beams > 1 ? beam_search(session, prompts, options) : greedy_or_sample(session, prompts, options);
}

}  // namespace hanvit::language
