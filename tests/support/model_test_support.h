// Shared pieces of the model tests: output comparison at the reference's scale and temp folders.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "modules/tensor/tensor.h"

namespace hanvit::testing {

// |got - want| <= tol * max(1, max |want|) everywhere: the parity criterion against reference outputs.
inline void require_close_to_scale(const Tensor& got, const Tensor& want, double tol = 1e-4) {
  REQUIRE(got.shape() == want.shape());
  const std::vector<double> g = got.to_f64(), w = want.to_f64();
  double scale = 1.0, worst = 0.0;
  for (double x : w) scale = std::max(scale, std::abs(x));
  for (size_t i = 0; i < g.size(); ++i) worst = std::max(worst, std::abs(g[i] - w[i]));
  INFO("max abs difference " << worst << " at output scale " << scale);
  REQUIRE(worst <= tol * scale);
}

// A fresh folder under the temp dir, per process (CTest runs each test case in its own), removed at the end.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name)
      : path(std::filesystem::temp_directory_path() / ("hanvit-test-" + name + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace hanvit::testing
