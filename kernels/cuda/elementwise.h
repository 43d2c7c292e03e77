// defines: BinaryOp, UnaryOp, ActivationGrad, fill, binary, unary, activation_grad, swiglu, where, masked_fill,
// dropout, cast — elementwise CUDA launches (float maths in f32 over f32/bf16/f16 storage).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <span>

#include "modules/tensor/dtype.h"

namespace hanvit::cuda {

enum class BinaryOp { add, sub, mul, div };
enum class UnaryOp { neg, exp, log, sqrt, rsqrt, tanh, gelu_tanh, gelu_erf, silu, add_scalar, mul_scalar, pow_scalar };
enum class ActivationGrad { gelu_tanh, gelu_erf, silu };

// out (n) of any dtype = value, converted as Tensor::fill converts it (through f32 for bf16/f16, truncated for
// i32/u8).
void fill(DType dtype, void* out, int64_t n, double value, cudaStream_t stream);

// out (out_shape) = a (a_shape) op b (b_shape) with numpy broadcasting; a, b and out have the float `dtype`.
void binary(BinaryOp op, DType dtype, std::span<const int64_t> out_shape, const void* a,
            std::span<const int64_t> a_shape, const void* b, std::span<const int64_t> b_shape, void* out,
            cudaStream_t stream);

// y (n) = op(x); `scalar` is the operand of the *_scalar ops.
void unary(UnaryOp op, DType dtype, const void* x, void* y, int64_t n, float scalar, cudaStream_t stream);

// dx (n) = dy (n) * f'(x (n))
void activation_grad(ActivationGrad op, DType dtype, const void* x, const void* dy, void* dx, int64_t n,
                     cudaStream_t stream);

// out (n) = silu(gate (n)) * up (n)
void swiglu(DType dtype, const void* gate, const void* up, void* out, int64_t n, cudaStream_t stream);

// out (out_shape) = cond ? a : b, all three broadcast to out_shape; cond is u8, a, b and out the float `dtype`.
void where(DType dtype, std::span<const int64_t> out_shape, const uint8_t* cond, std::span<const int64_t> cond_shape,
           const void* a, std::span<const int64_t> a_shape, const void* b, std::span<const int64_t> b_shape, void* out,
           cudaStream_t stream);

// out (shape) = mask ? value : x (shape), mask u8 (mask_shape) broadcast to shape.
void masked_fill(DType dtype, std::span<const int64_t> shape, const void* x, const uint8_t* mask,
                 std::span<const int64_t> mask_shape, float value, void* out, cudaStream_t stream);

// out (n) = x / (1 - p) where element i is kept, else 0; the keep decision is the CPU's
// (cpu::dropout_keeps: a splitmix64 hash of (seed, i) compared with p), bit for bit.
void dropout(DType dtype, const void* x, void* out, int64_t n, float p, uint64_t seed, cudaStream_t stream);

// y (n, dtype `to`) = x (n, dtype `from`) with Tensor::copy_from's conversions: through f32 to bf16/f16 (round to
// nearest even, NaN kept quiet), truncation toward zero to i32 (out of range or NaN: INT32_MIN, as on x86), and
// u8 = the low byte of that i32.
void cast(DType from, const void* x, DType to, void* y, int64_t n, cudaStream_t stream);

}  // namespace hanvit::cuda
