// Token layout of captions, VQA and conversations with their loss masks.
#include "datasets/loader/token_layout.h"

namespace hanvit::data {

namespace {

void push(TokenizedSample& out, int32_t id, float loss) {
  if (id < 0) return;
  out.tokens.push_back(id);
  out.loss_mask.push_back(loss);
}

void push_text(TokenizedSample& out, const TextEncoder& encoder, std::string_view text, float loss) {
  for (const int32_t id : encoder.encode(text)) push(out, id, loss);
}

}  // namespace

TokenizedSample lay_out_tokens(SampleKind kind, const std::vector<Turn>& turns, const TextEncoder& encoder,
                               size_t max_tokens) {
  TokenizedSample out;
  push(out, encoder.bos, 0.0f);
  for (const Turn& turn : turns) {
    if (kind != SampleKind::caption) {
      push(out, encoder.user, 0.0f);
      push_text(out, encoder, turn.user, 0.0f);
      push(out, encoder.assistant, 0.0f);
    }
    push_text(out, encoder, turn.assistant, 1.0f);
    push(out, encoder.eos, 1.0f);
  }
  if (max_tokens > 0 && out.tokens.size() > max_tokens) {
    out.tokens.resize(max_tokens);
    out.loss_mask.resize(max_tokens);
  }
  return out;
}

}  // namespace hanvit::data
