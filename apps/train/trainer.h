// The training loop of `hanvit train`: data, trained parameters, AdamW with schedule and clipping, guards,
// evaluation, crash-safe checkpoints and resume, data parallelism over a Communicator.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "apps/train/train_config.h"
#include "modules/dist/communicator.h"
#include "modules/tensor/tensor.h"

namespace hanvit::app {

struct TrainHooks {
  // Called with the summed gradient of each optimizer step before its norm is taken (tests inject
  // non-finite values here).
  std::function<void(int64_t step, const Tensor& flat_grad)> after_gradients;
  bool progress = true;  // the progress line on stderr (rank 0)
};

struct TrainSummary {
  int64_t first_step = 0;     // 0, or the step of the checkpoint this run resumed from
  int64_t last_step = 0;      // steps done when the run ended
  bool stopped = false;       // a stop was requested: a checkpoint was saved and the run ended early
  int64_t skipped_steps = 0;  // non-finite loss or gradients, over the whole run
  std::vector<double> losses;  // the mean training loss of each step this process ran (skipped: NaN)
  std::map<std::string, double> last_eval;  // the final evaluation (empty without val_data)
  double train_seconds = 0.0;
  size_t peak_bytes = 0;              // the executor's planned peak of a training step
  std::filesystem::path model_dir;  // RUN/model, the final model folder (not written when stopped)
};

// Trains as `config` says. A run folder that already holds a checkpoint resumes from the newest
// complete one: model, optimizer state, data position, step and counters as they were, so that on
// the CPU the resumed losses equal an uninterrupted run's bit for bit. Rank 0 alone writes the run
// folder (train_config.json, metrics.jsonl, checkpoints/, model/). A stop request (SIGINT, SIGTERM:
// stop_signal.h) saves a checkpoint after the current step and returns with `stopped`.
// Throws std::invalid_argument / std::runtime_error naming the file, key or step and what to change.
TrainSummary train(const TrainConfig& config, Communicator& comm, const TrainHooks& hooks = {});

}  // namespace hanvit::app
