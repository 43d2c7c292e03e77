// Beam search: per prompt, num_beams running hypotheses in the session's rows and up to num_beams
// finished ones, with Hugging Face's candidate counts, scores (f32) and stopping rules.
#include "language/generation/beam_search.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "language/generation/sampling.h"

namespace hanvit::language {
namespace {

// The score of a beam that must not be chosen (Hugging Face's -1e9): the initial copies of the
// first beam, and candidates that finished when not enough others remain to run on.
constexpr float kExcluded = -1.0e9f;

struct Hypothesis {
  std::vector<int32_t> tokens;
  float sum_logprobs = 0.0f;
  std::map<std::string, std::vector<std::vector<float>>> extras;
};

struct Finished {
  Hypothesis hypothesis;
  float score = 0.0f;
};

struct Candidate {
  float score;  // the beam's sum of log-probabilities with this token
  size_t beam;
  int32_t token;
};

}  // namespace

std::vector<GenerationResult> beam_search(DecodeSession& session, const std::vector<std::vector<int32_t>>& prompts,
                                          const GenerationOptions& o) {
  const size_t beams = static_cast<size_t>(o.num_beams), count = prompts.size();
  const size_t candidates_kept = std::max<size_t>(2, 1 + o.stop_ids.size()) * beams;
  std::vector<std::vector<int32_t>> replicated;
  std::vector<int64_t> prompt_rows;
  for (size_t p = 0; p < count; ++p)
    for (size_t b = 0; b < beams; ++b) replicated.push_back(prompts[p]), prompt_rows.push_back(static_cast<int64_t>(p));
  session.select_rows(prompt_rows);  // the model's per-row inputs, one copy per beam
  Tensor logits = session.start(replicated);

  std::vector<std::vector<Hypothesis>> running(count, std::vector<Hypothesis>(beams));
  for (auto& hypotheses : running)
    for (size_t b = 1; b < beams; ++b) hypotheses[b].sum_logprobs = kExcluded;  // only the first beam expands at first
  std::vector<std::vector<Finished>> finished(count);
  auto add_finished = [&](size_t p, Finished f) {
    std::vector<Finished>& list = finished[p];
    const auto at = std::upper_bound(list.begin(), list.end(), f.score,
                                     [](float score, const Finished& other) { return score > other.score; });
    list.insert(at, std::move(f));
    if (list.size() > beams) list.pop_back();
  };
  std::vector<size_t> live(count);  // prompts still searching, in session row order
  std::iota(live.begin(), live.end(), size_t{0});

  for (int step = 0; step < o.max_new_tokens && !live.empty(); ++step) {
    const size_t vocab = static_cast<size_t>(logits.shape()[1]);
    const bool last = step + 1 == o.max_new_tokens;
    const float normaliser = static_cast<float>(std::pow(static_cast<double>(step + 1), o.length_penalty));
    std::vector<int64_t> next_rows;
    std::vector<int32_t> next_tokens;
    std::vector<size_t> still_live;
    for (size_t i = 0; i < live.size(); ++i) {
      const size_t p = live[i];
      std::vector<Candidate> candidates;
      candidates.reserve(beams * vocab);
      for (size_t b = 0; b < beams; ++b) {
        std::span<float> scores(logits.data<float>() + (i * beams + b) * vocab, vocab);
        suppress_from(scores, o.vocab_limit);
        log_softmax_in_place(scores);
        std::vector<int32_t> seen = prompts[p];
        seen.insert(seen.end(), running[p][b].tokens.begin(), running[p][b].tokens.end());
        apply_repetition_penalty(scores, seen, o.repetition_penalty);
        for (size_t v = 0; v < vocab; ++v)
          candidates.push_back({running[p][b].sum_logprobs + scores[v], b, static_cast<int32_t>(v)});
      }
      const size_t kept = std::min(candidates.size(), candidates_kept);
      std::partial_sort(candidates.begin(), candidates.begin() + static_cast<ptrdiff_t>(kept), candidates.end(),
                        [](const Candidate& a, const Candidate& b) {
                          return a.score > b.score ||
                                 (a.score == b.score && (a.beam < b.beam || (a.beam == b.beam && a.token < b.token)));
                        });
      candidates.resize(kept);
      auto extend = [&](const Candidate& c, float sum_logprobs) {
        Hypothesis h = running[p][c.beam];
        h.tokens.push_back(c.token);
        h.sum_logprobs = sum_logprobs;
        session.append_extras(static_cast<int64_t>(i * beams + c.beam), h.extras);
        return h;
      };
      // A candidate finishes with a stop token, or at the length limit.
      std::vector<float> running_score(kept);
      for (size_t rank = 0; rank < kept; ++rank) {
        const Candidate& c = candidates[rank];
        const bool ends = last || o.is_stop(c.token);
        if (ends && rank < beams) add_finished(p, {extend(c, c.score), c.score / normaliser});
        running_score[rank] = ends ? c.score + kExcluded : c.score;
      }
      if (last) continue;
      std::vector<size_t> order(kept);
      std::iota(order.begin(), order.end(), size_t{0});
      std::stable_sort(order.begin(), order.end(),
                       [&](size_t a, size_t b) { return running_score[a] > running_score[b]; });
      std::vector<Hypothesis> next;
      for (size_t b = 0; b < beams; ++b) {
        const Candidate& c = candidates[order[b]];
        next.push_back(extend(c, running_score[order[b]]));
        next_rows.push_back(static_cast<int64_t>(i * beams + c.beam));
        next_tokens.push_back(c.token);
      }
      running[p] = std::move(next);
      if (finished[p].size() == beams) {
        const float best_running = running[p][0].sum_logprobs / normaliser;
        if (o.early_stopping || !(best_running > finished[p].back().score)) {
          next_rows.resize(next_rows.size() - beams);
          next_tokens.resize(next_tokens.size() - beams);
          continue;
        }
      }
      still_live.push_back(p);
    }
    live = std::move(still_live);
    if (live.empty()) break;
    session.select_rows(next_rows);
    logits = session.next(next_tokens);
  }

  std::vector<GenerationResult> results(count);
  for (size_t p = 0; p < count; ++p) {
    Finished& best = finished[p].front();
    results[p].tokens = std::move(best.hypothesis.tokens);
    results[p].extras = std::move(best.hypothesis.extras);
    results[p].stopped = o.is_stop(results[p].tokens.back());
    results[p].score = best.score;
  }
  return results;
}

}  // namespace hanvit::language
