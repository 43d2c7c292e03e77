// Embedding: the table parameter and its lookup.
#include "modules/nn/embedding.h"

#include "modules/graph/ops.h"

namespace hanvit {

Embedding::Embedding(int64_t num, int64_t dim) : Module("Embedding"), num_(num), dim_(dim) {
  if (num <= 0 || dim <= 0)
    fail("sizes must be positive, got num=" + std::to_string(num) + " dim=" + std::to_string(dim));
  register_parameter("weight", {num, dim}, Init::normal(1.0));
}

Var Embedding::forward(Var ids) const {
  if (ids.dtype() != DType::i32) fail("ids must be i32, got " + ids.str());
  return embedding(param(ids.graph(), "weight"), ids);
}

}  // namespace hanvit
