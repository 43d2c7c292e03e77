// DecoderStepModel: one decoding step of a decoder LM with last-position logits.
#include "language/generation/decoder_step_model.h"

namespace hanvit::language {

StepOutputs DecoderStepModel::build_step(Graph&, const StepInputs& in) const {
  DecoderInputs inputs;
  inputs.ids = in.ids;
  inputs.positions = in.positions;
  inputs.position_ids = in.position_ids;
  inputs.cache = in.cache;
  if (in.key_mask.defined()) inputs.key_mask = in.key_mask;
  inputs.last_only = true;
  DecoderOutputs out = model_.forward(inputs);
  return {out.logits, out.cache, {}};
}

}  // namespace hanvit::language
