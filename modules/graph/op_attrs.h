// Per-op parameters recorded on graph nodes (one struct per op family that needs any).
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "modules/tensor/shape.h"

namespace hanvit {

struct NoAttrs {};
struct ScalarAttrs {  // full, add_scalar, mul_scalar, pow_scalar, masked_fill: the scalar
  double value = 0;
};
struct MatmulAttrs {  // a (..., M, K) or (..., K, M) if trans_a; b likewise; b may be 2-D
  bool trans_a = false;
  bool trans_b = false;
};
struct PermuteAttrs {
  std::vector<int64_t> dims;
};
struct SliceAttrs {  // slice and slice_backward: the slice of the (larger) input shape
  int axis = 0;
  int64_t start = 0, end = 0, step = 1;
};
struct ConcatAttrs {
  int axis = 0;
};
struct ReduceAttrs {  // sum, mean, max, max_backward: sorted, non-negative axes
  std::vector<int> axes;
  bool keepdim = false;
};
struct NormAttrs {
  double eps = 1e-5;
};
struct RopeAttrs {  // rotate-half layout as in Hugging Face LLaMA; inverse rotates back
  double theta = 10000.0;
  double position_scale = 1.0;  // linear RoPE scaling: positions are divided by this
  bool inverse = false;
};
struct AttentionAttrs {  // optional 4th input: key padding mask u8 (B, Tk), 1 = attend
  bool causal = false;
  double scale = 1.0;
};
struct PatchAttrs {  // unfold/fold patches of size patch x patch (stride = patch)
  int64_t patch = 16;
};
struct CrossEntropyAttrs {
  int64_t ignore_index = -100;
  double label_smoothing = 0.0;
};
struct DropoutAttrs {  // counter-based RNG: the mask is a pure function of (seed, element index)
  double p = 0.0;
  uint64_t seed = 0;
};

using OpAttrs = std::variant<NoAttrs, ScalarAttrs, MatmulAttrs, PermuteAttrs, SliceAttrs,
                             ConcatAttrs, ReduceAttrs, NormAttrs, RopeAttrs, AttentionAttrs,
                             PatchAttrs, CrossEntropyAttrs, DropoutAttrs>;

}  // namespace hanvit
