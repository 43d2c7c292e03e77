// The configuration of a training run: read from JSON or YAML, changed by KEY=VALUE overrides, checked strictly.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace hanvit::app {

// One training or validation dataset: a file of any format of datasets/formats, mixed by weight.
struct DataSource {
  std::string path;
  std::string format;   // "" = detected from the file
  double weight = 1.0;  // copies per epoch (datasets/loader/dataset_mix.h)
};

struct OptimizerConfig {
  double lr = 1e-3;
  double weight_decay = 0.01;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  std::string schedule = "cosine";  // constant | linear | cosine
  int64_t warmup_steps = 0;
  double min_lr_ratio = 0.0;  // cosine only
  double clip = 1.0;          // global gradient-norm limit; 0 = no clipping
  // Learning-rate multipliers by parameter-name glob, the first matching pattern winning
  // ({"vision.*": 0.1}: a pretrained tower moves ten times slower); others get 1.
  std::vector<std::pair<std::string, double>> lr_scales;
};

struct LoraSettings {
  int rank = 8;
  double alpha = 16.0;
  double dropout = 0.0;
  std::vector<std::string> targets;  // Linear path globs, e.g. "*.q_proj"; empty = no adapters
};

struct TrainConfig {
  std::string model;   // model folder to start from (`hanvit init` or a checkpoint's model)
  std::string output;  // run folder: checkpoints/, metrics.jsonl, final model/
  std::vector<DataSource> train_data;
  std::vector<DataSource> val_data;
  int64_t steps = 0;   // optimizer steps; 0 = from epochs
  double epochs = 0;   // used when steps is 0
  int64_t batch_size = 16;  // samples per optimizer step over all ranks and accumulation steps
  int64_t grad_accum = 1;   // micro-batches per optimizer step (per rank)
  int64_t max_tokens = 128;
  OptimizerConfig optimizer;
  // What trains: a preset ("fusion": projector + gated cross-attention; "full": everything;
  // "lora": adapters only, plus fusion layers), then freeze / unfreeze name globs applied in order.
  std::string preset = "fusion";
  std::vector<std::string> freeze, unfreeze;
  LoraSettings lora;
  std::string precision = "f32";  // f32 | bf16 (CUDA: bf16 compute, f32 master weights)
  std::string device = "cpu";     // cpu | cuda
  int64_t eval_every = 0;         // 0 = only at the end
  int64_t eval_samples = 200;     // validation samples generated for caption / VQA metrics per eval
  int64_t checkpoint_every = 0;   // 0 = only at the end
  int64_t keep_checkpoints = 3;
  int64_t log_every = 10;
  int64_t max_bad_steps = 5;  // consecutive non-finite steps before the run stops
  uint64_t seed = 0;
  int64_t workers = 2;  // image decoding threads
  bool group_by_length = false;  // batches of similar token length: less padding, but less mixed batches
  bool recompute = false;  // recompute block activations in the backward pass
  bool zero1 = false;      // shard optimizer state over ranks
  bool strict_data = false;  // a bad record stops the run instead of being skipped

  nlohmann::json to_json() const;
  // Every key is checked: unknown keys, wrong types and out-of-range values throw
  // std::invalid_argument "<subject>: <key>: <problem>".
  static TrainConfig from_json(const nlohmann::json& value, const std::string& subject);
};

// Reads a .json, .yaml or .yml file into JSON (YAML scalars become numbers, booleans or strings as
// they read). Throws std::invalid_argument naming the file.
nlohmann::json read_config_file(const std::string& path);

// Applies "a.b=value" overrides to a JSON config: value is parsed as JSON when it is valid JSON
// (numbers, true, [..]) and taken as a string otherwise. Throws naming a malformed override.
void apply_overrides(nlohmann::json& config, const std::vector<std::string>& overrides);

}  // namespace hanvit::app
