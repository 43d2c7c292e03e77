// Embedding: a (num, dim) table looked up by integer ids.
#pragma once

#include "modules/nn/module.h"

namespace hanvit {

// Parameter "weight" (num, dim), init N(0, 1) as torch's nn.Embedding.
class Embedding : public Module {
 public:
  Embedding(int64_t num, int64_t dim);

  // ids i32 (...) -> (..., dim)
  Var forward(Var ids) const;

  int64_t num_embeddings() const { return num_; }
  int64_t dim() const { return dim_; }

 private:
  int64_t num_, dim_;
};

}  // namespace hanvit
