// Shared pieces of the fusion tests: fixture folders, running a model graph on the CPU, comparisons.
#pragma once

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/model_test_support.h"
#include "fusion/model_folder.h"
#include "modules/exec/executor.h"
#include "modules/graph/ops.h"
#include "modules/io/safetensors.h"

namespace hanvit::fusion::testing {

using hanvit::testing::require_close_to_scale;

inline const std::filesystem::path kFusionData = std::filesystem::path(HANVIT_TEST_DATA) / "fusion";

inline Tensor positions_tensor(int64_t begin, int64_t count) {
  std::vector<int32_t> values(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) values[static_cast<size_t>(i)] = static_cast<int32_t>(begin + i);
  return Tensor::from_vector<int32_t>({count}, values);
}

// Logits (B, T, V) of the model on pixels (B, 3, H, W) and ids (B, T), or text only without pixels.
inline Tensor model_logits(const VisionLanguageModel& model, const ParameterStore& store, const Tensor& pixels,
                           const Tensor& ids) {
  Graph g(false);
  TextInputs in;
  in.ids = g.input("ids", ids.shape(), DType::i32);
  in.positions = g.input("positions", {ids.shape()[1]}, DType::i32);
  if (pixels.defined()) in.visual = model.visual_kv(model.encode(g.input("pixels", pixels.shape())));
  Var logits = model.forward(in).logits;
  Executor exec(g, cpu_backend(), {logits});
  store.bind_all(exec, g);
  exec.bind("ids", ids);
  exec.bind("positions", positions_tensor(0, ids.shape()[1]));
  if (pixels.defined()) exec.bind("pixels", pixels);
  exec.run();
  return exec.value(logits).clone();
}

}  // namespace hanvit::fusion::testing
