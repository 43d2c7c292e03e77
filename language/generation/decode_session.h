// DecodeSession: runs a StepModel step by step over B rows, keeping each row's cached keys/values
// (and the model's per-row inputs) and its padding; rows can be reordered, repeated or dropped.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "language/generation/step_model.h"
#include "modules/exec/executor.h"
#include "modules/nn/parameter_store.h"

namespace hanvit::language {

class DecodeSession {
 public:
  DecodeSession(const StepModel& model, const ParameterStore& store, Backend& backend);
  ~DecodeSession();

  // Feeds the prompts (non-empty; left-padded to the longest, the padding masked out of attention,
  // position ids counting real tokens only) and returns the last position's logits, host f32 (B, V).
  // Row b of the model's row_inputs() belongs to prompt b.
  Tensor start(const std::vector<std::vector<int32_t>>& prompts);
  // Feeds one token per row and returns the new logits, host f32 (rows, V).
  Tensor next(const std::vector<int32_t>& tokens);
  // Row i becomes the current row rows[i] (beam reordering, finished rows dropped, rows repeated).
  // The caches are gathered on the backend inside the next step's graph; the model's row inputs
  // and the padding masks on the host. Before start(), only the row inputs are selected.
  void select_rows(const std::vector<int64_t>& rows);
  // The named extras of the last step, host f32, batch first, in that step's row order.
  const std::vector<std::pair<std::string, Tensor>>& extras() const { return extras_; }
  // Appends row `row` of each extra of the last step, flattened, to into[name].
  void append_extras(int64_t row, std::map<std::string, std::vector<std::vector<float>>>& into) const;
  int64_t rows() const { return rows_; }
  int64_t past_length() const { return past_; }  // Tp: positions held in the cache

 private:
  // ids i32 (rows, T); real[b][t] = 0 marks left padding.
  Tensor step(const Tensor& ids, const std::vector<std::vector<uint8_t>>& real);

  const StepModel& model_;
  const ParameterStore& store_;
  Backend& backend_;
  int64_t rows_ = 0, past_ = 0;
  std::vector<std::pair<Tensor, Tensor>> cache_;  // per layer (cache rows, Hk, Tp, Dh), on the backend
  std::vector<int64_t> cache_rows_;               // row i = cache row cache_rows_[i]; empty: the identity
  std::vector<std::pair<std::string, Tensor>> row_inputs_;
  std::vector<std::vector<uint8_t>> mask_;  // per row, Tp entries: 1 = a real token
  std::vector<int32_t> next_position_;      // per row: real tokens so far
  std::unique_ptr<Graph> graph_;            // the last step's, kept while its outputs are the cache
  std::unique_ptr<Executor> exec_;
  std::vector<std::pair<std::string, Tensor>> extras_;
};

}  // namespace hanvit::language
