// One micro-batch of training: the loss graph with its backward, built once per batch shape, run, and its
// gradients added into flat f32 buffers.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "datasets/loader/loader.h"
#include "fusion/vision_language_model.h"
#include "modules/exec/executor.h"
#include "modules/nn/parameter_store.h"

namespace hanvit::app {

// The trained parameters (updated in place in the store) and their gradients, which live in one flat
// buffer in about the order the backward pass finishes them, so that ranks can sum them in a few large
// pieces while the backward still runs.
struct TrainedParameters {
  std::vector<std::string> names;  // in flat_grad's order
  std::map<std::string, size_t> index;  // name -> position in names
  Tensor flat_grad;                // (sum of sizes) f32
  std::vector<Tensor> grads;       // views of flat_grad, each shaped like its parameter
  std::vector<int64_t> offsets;    // into flat_grad

  // Every parameter of `store` that `trains` accepts: those the store holds beside `forward_order`
  // (adapters) first, then `forward_order` (a model's parameters in forward order) reversed. Throws
  // when none trains.
  static TrainedParameters select(const ParameterStore& store, const std::vector<std::string>& forward_order,
                                  const std::function<bool(const std::string&)>& trains);
  bool trains(const std::string& name) const { return index.count(name) > 0; }
  void zero_grads() const { flat_grad.fill(0.0); }
};

struct MicroBatchResult {
  double loss_sum = 0.0;  // mean loss times targets
  int64_t targets = 0;    // target tokens in the batch
  int64_t samples = 0;
};

struct TrainingStepOptions {
  int64_t round_tokens = 8;  // batches are padded to a multiple of this many tokens (fewer graphs)
  bool recompute = false;    // recompute block activations in the backward pass
  // Called on every graph before the model is recorded (e.g. to install LoRA adapters).
  std::function<void(Graph&)> prepare_graph;
};

// Builds (and caches per padded (B, T)) the graph: model forward, mean cross-entropy over the target
// tokens, backward for the trained parameters. run() adds loss_sum's gradient (mean gradient times
// targets) into the flat gradient buffer, so that after all micro-batches of a step (and ranks),
// dividing by the total target count gives the gradient of the mean over every target token.
class TrainingStep {
 public:
  TrainingStep(const fusion::VisionLanguageModel& model, const ParameterStore& store, Backend& backend,
               const TrainedParameters& trained, TrainingStepOptions options);
  ~TrainingStep();

  // Adds the batch's gradients into the flat buffer; `ready(i)` (when given) is called as soon as the
  // gradient of trained parameter i has been added, while later backward nodes still run.
  MicroBatchResult run(const data::Batch& batch, const std::function<void(size_t)>& ready = {});
  // The loss alone (no backward), for validation: loss_sum and targets as run() gives them.
  MicroBatchResult evaluate(const data::Batch& batch);
  // Drops the built graphs: the next run records them again (and calls prepare_graph again).
  void clear_cache();
  // Peak bytes the executor of the last run planned.
  size_t last_peak_bytes() const { return last_peak_bytes_; }

 private:
  struct Compiled;
  Compiled& compiled(int64_t batch, int64_t tokens, bool train);
  // Pads and binds the batch, runs its graph and fills `result`; nullptr when it has no target.
  Compiled* bind_batch(const data::Batch& batch, bool train, MicroBatchResult& result);

  const fusion::VisionLanguageModel& model_;
  const ParameterStore& store_;
  Backend& backend_;
  const TrainedParameters& trained_;
  TrainingStepOptions options_;
  std::map<std::tuple<int64_t, int64_t, bool>, std::unique_ptr<Compiled>> cache_;
  size_t last_peak_bytes_ = 0;
  float weight_ = 0.0f;                     // the running batch's target count
  std::function<void(size_t)> ready_;       // the running batch's readiness hook
};

}  // namespace hanvit::app
