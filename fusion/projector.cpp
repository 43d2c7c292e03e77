// Projector from vision width to text width.
#include "fusion/projector.h"

#include "modules/graph/ops.h"

namespace hanvit::fusion {
namespace {

std::shared_ptr<Linear> projection(int64_t in, int64_t out) {
  auto linear = std::make_shared<Linear>(in, out);
  linear->set_init("weight", Init::normal(0.02));
  linear->set_init("bias", Init::zeros());
  return linear;
}

}  // namespace

Projector::Projector(ProjectorKind kind, int64_t vision_dim, int64_t text_dim)
    : Module("Projector"), kind_(kind) {
  if (kind == ProjectorKind::linear) {
    linear_ = register_module("linear", projection(vision_dim, text_dim));
  } else {
    fc1_ = register_module("fc1", projection(vision_dim, text_dim));
    fc2_ = register_module("fc2", projection(text_dim, text_dim));
  }
}

Var Projector::forward(Var vision_tokens) const {
  if (kind_ == ProjectorKind::linear) return linear_->forward(vision_tokens);
  return fc2_->forward(gelu_erf(fc1_->forward(vision_tokens)));
}

}  // namespace hanvit::fusion
