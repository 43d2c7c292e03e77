// The cross-backend op test harness: runs one op case on every available backend against a
// float64 reference, and checks its gradients against finite differences of that reference.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "modules/graph/ops.h"

namespace hanvit::test {

// A float64 tensor for reference implementations (row-major).
struct RefTensor {
  Shape shape;
  std::vector<double> data;

  RefTensor() = default;
  explicit RefTensor(Shape s) : shape(std::move(s)), data(static_cast<size_t>(hanvit::numel(shape)), 0.0) {}
  int64_t numel() const { return hanvit::numel(shape); }
  double& operator[](int64_t i) { return data[static_cast<size_t>(i)]; }
  double operator[](int64_t i) const { return data[static_cast<size_t>(i)]; }
};

enum class Fill {
  normal,    // N(0, 1)
  positive,  // uniform in [0.5, 2]
  integer,   // uniform integers in [low, high), as i32
  mask,      // 0/1 u8, about 70% ones (every row of the last dim keeps at least one 1)
};

struct InputSpec {
  std::string name;
  Shape shape;
  Fill fill = Fill::normal;
  bool differentiable = true;  // float inputs only: checked by the gradient test
  int64_t low = 0, high = 2;   // Fill::integer range
};

struct OpCase {
  std::string name;
  std::vector<InputSpec> inputs;
  // Builds the op from graph inputs (same order as `inputs`). Float inputs are parameters so
  // their gradients can be taken; ints and masks are plain inputs.
  std::function<Var(std::vector<Var>&)> build;
  // The float64 reference over the same input values.
  std::function<RefTensor(const std::vector<RefTensor>&)> reference;
  double tolerance = 1e-5;       // forward: |ours - ref| <= tol * (1 + |ref|)
  double grad_tolerance = 2e-3;  // gradient: relative to the largest reference gradient, per input
  bool check_gradient = true;
  double fd_step = 1e-5;  // central-difference step on the float64 reference
  // Devices with bf16 kernels (not the CPU) also run the case with bf16 float inputs against
  // the reference over the bf16-rounded inputs, with these looser tolerances.
  bool bf16 = true;
  double bf16_tolerance = 1.5e-2;
  double bf16_grad_tolerance = 5e-2;
};

// Runs the case on every backend from available_backends() with fresh random inputs (seeded by
// `seed`) and arena poisoning, compares with the reference, then checks gradients of
// sum(output * random weights) w.r.t. every differentiable input. Backends other than the CPU
// run it again in bf16. Reports through Catch2.
void check_op(const OpCase& c, uint64_t seed = 1);

}  // namespace hanvit::test
