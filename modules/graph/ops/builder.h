// Shared checks and node recording for op builders.
#pragma once

#include <string>
#include <vector>

#include "modules/graph/ops.h"

namespace hanvit {

// Records op(inputs) with the given output shape/dtype/attributes. All inputs must be defined
// and belong to one graph.
Var record_op(OpKind op, const std::vector<Var>& inputs, const Shape& shape, DType dtype, OpAttrs attrs = NoAttrs{});

// Throws "<op>: <what> must be <dtype>, got f32(2,3)".
void require_dtype(const char* op, const char* what, Var v, DType dtype);
// Throws "<op>: needs a floating-point tensor for i32(2,3)".
void require_float(const char* op, Var v);
// Throws unless v is floating-point with the dtype of `like` (itself checked to be floating-point).
void require_float_like(const char* op, const char* what, Var v, Var like);
// Throws "<op>: <what> must have rank <rank>, got f32(2,3)".
void require_rank(const char* op, const char* what, Var v, size_t rank);
// "<op>: <message> for <a.str()>, <b.str()>..." as std::invalid_argument.
[[noreturn]] void op_error(const char* op, const std::string& message, const std::vector<Var>& vars);

}  // namespace hanvit
