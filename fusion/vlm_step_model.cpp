// One decoding step of the vision-language model over cached text and visual keys/values.
#include "fusion/vlm_step_model.h"

#include "modules/graph/ops.h"

namespace hanvit::fusion {
namespace {

std::string visual_name(size_t i, const char* part) { return "visual." + std::to_string(i) + "." + part; }

}  // namespace

VlmStepModel::VlmStepModel(const VisionLanguageModel& model, std::vector<std::pair<Tensor, Tensor>> visual,
                           bool want_attention)
    : model_(model), visual_(std::move(visual)), want_attention_(want_attention) {
  if (!visual_.empty() && visual_.size() != model.num_visual_kv())
    throw std::invalid_argument("VlmStepModel: expected " + std::to_string(model.num_visual_kv()) +
                                " visual key/value pairs, got " + std::to_string(visual_.size()));
  if (want_attention && (visual_.empty() || model.config().fusion.style != FusionStyle::gated))
    throw std::invalid_argument("attention maps need an image and a model with gated cross-attention blocks");
}

std::vector<std::pair<std::string, Tensor>> VlmStepModel::row_inputs() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t i = 0; i < visual_.size(); ++i) {
    out.emplace_back(visual_name(i, "k"), visual_[i].first);
    out.emplace_back(visual_name(i, "v"), visual_[i].second);
  }
  return out;
}

language::StepOutputs VlmStepModel::build_step(Graph& g, const language::StepInputs& in) const {
  const int64_t batch = in.ids.dim(0);
  TextInputs text;
  text.ids = in.ids;
  text.positions = in.positions;
  text.position_ids = in.position_ids;
  text.cache = in.cache;
  if (in.key_mask.defined()) text.key_mask = in.key_mask;
  text.last_only = true;
  text.want_attention = want_attention_;
  for (size_t i = 0; i < visual_.size(); ++i) {
    Shape k_shape = visual_[i].first.shape(), v_shape = visual_[i].second.shape();
    k_shape[0] = v_shape[0] = batch;  // the session may have dropped or repeated rows
    text.visual.push_back({g.input(visual_name(i, "k"), k_shape), g.input(visual_name(i, "v"), v_shape)});
  }
  ModelOutputs out = model_.forward(text);
  language::StepOutputs step{out.logits, out.cache, {}};
  if (want_attention_) {
    const int64_t t = out.attention.dim(1);
    step.extras.emplace_back("cross_attention", slice(out.attention, 1, t - 1, t));
  }
  return step;
}

}  // namespace hanvit::fusion
