// The vectorisable float maths of the CPU kernels (exp, erf, tanh) against double-precision std:: maths.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "kernels/cpu/fast_math.h"

using namespace hanvit::cpu;

namespace {

// Largest error of `fast` against `exact` over x in [lo, hi] in steps of `step`; relative where `relative`.
template <typename Fast, typename Exact>
double worst_error(Fast fast, Exact exact, double lo, double hi, double step, bool relative) {
  double worst = 0.0;
  for (double x = lo; x <= hi; x += step) {
    const double want = exact(static_cast<double>(static_cast<float>(x)));
    const double err = std::abs(static_cast<double>(fast(static_cast<float>(x))) - want);
    worst = std::max(worst, relative ? err / std::abs(want) : err);
  }
  return worst;
}

}  // namespace

TEST_CASE("exp_f32 is within a few ulp of exp and saturates at the float range", "[fast-math]") {
  CHECK(worst_error(
            exp_f32, [](double x) { return std::exp(x); }, -87.0, 88.0, 1e-3, true) < 3e-7);
  CHECK(exp_f32(-104.0f) == 0.0f);
  CHECK(std::isinf(exp_f32(89.0f)));
  CHECK(std::isnan(exp_f32(std::numeric_limits<float>::quiet_NaN())));
}

TEST_CASE("erf_f32 is within 5e-7 of erf", "[fast-math]") {
  CHECK(worst_error(
            erf_f32, [](double x) { return std::erf(x); }, -8.0, 8.0, 1e-4, false) < 5e-7);
  CHECK(std::isnan(erf_f32(std::numeric_limits<float>::quiet_NaN())));
}

TEST_CASE("tanh_f32 is within 2e-7 of tanh, odd, and saturates to +-1", "[fast-math]") {
  CHECK(worst_error(
            tanh_f32, [](double x) { return std::tanh(x); }, -12.0, 12.0, 1e-4, false) < 2e-7);
  CHECK(tanh_f32(0.0f) == 0.0f);
  CHECK(tanh_f32(-0.7f) == -tanh_f32(0.7f));
  CHECK(tanh_f32(100.0f) == 1.0f);
  CHECK(tanh_f32(-std::numeric_limits<float>::infinity()) == -1.0f);
  CHECK(std::isnan(tanh_f32(std::numeric_limits<float>::quiet_NaN())));
}
