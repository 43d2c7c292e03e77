// Shared inputs of the training tests: a tiny demo (synthetic data, tokenizer, fresh model) made once per test run.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

#include "apps/train/demo_setup.h"
#include "apps/train/trainer.h"
#include "tests/support/model_test_support.h"

namespace hanvit::app::testing {

// A tiny demo in a temp folder removed at exit: 32 px images, width 32, one layer each.
inline const DemoOptions& tiny_demo() {
  static const hanvit::testing::TempDir dir("tiny-demo");
  static const DemoOptions options = [] {
    DemoOptions o;
    o.out = dir.path.string();
    o.train_images = 160;
    o.val_images = 8;
    o.test_images = 0;
    o.image_size = 32;
    o.patch_cells = 1;
    o.width = 32;
    o.layers = 1;
    o.vision_layers = 1;
    o.vocab = 340;
    o.pretrain_steps = 0;
    o.steps = 6;
    o.batch = 8;
    o.lr = 3e-3;
    o.workers = 0;
    prepare_demo_inputs(o);
    return o;
  }();
  return options;
}

// The tiny demo's run config writing into `run_dir`: no evaluation, no periodic checkpoints, a metrics line
// per step.
inline TrainConfig tiny_config(const std::filesystem::path& run_dir) {
  TrainConfig config = demo_train_config(tiny_demo());
  config.output = run_dir.string();
  config.val_data.clear();
  config.eval_every = 0;
  config.checkpoint_every = 0;
  config.log_every = 1;
  config.keep_checkpoints = 2;
  return config;
}

}  // namespace hanvit::app::testing
