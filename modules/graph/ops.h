// Op builders: each checks shapes and dtypes (errors name the op and the shapes) and records
// one node. The backward rule of each op sits beside its builder in modules/graph/ops/.
#pragma once

#include <optional>

#include "modules/graph/graph.h"

namespace hanvit {

// ---- leaves (graph.h has input/parameter/constant) ----
Var full(Graph& g, const Shape& shape, double value, DType dtype = DType::f32);

// ---- broadcasting binary, f32 ----
Var add(Var a, Var b);
Var sub(Var a, Var b);
Var mul(Var a, Var b);
Var div(Var a, Var b);
inline Var operator+(Var a, Var b) { return add(a, b); }
inline Var operator-(Var a, Var b) { return sub(a, b); }
inline Var operator*(Var a, Var b) { return mul(a, b); }
inline Var operator/(Var a, Var b) { return div(a, b); }

// ---- scalar ----
Var add_scalar(Var x, double s);
Var mul_scalar(Var x, double s);
Var pow_scalar(Var x, double p);  // x^p

// ---- unary ----
Var neg(Var x);
Var exp(Var x);
Var log(Var x);
Var sqrt(Var x);
Var rsqrt(Var x);
Var tanh(Var x);
Var gelu_tanh(Var x);        // GELU, tanh approximation ("gelu_new", "gelu_pytorch_tanh")
Var gelu_erf(Var x);         // exact GELU
Var silu(Var x);
Var swiglu(Var gate, Var up);  // silu(gate) * up, same shapes
Var gelu_tanh_backward(Var x, Var dy);
Var gelu_erf_backward(Var x, Var dy);
Var silu_backward(Var x, Var dy);

// ---- selection ----
Var where(Var cond, Var a, Var b);                  // cond u8 (1 picks a), all broadcast
Var masked_fill(Var x, Var mask, double value);     // mask u8 broadcast to x; 1 -> value
Var dropout(Var x, double p, uint64_t seed);        // inverted dropout: kept values / (1-p)
Var cast(Var x, DType dtype);

// ---- linear algebra ----
// a: (..., M, K) [(..., K, M) if trans_a]; b: (..., K, N) [(..., N, K) if trans_b] with the
// same batch dims, or b 2-D shared by every batch. -> (..., M, N)
Var matmul(Var a, Var b, bool trans_a = false, bool trans_b = false);

// ---- layout (view is a zero-copy alias; the rest write contiguous outputs) ----
Var view(Var x, const Shape& shape);  // one dim may be -1
Var reshape(Var x, const Shape& shape);  // same as view: graph values are contiguous
Var permute(Var x, const std::vector<int64_t>& dims);
Var transpose(Var x, int64_t a, int64_t b);
Var slice(Var x, int64_t axis, int64_t start, int64_t end, int64_t step = 1);
Var slice_backward(Var dy, const Shape& input_shape, const SliceAttrs& slice);  // zeros elsewhere
Var concat(const std::vector<Var>& xs, int64_t axis);
std::vector<Var> split(Var x, const std::vector<int64_t>& sizes, int64_t axis);
Var expand(Var x, const Shape& shape);  // broadcast to shape (materialised)
Var sum_to(Var x, const Shape& shape);  // sums broadcast dims away: the adjoint of expand

// ---- reductions ----
Var sum(Var x, const std::vector<int64_t>& axes, bool keepdim = false);
Var mean(Var x, const std::vector<int64_t>& axes, bool keepdim = false);
Var max(Var x, const std::vector<int64_t>& axes, bool keepdim = false);
Var sum_all(Var x);  // -> scalar ()
// dy (reduced shape) routed to the first maximum of each reduced group of x; y = max(x).
Var max_backward(Var x, Var y, Var dy, const ReduceAttrs& reduce);

// ---- softmax family, over the last axis ----
Var softmax(Var x);
Var log_softmax(Var x);
Var softmax_backward(Var y, Var dy);
Var log_softmax_backward(Var y, Var dy);
// logits (N, V) f32, labels (N) i32 -> scalar mean loss over labels != ignore_index.
Var cross_entropy(Var logits, Var labels, int64_t ignore_index = -100, double label_smoothing = 0.0);
Var cross_entropy_backward(Var logits, Var labels, Var dloss, const CrossEntropyAttrs& attrs);

// ---- normalisation over the last axis ----
Var layer_norm(Var x, Var weight, Var bias, double eps = 1e-5);  // x (..., C), weight/bias (C)
// -> packed (numel(x) + 2C): dx, then dweight, then dbias
Var layer_norm_backward(Var x, Var weight, Var dy, double eps);
Var rms_norm(Var x, Var weight, double eps = 1e-6);  // x * rsqrt(mean(x^2) + eps) * weight
// -> packed (numel(x) + C): dx, then dweight
Var rms_norm_backward(Var x, Var weight, Var dy, double eps);

// ---- transformer pieces ----
Var embedding(Var weight, Var ids);  // weight (V, D), ids i32 (...) -> (..., D)
Var embedding_backward(Var ids, Var dy, int64_t vocab);  // -> (V, D) scatter-add
// x (B, H, T, D) with D even, positions i32 (T); rotate-half layout.
Var rope(Var x, Var positions, double theta = 10000.0, double position_scale = 1.0, bool inverse = false);
// q (B, Hq, Tq, D), k (B, Hk, Tk, D), v (B, Hk, Tk, Dv), Hq % Hk == 0 (query head h reads kv
// head h / (Hq / Hk)), key_mask u8 (B, Tk) 1 = attend. softmax(q k^T * scale) v -> (B, Hq, Tq, Dv).
// Causal masking aligns the last query with the last key: query i sees key j iff
// j <= i + (Tk - Tq) (bottom-right, as flash-attn and KV-cache decoding; PyTorch's is_causal is
// top-left, which differs when Tq != Tk). A query that sees no key outputs zeros, with zero
// gradients, where PyTorch gives NaN.
Var attention(Var q, Var k, Var v, std::optional<Var> key_mask, bool causal, double scale);
// Gradients of sum(attention(...) * dout) -> packed (numel(q) + numel(k) + numel(v)): dq, dk, dv.
// Node inputs: q, k, v, [key_mask,] dout.
Var attention_backward(Var q, Var k, Var v, std::optional<Var> key_mask, Var dout, const AttentionAttrs& attrs);
// x (B, C, H, W) -> (B, (H/P)*(W/P), C*P*P), patches in row-major order, each (C, P, P) flattened
Var unfold_patches(Var x, int64_t patch);
Var fold_patches(Var patches, const Shape& image_shape, int64_t patch);  // the adjoint
// Patch embedding as unfold + matmul: x (B, C, H, W), weight (E, C, P, P), bias (E) -> (B, N, E)
Var patch_embed(Var x, Var weight, Var bias);

}  // namespace hanvit
