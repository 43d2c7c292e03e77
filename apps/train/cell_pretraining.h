// The demo's first stage: the vision tower trained to classify what each grid cell of the synthetic images holds.
#pragma once

#include <cstdint>
#include <filesystem>

#include "datasets/image/preprocess.h"
#include "fusion/vision_language_model.h"
#include "modules/nn/parameter_store.h"

namespace hanvit::app {

struct CellPretrainingOptions {
  std::filesystem::path data_dir;  // a `hanvit data synth` folder (train/ and val/ with their images)
  uint64_t data_seed = 0;          // the seed that wrote it: the cell labels are redrawn from it
  int canvas = 64;                 // the synthetic canvas side, pixels
  size_t train_images = 0, val_images = 0;
  int64_t steps = 0, batch = 32;
  double lr = 2e-3;   // AdamW peak: linear warmup over the first 5 % of steps, cosine decay to 5 %
  uint64_t seed = 0;  // the heads' initialisation and the image order
  bool quiet = false;
};

struct CellPretrainingResult {
  double seconds = 0;
  double final_loss = 0;       // mean over the last 50 steps of the shape, colour and cell cross-entropies (summed)
  double shape_accuracy = 0;   // on the occupied cells of the validation images (1 without any)
  double colour_accuracy = 0;  // likewise
};

// Like a vision encoder pretrained as an image classifier before it joins a captioner: each cell's visual tokens
// (the patches covering one cell of the 3 x 3 grid, averaged) go to three linear heads, the cell's shape (or
// empty), its colour (or empty) and which cell it is, trained with cross-entropy and AdamW on the training
// images. Only the vision tower's parameters ("vision.*") change in `store`; the heads are dropped at the end.
// The vision tower's patches must tile the cells exactly (its image side a multiple of 3 and of the patch size
// per cell).
CellPretrainingResult pretrain_vision_on_cells(const fusion::VisionLanguageModel& model, ParameterStore& store,
                                               const data::PreprocessOptions& preprocess,
                                               const CellPretrainingOptions& options);

}  // namespace hanvit::app
