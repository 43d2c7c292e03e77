// The CPU backend's kernel table: one adapter per op, registered by each op family's file.
#pragma once

#include <span>

#include "modules/graph/graph.h"

namespace hanvit {

// Adapters unpack a node (shapes, attributes) and call the raw kernels in kernels/cpu/.
using CpuKernel = void (*)(const Node& node, std::span<const Tensor> inputs, const Tensor& output);

struct CpuKernelTable {
  CpuKernel kernels[kOpCount] = {};
  void set(OpKind op, CpuKernel kernel) { kernels[static_cast<int>(op)] = kernel; }
};

void register_cpu_elementwise(CpuKernelTable& table);
void register_cpu_matmul(CpuKernelTable& table);
void register_cpu_layout(CpuKernelTable& table);
void register_cpu_reduce(CpuKernelTable& table);
void register_cpu_softmax(CpuKernelTable& table);
void register_cpu_norm(CpuKernelTable& table);
void register_cpu_embedding(CpuKernelTable& table);
void register_cpu_attention(CpuKernelTable& table);
void register_cpu_patches(CpuKernelTable& table);

}  // namespace hanvit
