// THE op list: every graph op once, with its input count (-1: variable) and whether it has a
// backward rule. Enum, names, arity, the backward table and every backend's kernel table
// are generated from it.
#pragma once

#include <cstddef>
#include <string_view>

// X(name, arity, differentiable)
#define HANVIT_OPS(X)                                                                    \
  /* leaves */                                                                           \
  X(input, 0, 0) X(parameter, 0, 0) X(constant, 0, 0) X(full, 0, 0)                     \
  /* broadcasting binary */                                                              \
  X(add, 2, 1) X(sub, 2, 1) X(mul, 2, 1) X(div, 2, 1)                                    \
  /* scalar */                                                                           \
  X(add_scalar, 1, 1) X(mul_scalar, 1, 1) X(pow_scalar, 1, 1)                            \
  /* unary */                                                                            \
  X(neg, 1, 1) X(exp, 1, 1) X(log, 1, 1) X(sqrt, 1, 1) X(rsqrt, 1, 1) X(tanh, 1, 1)      \
  X(gelu_tanh, 1, 1) X(gelu_erf, 1, 1) X(silu, 1, 1) X(swiglu, 2, 1)                     \
  X(gelu_tanh_backward, 2, 0) X(gelu_erf_backward, 2, 0) X(silu_backward, 2, 0)          \
  /* selection */                                                                        \
  X(where, 3, 1) X(masked_fill, 2, 1) X(dropout, 1, 1) X(cast, 1, 1)                     \
  /* linear algebra */                                                                   \
  X(matmul, 2, 1)                                                                        \
  /* layout */                                                                           \
  X(view, 1, 1) X(permute, 1, 1) X(slice, 1, 1) X(slice_backward, 1, 0)                  \
  X(concat, -1, 1) X(expand, 1, 1)                                                       \
  /* reductions */                                                                       \
  X(sum, 1, 1) X(mean, 1, 1) X(max, 1, 1) X(max_backward, 3, 0)                          \
  /* softmax family */                                                                   \
  X(softmax, 1, 1) X(log_softmax, 1, 1) X(softmax_backward, 2, 0)                        \
  X(log_softmax_backward, 2, 0) X(cross_entropy, 2, 1) X(cross_entropy_backward, 3, 0)   \
  /* normalisation */                                                                    \
  X(layer_norm, 3, 1) X(layer_norm_backward, 3, 0) X(rms_norm, 2, 1)                     \
  X(rms_norm_backward, 3, 0)                                                             \
  /* transformer pieces */                                                               \
  X(embedding, 2, 1) X(embedding_backward, 2, 0) X(rope, 2, 1)                           \
  X(attention, -1, 1) X(attention_backward, -1, 0)                                       \
  X(unfold_patches, 1, 1) X(fold_patches, 1, 0)

namespace hanvit {

enum class OpKind : int {
#define HANVIT_OP_ENUM(name, arity, differentiable) name,
  HANVIT_OPS(HANVIT_OP_ENUM)
#undef HANVIT_OP_ENUM
};

inline constexpr size_t kOpCount = 0
#define HANVIT_OP_COUNT(name, arity, differentiable) +1
    HANVIT_OPS(HANVIT_OP_COUNT)
#undef HANVIT_OP_COUNT
    ;
// Adding an op changes this number on purpose: update the builder, backward rule, CPU kernel,
// CUDA kernel and the cross-backend test case together, then this count.
static_assert(kOpCount == 56, "op list changed: update every table listed in docs/ARCHITECTURE.md");

std::string_view op_name(OpKind op);
int op_arity(OpKind op);  // -1: variable
bool op_differentiable(OpKind op);

}  // namespace hanvit
