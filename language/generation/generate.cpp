// generate(): the decoding loops. Greedy and sampling drop finished rows; beam search keeps
// num_beams rows per prompt and scores finished hypotheses as Hugging Face's generate() does.
#include "language/generation/generate.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "language/generation/decode_session.h"
#include "language/generation/logits_processing.h"

namespace hanvit::language {
namespace {

void check_options(const GenerationOptions& o) {
  if (o.max_new_tokens < 1) throw std::invalid_argument("max_new_tokens must be at least 1");
  if (o.num_beams < 1) throw std::invalid_argument("num_beams must be at least 1");
  if (o.num_beams > 1 && o.temperature > 0) throw std::invalid_argument("beam search does not sample: use temperature 0");
  if (!(o.temperature >= 0)) throw std::invalid_argument("temperature must be >= 0");
  if (!(o.top_p > 0 && o.top_p <= 1)) throw std::invalid_argument("top_p must be in (0, 1]");
  if (!(o.repetition_penalty > 0)) throw std::invalid_argument("repetition_penalty must be > 0");
}

bool is_stop(const GenerationOptions& o, int32_t id) {
  return std::find(o.stop_ids.begin(), o.stop_ids.end(), id) != o.stop_ids.end();
}

std::vector<float> extra_row(const Tensor& extra, int64_t row) {
  const int64_t width = extra.numel() / extra.shape()[0];
  const float* begin = extra.data<float>() + row * width;
  return {begin, begin + width};
}

// Greedy or sampled continuation of every prompt; rows leave the session when they finish.
std::vector<GenerationResult> decode_rows(DecodeSession& session, const std::vector<std::vector<int32_t>>& prompts,
                                          const GenerationOptions& o) {
  std::vector<GenerationResult> results(prompts.size());
  std::vector<std::vector<int32_t>> seen = prompts;  // for the repetition penalty
  std::vector<int64_t> active(prompts.size());       // session row -> prompt
  std::iota(active.begin(), active.end(), int64_t{0});
  std::vector<data::Rng> rngs;
  for (size_t p = 0; p < prompts.size(); ++p) rngs.emplace_back(data::derive_seed(o.seed, p));
  Tensor logits = session.start(prompts);
  for (int step = 0; step < o.max_new_tokens && !active.empty(); ++step) {
    const int64_t vocab = logits.shape()[1];
    std::vector<int32_t> chosen(active.size());
    std::vector<int64_t> keep;
    for (size_t r = 0; r < active.size(); ++r) {
      const size_t p = static_cast<size_t>(active[r]);
      std::span<float> row(logits.data<float>() + static_cast<int64_t>(r) * vocab, static_cast<size_t>(vocab));
      apply_repetition_penalty(row, seen[p], o.repetition_penalty);
      if (o.temperature > 0) {
        for (float& s : row) s = static_cast<float>(s / o.temperature);
        apply_top_k(row, o.top_k);
        apply_top_p(row, o.top_p);
        chosen[r] = sample_from(row, rngs[p]);
      } else {
        chosen[r] = argmax(row);
      }
      GenerationResult& result = results[p];
      result.tokens.push_back(chosen[r]);
      seen[p].push_back(chosen[r]);
      for (const auto& [name, extra] : session.extras()) result.extras[name].push_back(extra_row(extra, static_cast<int64_t>(r)));
      if (is_stop(o, chosen[r]))
        result.stopped = true;
      else
        keep.push_back(static_cast<int64_t>(r));
    }
    if (step + 1 == o.max_new_tokens) break;
    if (keep.size() != active.size()) {
      if (keep.empty()) break;
      std::vector<int64_t> still;
      std::vector<int32_t> tokens;
      for (int64_t r : keep) still.push_back(active[static_cast<size_t>(r)]), tokens.push_back(chosen[static_cast<size_t>(r)]);
      session.select_rows(keep);
      active = std::move(still);
      chosen = std::move(tokens);
    }
    logits = session.next(chosen);
  }
  return results;
}

struct Hypothesis {
  std::vector<int32_t> tokens;
  double sum_logprobs = 0.0;
  std::map<std::string, std::vector<std::vector<float>>> extras;
};

struct Finished {
  Hypothesis hypothesis;
  double score = 0.0;
  bool stopped = false;
};

// Beam search over num_beams rows per prompt (rows p*num_beams .. (p+1)*num_beams-1).
std::vector<GenerationResult> beam_search(DecodeSession& session, const std::vector<std::vector<int32_t>>& prompts,
                                          const GenerationOptions& o) {
  const size_t beams = static_cast<size_t>(o.num_beams), count = prompts.size();
  std::vector<std::vector<int32_t>> replicated;
  std::vector<int64_t> rows;
  for (size_t p = 0; p < count; ++p)
    for (size_t b = 0; b < beams; ++b) replicated.push_back(prompts[p]), rows.push_back(static_cast<int64_t>(p));
  session.select_rows(rows);  // the model's per-row inputs, one copy per beam
  Tensor logits = session.start(replicated);
  std::vector<std::vector<Hypothesis>> running(count, std::vector<Hypothesis>(beams));
  std::vector<std::vector<Finished>> finished(count);
  std::vector<bool> done(count, false);
  auto length_norm = [&](size_t length) { return std::pow(static_cast<double>(length), o.length_penalty); };
  auto add_finished = [&](size_t p, Finished f) {
    std::vector<Finished>& list = finished[p];
    list.push_back(std::move(f));
    std::stable_sort(list.begin(), list.end(), [](const Finished& a, const Finished& b) { return a.score > b.score; });
    if (list.size() > beams) list.pop_back();
  };
  std::vector<size_t> live;  // prompts still searching, in session row order
  for (size_t p = 0; p < count; ++p) live.push_back(p);

  for (int step = 0; step < o.max_new_tokens && !live.empty(); ++step) {
    const int64_t vocab = logits.shape()[1];
    const bool last = step + 1 == o.max_new_tokens;
    std::vector<int64_t> next_rows;
    std::vector<int32_t> next_tokens;
    std::vector<size_t> still_live;
    for (size_t i = 0; i < live.size(); ++i) {
      const size_t p = live[i];
      struct Candidate {
        double score;
        size_t beam;
        int32_t token;
      };
      std::vector<Candidate> candidates;
      for (size_t b = 0; b < beams; ++b) {
        if (step == 0 && b > 0) break;  // identical beams: only the first expands at the start
        const int64_t row = static_cast<int64_t>(i * beams + b);
        std::span<float> scores(logits.data<float>() + row * vocab, static_cast<size_t>(vocab));
        log_softmax_in_place(scores);
        std::vector<int32_t> seen = prompts[p];
        seen.insert(seen.end(), running[p][b].tokens.begin(), running[p][b].tokens.end());
        apply_repetition_penalty(scores, seen, o.repetition_penalty);
        for (int32_t v = 0; v < vocab; ++v)
          candidates.push_back({running[p][b].sum_logprobs + scores[static_cast<size_t>(v)], b, v});
      }
      // Enough candidates that num_beams of them continue even if each stop token takes one per beam.
      const size_t keep = std::min(candidates.size(), (1 + o.stop_ids.size()) * beams);
      std::partial_sort(candidates.begin(), candidates.begin() + static_cast<ptrdiff_t>(keep), candidates.end(),
                        [](const Candidate& a, const Candidate& b) {
                          return a.score > b.score || (a.score == b.score && (a.beam < b.beam ||
                                                                              (a.beam == b.beam && a.token < b.token)));
                        });
      std::vector<Hypothesis> next;
      std::vector<int64_t> parents;
      const size_t generated = static_cast<size_t>(step) + 1;
      for (size_t rank = 0; rank < keep && next.size() < beams; ++rank) {
        const Candidate& c = candidates[rank];
        const int64_t parent_row = static_cast<int64_t>(i * beams + c.beam);
        Hypothesis h = running[p][c.beam];
        h.tokens.push_back(c.token);
        h.sum_logprobs = c.score;
        for (const auto& [name, extra] : session.extras()) h.extras[name].push_back(extra_row(extra, parent_row));
        if (is_stop(o, c.token)) {
          if (rank < beams) add_finished(p, {std::move(h), c.score / length_norm(generated), true});
          continue;
        }
        next.push_back(std::move(h));
        parents.push_back(parent_row);
      }
      running[p] = std::move(next);
      // Done when every running beam has hit the length limit, or (early_stopping) when num_beams
      // hypotheses have finished, or when no running beam can beat the worst finished one.
      bool prompt_done = last;
      if (finished[p].size() == beams) {
        const double best_running = running[p].empty() ? -INFINITY : running[p][0].sum_logprobs / length_norm(generated);
        prompt_done = prompt_done || o.early_stopping || best_running <= finished[p].back().score;
      }
      if (running[p].empty()) prompt_done = true;
      if (prompt_done) {
        for (Hypothesis& h : running[p]) {
          const double score = h.sum_logprobs / length_norm(h.tokens.size());
          add_finished(p, {std::move(h), score, false});
        }
        running[p].clear();
        done[p] = true;
        continue;
      }
      still_live.push_back(p);
      for (size_t b = 0; b < beams; ++b) {
        next_rows.push_back(parents[b]);
        next_tokens.push_back(running[p][b].tokens.back());
      }
    }
    live = std::move(still_live);
    if (live.empty()) break;
    session.select_rows(next_rows);
    logits = session.next(next_tokens);
  }
  std::vector<GenerationResult> results(count);
  for (size_t p = 0; p < count; ++p) {
    if (finished[p].empty()) continue;
    Finished& best = finished[p].front();
    results[p].tokens = std::move(best.hypothesis.tokens);
    results[p].extras = std::move(best.hypothesis.extras);
    results[p].stopped = best.stopped;
    results[p].score = best.score;
  }
  return results;
}

}  // namespace

std::vector<GenerationResult> generate(const StepModel& model, const ParameterStore& store, Backend& backend,
                                       const std::vector<std::vector<int32_t>>& prompts,
                                       const GenerationOptions& options) {
  check_options(options);
  DecodeSession session(model, store, backend);
  return options.num_beams > 1 ? beam_search(session, prompts, options) : decode_rows(session, prompts, options);
}

}  // namespace hanvit::language
