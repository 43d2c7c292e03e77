// Vectorisable float maths for kernel loops: exp, erf and tanh written with selects only, so GCC
// vectorises the loops that call them (std::exp / std::erf are scalar calls that set errno).
#pragma once

#include <bit>
#include <cstdint>

namespace hanvit::cpu {

// exp(x) within 2 ulp (Cephes expf): x = n ln2 + r with |r| <= ln2 / 2, a degree-6 polynomial
// for exp(r), and 2^n built in the exponent bits. Results below the normal range flush to 0,
// x above about 88.3 gives inf, NaN stays NaN. Only selects, no clamps on floats: GCC turns
// float clamps into branches here and then cannot vectorise the loops calling this.
inline float exp_f32(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer kept in the low bits
  const float t = x * kLog2e + kRound;
  const float n = t - kRound;
  // biased exponent n + 127 of 2^n; for |x| beyond the float range its sign still says which way
  const int32_t e = static_cast<int32_t>(std::bit_cast<uint32_t>(t) - std::bit_cast<uint32_t>(kRound) + 127u);
  const int32_t scale_e = e < 1 ? 1 : (e > 254 ? 254 : e);
  float r = x - n * kLn2Hi;
  r = r - n * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  uint32_t bits = std::bit_cast<uint32_t>(p * std::bit_cast<float>(static_cast<uint32_t>(scale_e) << 23));
  bits = e < 1 ? 0u : bits;
  bits = e > 254 ? 0x7f800000u : bits;
  return x != x ? x : std::bit_cast<float>(bits);
}

// erf(x) within 5e-7 absolute in float (Abramowitz & Stegun 7.1.26, 1.5e-7 in exact arithmetic):
// 1 - poly(t) exp(-x^2) with t = 1 / (1 + p|x|), sign restored; NaN stays NaN.
inline float erf_f32(float x) {
  const float a = x < 0.0f ? -x : x;
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  float poly = 1.061405429f;
  poly = poly * t - 1.453152027f;
  poly = poly * t + 1.421413741f;
  poly = poly * t - 0.284496736f;
  poly = poly * t + 0.254829592f;
  const float y = 1.0f - poly * t * exp_f32(-a * a);
  return x < 0.0f ? -y : y;
}

// tanh(x) within 2e-7 absolute: (1 - e) / (1 + e) with e = exp(-2|x|), sign restored; NaN stays
// NaN. The error is absolute, not relative, near 0: meant for GELU, where tanh is added to 1.
inline float tanh_f32(float x) {
  const float a = x < 0.0f ? -x : x;
  const float e = exp_f32(-2.0f * a);
  const float y = (1.0f - e) / (1.0f + e);
  return x < 0.0f ? -y : y;
}

}  // namespace hanvit::cpu
