// Dtype dispatch for CUDA launch functions: runs a body with T bound to the element type.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <stdexcept>
#include <string>

#include "modules/tensor/dtype.h"

// HANVIT_DISPATCH_FLOAT(dtype, "op name", T, { body using T }): T is float, __nv_bfloat16 or __half.
#define HANVIT_DISPATCH_FLOAT(dtype, what, T, ...)                                                   \
  switch (dtype) {                                                                                   \
    case ::hanvit::DType::f32: { using T = float; __VA_ARGS__ } break;                               \
    case ::hanvit::DType::bf16: { using T = __nv_bfloat16; __VA_ARGS__ } break;                      \
    case ::hanvit::DType::f16: { using T = __half; __VA_ARGS__ } break;                              \
    default:                                                                                         \
      throw std::invalid_argument(std::string(what) + ": CUDA kernel has no " +                      \
                                  std::string(::hanvit::dtype_name(dtype)) + " variant");           \
  }

// Element types by size, for kernels that only move bytes (layout copies of any dtype).
#define HANVIT_DISPATCH_BYTES(dtype, what, T, ...)                                                   \
  switch (::hanvit::dtype_size(dtype)) {                                                             \
    case 4: { using T = uint32_t; __VA_ARGS__ } break;                                               \
    case 2: { using T = uint16_t; __VA_ARGS__ } break;                                               \
    case 1: { using T = uint8_t; __VA_ARGS__ } break;                                                \
    default: throw std::invalid_argument(std::string(what) + ": unsupported element size");          \
  }
