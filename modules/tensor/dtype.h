// Element types of tensors, their sizes and names, and scalar conversions (bf16/f16 <-> f32).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hanvit {

enum class DType : uint8_t { f32, bf16, f16, i32, u8 };

size_t dtype_size(DType t);
std::string_view dtype_name(DType t);
// Parses "f32", "bf16", ... and the safetensors spellings "F32", "BF16", "F16", "I32", "U8".
// Throws std::invalid_argument naming the text.
DType dtype_from_name(std::string_view name);
std::string_view dtype_safetensors_name(DType t);
bool dtype_is_float(DType t);

// bf16: upper 16 bits of an IEEE float; rounding is round-to-nearest-even, NaN stays NaN.
uint16_t f32_to_bf16(float x);
float bf16_to_f32(uint16_t x);
// f16: IEEE half precision, round-to-nearest-even, overflow to inf, subnormals kept.
uint16_t f32_to_f16(float x);
float f16_to_f32(uint16_t x);

}  // namespace hanvit
