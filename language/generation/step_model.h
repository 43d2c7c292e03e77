// What generation needs from a model: the graph of one decoding step over cached keys/values.
// A plain decoder and the vision-language model both implement it; the session and the search
// algorithms (greedy, sampling, beam) know nothing else about the model.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "modules/nn/attention.h"

namespace hanvit::language {

struct StepInputs {
  Var ids;           // i32 (B, T): new tokens (the left-padded prompts, then one token per row)
  Var positions;     // i32 (T): Tp .. Tp+T-1 (shared by rows; see DecoderInputs)
  Var position_ids;  // i32 (B, T): per-row positions counting only real tokens (left padding)
  std::vector<KeyValues> cache;  // per layer (B, Hk, Tp, Dh); empty on the first step
  Var key_mask;                  // u8 (B, Tp + T), 1 = real token
};

struct StepOutputs {
  Var logits;                                 // (B, 1, V): the last position's
  std::vector<KeyValues> cache;               // per layer (B, Hk, Tp + T, Dh)
  std::vector<std::pair<std::string, Var>> extras;  // further named outputs (e.g. attention maps)
};

class StepModel {
 public:
  virtual ~StepModel() = default;
  // Records one step into `g`. Graph inputs other than those of StepInputs and the parameters
  // (e.g. an image's cached visual keys/values) are named by row_inputs().
  virtual StepOutputs build_step(Graph& g, const StepInputs& in) const = 0;
  // Extra per-row inputs the step graph reads, by name, with their tensors (batch first). The
  // session binds them every step and keeps their rows in step with the cache (beam reordering).
  virtual std::vector<std::pair<std::string, Tensor>> row_inputs() const { return {}; }
  virtual int64_t vocab_size() const = 0;
};

}  // namespace hanvit::language
