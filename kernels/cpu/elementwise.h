// Elementwise f32 kernels: broadcasting binary ops, unary maths and activations (+ their
// derivatives), selection and dropout.
#pragma once

#include <cstdint>
#include <vector>

namespace hanvit::cpu {

enum class BinaryOp { add, sub, mul, div };
enum class UnaryOp { neg, exp, log, sqrt, rsqrt, tanh, gelu_tanh, gelu_erf, silu, add_scalar, mul_scalar, pow_scalar };
enum class ActivationGrad { gelu_tanh, gelu_erf, silu };

// out (shape) = a op b; a_strides / b_strides: element strides over `shape`, 0 where broadcast.
void binary_f32(BinaryOp op, const std::vector<int64_t>& shape, const float* a, const int64_t* a_strides,
                const float* b, const int64_t* b_strides, float* out);
// y (n) = op(x); `scalar` is the operand of the *_scalar ops.
void unary_f32(UnaryOp op, const float* x, float* y, int64_t n, float scalar);
// dx (n) = dy * f'(x)
void activation_grad_f32(ActivationGrad op, const float* x, const float* dy, float* dx, int64_t n);
// out (n) = silu(gate) * up
void swiglu_f32(const float* gate, const float* up, float* out, int64_t n);
// out (shape) = cond ? a : b, all three broadcast by strides
void where_f32(const std::vector<int64_t>& shape, const uint8_t* cond, const int64_t* cond_strides,
               const float* a, const int64_t* a_strides, const float* b, const int64_t* b_strides, float* out);
// out (n) = x, or x / (1 - p) kept / 0 dropped: element i is dropped when a hash of
// (seed, i) falls below p; the same (seed, i) always gives the same decision.
void dropout_f32(const float* x, float* out, int64_t n, float p, uint64_t seed);
bool dropout_keeps(uint64_t seed, int64_t index, float p);

}  // namespace hanvit::cpu
