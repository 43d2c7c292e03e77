// The inputs of `hanvit demo`: the synthetic dataset, a tokenizer trained on it, a fresh small model, the run config.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "apps/train/cell_pretraining.h"
#include "apps/train/train_config.h"
#include "fusion/compose.h"

namespace hanvit::app {

struct DemoOptions {
  std::string out = "hanvit-demo";
  size_t train_images = 8000, val_images = 200, test_images = 300;
  int image_size = 64;            // the synthetic canvas; the model sees it at 3 * (image_size / 3) px
  int patch_cells = 1;            // patches per side of one grid cell (1: a patch is a cell)
  int64_t pretrain_steps = 2000;  // the vision tower as a per-cell classifier first (0: none)
  int64_t steps = 3500;           // the captioner's optimizer steps
  int64_t batch = 32;
  double lr = 1e-3;  // AdamW peak of both stages
  // Copies of the VQA file (5 questions per image) per epoch; the captions are taken twice.
  double vqa_weight = 1.0;
  // The vision tower's learning rate while the captioner trains, relative to lr (0: frozen).
  double vision_lr_scale = 0.0;
  // Hidden size of the decoder (and of the vision tower unless vision_width), a multiple of 32.
  int64_t width = 128;
  int64_t vision_width = 0;                               // hidden size of the vision tower, a multiple of 32; 0: width
  int64_t layers = 3;                                     // decoder layers
  int64_t vision_layers = 3;                              // vision tower layers
  std::string fusion = "gated:every=1,projector=linear";  // FusionConfig::parse_spec
  int32_t vocab = 352;                                    // tokenizer pieces (the decoder's vocabulary)
  uint64_t seed = 0;
  int64_t workers = 0;  // image decoding threads (0: decode between steps; on 2 cores that is fastest)
  bool quiet = false;   // no progress output
};

// Writes OUT/data (train / val / test splits), OUT/tokenizer (SentencePiece on the training text),
// OUT/configs/{vision,language}.json and OUT/init, the model folder the captioner trains from: a ViT whose
// patches are the cells of the canvas's 3 x 3 grid, pretrained for `pretrain_steps` as a classifier of each
// cell's shape and colour, and a fresh LLaMA-style decoder of the same width, with a gated cross-attention
// block (gates open) before every decoder layer. Replaces what an earlier run left there. Returns what the
// vision pretraining measured (all zero without it).
CellPretrainingResult prepare_demo_inputs(const DemoOptions& options);

// Writes OPTIONS.out/configs/{vision,language}.json and composes the fresh demo model from them into `store`
// with the demo's initialisation (a decoder at fan-in scale, open gates, unit-scale position embeddings,
// projector, queries and keys); the tokenizer files come from `tokenizer_dir` when it is not empty.
fusion::ComposedModel compose_demo_model(const DemoOptions& options, const std::filesystem::path& tokenizer_dir,
                                         ParameterStore& store);

// The run config that trains OUT/init on the training split (captions and VQA) into OUT, evaluating on
// the validation split: every parameter trains but the vision tower (frozen at vision_lr_scale 0, else at
// that rate), cosine schedule, checkpoints at the middle and end.
TrainConfig demo_train_config(const DemoOptions& options);

}  // namespace hanvit::app
