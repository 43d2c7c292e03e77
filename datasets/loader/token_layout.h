// The token layout of a training sample: THE one place that says which tokens a sample becomes and which carry loss.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "datasets/formats/sample.h"

namespace hanvit::data {

// What the loader needs of a tokenizer: text -> ids, and the special ids (-1 where it has none).
// encode must be safe to call from several threads at once.
struct TextEncoder {
  std::function<std::vector<int32_t>(std::string_view)> encode;
  int32_t bos = -1, eos = -1, pad = -1, user = -1, assistant = -1;
};

// Token ids of one sample and, per token, 1 when it is a training target, else 0.
struct TokenizedSample {
  std::vector<int32_t> tokens;
  std::vector<float> loss_mask;
};

// The layout (a special id of -1 is left out wherever it appears):
//   caption:              [bos] caption [eos]                               loss on: caption, eos
//   vqa / conversation:   [bos] ([user] question [assistant] answer [eos])...  loss on: each answer, its eos
// loss_mask[t] = 1 means tokens[t] is predicted from tokens[..t-1] (the trainer shifts by one).
// The turns used are `turns` (the loader passes the caption it picked for this epoch).
// Sequences longer than max_tokens (0 = no limit) are cut from the end; the result may then hold
// no target at all, which the caller treats as a bad sample.
TokenizedSample lay_out_tokens(SampleKind kind, const std::vector<Turn>& turns, const TextEncoder& encoder,
                               size_t max_tokens);

}  // namespace hanvit::data
