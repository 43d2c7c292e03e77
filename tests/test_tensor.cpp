// Tensors: dtype conversions (bf16/f16 rounding), views without copies, contiguous copies.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "modules/tensor/tensor.h"

using namespace hanvit;

TEST_CASE("tensor bf16 conversion rounds to nearest even") {
  // 1 + 2^-8 lies exactly between two bf16 values (1 and 1 + 2^-7): ties go to the even one, 1.
  CHECK(bf16_to_f32(f32_to_bf16(1.0f + std::ldexp(1.0f, -8))) == 1.0f);
  // 1 + 3 * 2^-8 lies between 1 + 2^-7 (odd mantissa) and 1 + 2^-6: the tie goes up.
  CHECK(bf16_to_f32(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8))) == 1.0f + std::ldexp(1.0f, -6));
  CHECK(bf16_to_f32(f32_to_bf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20))) == 1.0f + std::ldexp(1.0f, -7));
  CHECK(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(std::isinf(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::infinity()))));
  CHECK(bf16_to_f32(f32_to_bf16(-2.5f)) == -2.5f);
  CHECK(f32_to_bf16(3.0e38f) == 0x7f62);  // large finite values stay finite when representable
}

TEST_CASE("tensor f16 conversion covers normals, subnormals, overflow and ties") {
  CHECK(f16_to_f32(f32_to_f16(1.0f)) == 1.0f);
  CHECK(f16_to_f32(f32_to_f16(65504.0f)) == 65504.0f);
  CHECK(std::isinf(f16_to_f32(f32_to_f16(70000.0f))));
  CHECK(f16_to_f32(f32_to_f16(std::ldexp(1.0f, -24))) == std::ldexp(1.0f, -24));  // smallest subnormal
  CHECK(f16_to_f32(f32_to_f16(std::ldexp(1.0f, -26))) == 0.0f);
  CHECK(f16_to_f32(f32_to_f16(1.0f + std::ldexp(1.0f, -11))) == 1.0f);  // tie to even
  CHECK(f16_to_f32(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11))) == 1.0f + std::ldexp(1.0f, -9));
  CHECK(std::isnan(f16_to_f32(f32_to_f16(std::numeric_limits<float>::quiet_NaN()))));
  // every f16 bit pattern survives f16 -> f32 -> f16 (NaNs stay NaN)
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    float v = f16_to_f32(static_cast<uint16_t>(bits));
    if (std::isnan(v)) continue;
    REQUIRE(f32_to_f16(v) == bits);
  }
}

TEST_CASE("tensor dtype names parse both spellings") {
  CHECK(dtype_from_name("BF16") == DType::bf16);
  CHECK(dtype_from_name("i32") == DType::i32);
  REQUIRE_THROWS_WITH(dtype_from_name("F64"), Catch::Contains("F64"));
}

TEST_CASE("tensor views share storage and index correctly") {
  Tensor t = Tensor::from_vector<float>({2, 3, 4}, [] {
    std::vector<float> v(24);
    for (int i = 0; i < 24; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i);
    return v;
  }());
  Tensor p = t.permute({2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.storage() == t.storage());
  CHECK_FALSE(p.is_contiguous());
  // p[i][j][k] == t[j][k][i]
  std::vector<double> pv = p.to_f64();
  CHECK(pv[static_cast<size_t>((1 * 2 + 1) * 3 + 2)] == 1 * 12 + 2 * 4 + 1);

  Tensor s = t.slice(2, 1, 4, 2);  // columns 1 and 3
  CHECK(s.shape() == Shape{2, 3, 2});
  CHECK(s.to_f64() == std::vector<double>{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23});
  CHECK(s.storage() == t.storage());

  Tensor row = Tensor::from_vector<float>({1, 3}, {1, 2, 3});
  Tensor e = row.expand({2, 3});
  CHECK(e.strides()[0] == 0);
  CHECK(e.to_f64() == std::vector<double>{1, 2, 3, 1, 2, 3});

  Tensor v = t.view({6, -1});
  CHECK(v.shape() == Shape{6, 4});
  CHECK(v.storage() == t.storage());
  REQUIRE_THROWS_WITH(p.view({24}), Catch::Contains("non-contiguous"));
  Tensor r = p.reshape({24});  // copies because p is not contiguous
  CHECK(r.storage() != t.storage());
  CHECK(r.to_f64() == p.to_f64());
  CHECK(t.transpose(0, 2).contiguous().is_contiguous());
}

TEST_CASE("tensor copies convert dtypes and reject bad shapes") {
  Tensor f = Tensor::from_vector<float>({3}, {1.5f, -2.0f, 3.25f});
  CHECK(f.to(DType::bf16).to(DType::f32).to_f64() == std::vector<double>{1.5, -2.0, 3.25});
  CHECK(f.to(DType::i32).to_f64() == std::vector<double>{1, -2, 3});
  Tensor other = Tensor::zeros({4});
  REQUIRE_THROWS_WITH(other.copy_from(f), Catch::Contains("(3)") && Catch::Contains("(4)"));
  REQUIRE_THROWS_WITH(f.slice(0, 2, 5), Catch::Contains("out of range"));
  REQUIRE_THROWS_WITH(f.data<int32_t>(), Catch::Contains("f32"));
  REQUIRE_THROWS(Tensor::from_vector<float>({2, 2}, {1, 2, 3}));
}
