// The CUDA backend's kernel table: one adapter per op with the output dtypes it handles,
// registered by each op family's file.
#pragma once

#include <span>

#include "modules/backend/cuda/cuda_context.h"
#include "modules/graph/graph.h"

namespace hanvit {

// Adapters unpack a node and launch kernels from kernels/cuda/ on ctx.stream; inputs and the
// output are contiguous device tensors.
using CudaKernel = void (*)(CudaContext& ctx, const Node& node, std::span<const Tensor> inputs, const Tensor& output);

// Bit masks of output dtypes.
inline constexpr unsigned dtype_bit(DType t) { return 1u << static_cast<unsigned>(t); }
inline constexpr unsigned kFloatDTypes = dtype_bit(DType::f32) | dtype_bit(DType::bf16) | dtype_bit(DType::f16);
inline constexpr unsigned kAllDTypes = kFloatDTypes | dtype_bit(DType::i32) | dtype_bit(DType::u8);

struct CudaKernelTable {
  CudaKernel kernels[kOpCount] = {};
  unsigned dtypes[kOpCount] = {};
  void set(OpKind op, CudaKernel kernel, unsigned output_dtypes = kFloatDTypes) {
    kernels[static_cast<int>(op)] = kernel;
    dtypes[static_cast<int>(op)] = output_dtypes;
  }
};

void register_cuda_elementwise(CudaKernelTable& table);
void register_cuda_matmul(CudaKernelTable& table);
void register_cuda_layout(CudaKernelTable& table);
void register_cuda_reduce(CudaKernelTable& table);
void register_cuda_softmax(CudaKernelTable& table);
void register_cuda_norm(CudaKernelTable& table);
void register_cuda_embedding(CudaKernelTable& table);
void register_cuda_attention(CudaKernelTable& table);
void register_cuda_patches(CudaKernelTable& table);

}  // namespace hanvit
