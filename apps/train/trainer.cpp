// train(): the loop over optimizer steps, with its data, guards, evaluation and checkpoints.
#include "apps/train/trainer.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <new>
#include <stdexcept>

#include "apps/model/model_runner.h"
#include "apps/train/checkpoint.h"
#include "apps/train/generation_eval.h"
#include "apps/train/metrics_log.h"
#include "apps/train/progress_bar.h"
#include "apps/train/stop_signal.h"
#include "apps/train/trainable.h"
#include "apps/train/training_step.h"
#include "datasets/formats/dataset_format.h"
#include "datasets/image/decode.h"
#include "datasets/image/preprocess.h"
#include "datasets/image/processor_config.h"
#include "datasets/loader/dataset_mix.h"
#include "fusion/model_folder.h"
#include "language/tokenizer/load_tokenizer.h"
#include "modules/io/atomic_file.h"
#include "modules/io/atomic_folder.h"
#include "modules/io/safetensors.h"
#include "modules/nn/lora.h"
#include "modules/nn/name_patterns.h"
#include "modules/dist/gradient_buckets.h"
#include "modules/optim/lr_schedule.h"
#include "modules/optim/optimizer.h"

namespace hanvit::app {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<data::Sample> read_sources(const std::vector<DataSource>& sources, uint64_t seed, bool strict,
                                       const char* what) {
  std::vector<data::WeightedSamples> parts;
  for (const DataSource& source : sources) {
    data::RecordLog log(strict);
    data::WeightedSamples part;
    part.samples = data::read_samples(source.path, source.format, {}, log);
    part.weight = source.weight;
    if (part.samples.empty())
      throw std::invalid_argument(std::string(what) + " '" + source.path + "' has no usable sample (" + log.summary() +
                                  "): fix the records or remove the file from the config");
    if (log.skipped() > 0) std::fprintf(stderr, "hanvit train: %s: %s\n", source.path.c_str(), log.summary().c_str());
    parts.push_back(std::move(part));
  }
  return data::mix_datasets(parts, seed);
}

data::TextEncoder text_encoder(const language::Tokenizer& tokenizer) {
  data::TextEncoder e;
  e.encode = [&tokenizer](std::string_view text) { return tokenizer.encode(text); };
  const language::SpecialTokenIds& s = tokenizer.special();
  e.bos = s[language::SpecialToken::bos];
  e.eos = s[language::SpecialToken::eos];
  e.pad = s[language::SpecialToken::pad];
  e.user = s[language::SpecialToken::user];
  e.assistant = s[language::SpecialToken::assistant];
  return e;
}

data::ImageFunction image_function(const data::PreprocessOptions& options) {
  return [options](const fs::path& path) { return data::preprocess(data::decode_image_file(path.string()), options); };
}

// Rank that keeps the optimizer state of each trained parameter under ZeRO-1: parameters in order, each to
// the rank with the fewest elements so far (all ranks when not sharded).
std::vector<int> parameter_owners(const std::vector<Tensor>& grads, int world, bool shard) {
  std::vector<int> owners(grads.size(), -1);
  if (!shard) return owners;
  std::vector<int64_t> load(static_cast<size_t>(world), 0);
  for (size_t i = 0; i < grads.size(); ++i) {
    int best = 0;
    for (int r = 1; r < world; ++r)
      if (load[static_cast<size_t>(r)] < load[static_cast<size_t>(best)]) best = r;
    owners[i] = best;
    load[static_cast<size_t>(best)] += grads[i].numel();
  }
  return owners;
}

constexpr const char* kAdapterFile = "adapter_model.safetensors";

// adapter_model.safetensors and adapter_config.json (PEFT's names) into `folder`.
void write_adapter_files(const fs::path& folder, const Module& model, const LoraConfig& lora,
                         const ParameterStore& store) {
  save_safetensors((folder / kAdapterFile).string(), lora_state(model, lora, store));
  write_text_atomically((folder / "adapter_config.json").string(), lora_adapter_config(model, lora).dump(2) + "\n");
}

// Decay / no-decay groups per learning-rate multiplier (optimizer.lr_scales, first matching glob; 1 otherwise),
// in the order of first appearance.
std::vector<ParamGroup> parameter_groups(const std::vector<ParamRef>& params, const OptimizerConfig& optimizer) {
  std::vector<double> scales;
  std::vector<std::vector<ParamRef>> by_scale;
  for (const ParamRef& p : params) {
    double scale = 1.0;
    for (const auto& [pattern, value] : optimizer.lr_scales)
      if (matches_pattern(p.name, pattern)) {
        scale = value;
        break;
      }
    size_t slot = std::find(scales.begin(), scales.end(), scale) - scales.begin();
    if (slot == scales.size()) {
      scales.push_back(scale);
      by_scale.emplace_back();
    }
    by_scale[slot].push_back(p);
  }
  std::vector<ParamGroup> groups;
  for (size_t i = 0; i < scales.size(); ++i)
    for (ParamGroup& group : split_decay_groups(by_scale[i], optimizer.weight_decay)) {
      group.lr_scale = scales[i];
      groups.push_back(std::move(group));
    }
  if (groups.empty()) groups = split_decay_groups({}, optimizer.weight_decay);
  return groups;
}

}  // namespace

TrainSummary train(const TrainConfig& config, Communicator& comm, const TrainHooks& hooks) {
  const int rank = comm.rank(), world = comm.size();
  const bool leader = rank == 0;
  const fs::path run_dir = config.output;
  if (config.device != "cpu")
    throw std::invalid_argument("device '" + config.device + "': this build trains on the CPU only");
  const int64_t per_rank = config.batch_size / config.grad_accum;
  if (config.batch_size % (config.grad_accum * world) != 0)
    throw std::invalid_argument("batch_size " + std::to_string(config.batch_size) + " must be a multiple of grad_accum (" +
                                std::to_string(config.grad_accum) + ") x ranks (" + std::to_string(world) + ")");
  const int64_t micro = per_rank / world;
  if (leader) fs::create_directories(run_dir);
  comm.barrier();

  // Model: the newest checkpoint of the run folder, else the configured folder.
  const std::optional<fs::path> resume = latest_checkpoint(run_dir);
  const std::string model_dir = resume ? resume->string() : config.model;
  ParameterStore store(config.seed);
  fusion::LoadedModel loaded = fusion::load_model(model_dir, store);
  const std::unique_ptr<language::Tokenizer> tokenizer = language::load_tokenizer(model_dir);
  const data::PreprocessOptions preprocess = data::load_processor_options(model_dir);
  std::vector<fs::path> side_files;  // tokenizer and preprocessor files, copied into checkpoints and the model
  for (const std::string& file : fusion::kModelSideFiles) side_files.push_back(fs::path(model_dir) / file);

  // Data.
  std::vector<data::Sample> samples = read_sources(config.train_data, config.seed, config.strict_data, "train_data");
  data::RecordLog loader_log(config.strict_data);
  data::LoaderOptions loader_options;
  loader_options.batch_size = static_cast<size_t>(micro);
  loader_options.max_tokens = static_cast<size_t>(config.max_tokens);
  loader_options.seed = config.seed;
  loader_options.rank = static_cast<size_t>(rank);
  loader_options.world_size = static_cast<size_t>(world);
  loader_options.drop_last = true;
  loader_options.workers = static_cast<size_t>(config.workers);
  loader_options.group_by_length = config.group_by_length;
  const data::TextEncoder encoder = text_encoder(*tokenizer);
  data::Loader loader(samples, image_function(preprocess), encoder, loader_options, loader_log);
  if (loader.steps_per_epoch() < static_cast<size_t>(config.grad_accum))
    throw std::invalid_argument("train_data holds " + std::to_string(samples.size()) +
                                " samples, fewer than one step of batch_size " + std::to_string(config.batch_size) +
                                ": lower batch_size or add data");
  const int64_t total_steps =
      config.steps > 0 ? config.steps
                       : static_cast<int64_t>(std::ceil(config.epochs * static_cast<double>(loader.steps_per_epoch()) /
                                                        static_cast<double>(config.grad_accum)));
  std::vector<data::Sample> val_samples;
  if (!config.val_data.empty()) val_samples = read_sources(config.val_data, config.seed, false, "val_data");

  // LoRA adapters: fresh, or the checkpoint's.
  std::optional<LoraConfig> lora;
  if (!config.lora.targets.empty()) {
    lora = LoraConfig{config.lora.rank, config.lora.alpha, config.lora.dropout, config.lora.targets, config.seed};
    const fs::path adapter_file = fs::path(model_dir) / kAdapterFile;
    if (resume && fs::exists(adapter_file)) {
      const SafetensorsFile adapters(adapter_file.string());
      for (const std::string& name : adapters.names()) store.set(name, adapters.get(name).clone());
    }
    for (const ParameterInfo& p : lora_parameters(*loaded.model, *lora))
      if (!store.contains(p.name)) store.initialize(p.name, p.shape, p.init);
  }

  // What trains, and the optimizer (its state sharded over ranks with zero1).
  std::vector<std::string> forward_order;
  for (const ParameterInfo& p : loaded.model->named_parameters()) forward_order.push_back(p.name);
  TrainedParameters trained = TrainedParameters::select(
      store, forward_order, trainable_predicate(config.preset, config.freeze, config.unfreeze));
  std::unique_ptr<GradientBuckets> buckets;  // several ranks: gradients summed while the backward runs
  if (world > 1) {
    std::vector<int64_t> numels;
    for (const Tensor& grad : trained.grads) numels.push_back(grad.numel());
    buckets = std::make_unique<GradientBuckets>(comm, trained.flat_grad, numels);
  }
  std::vector<ParamRef> all_params, owned;
  const std::vector<int> owners = parameter_owners(trained.grads, world, config.zero1 && world > 1);
  for (size_t i = 0; i < trained.names.size(); ++i) {
    all_params.push_back({trained.names[i], store.get(trained.names[i]), trained.grads[i]});
    if (owners[i] < 0 || owners[i] == rank) owned.push_back(all_params.back());
  }
  AdamWOptions adam;
  adam.beta1 = config.optimizer.beta1;
  adam.beta2 = config.optimizer.beta2;
  adam.eps = config.optimizer.eps;
  AdamW optimizer(parameter_groups(owned, config.optimizer), adam);
  LrScheduleConfig schedule_config;
  schedule_config.kind = lr_schedule_kind_from_name(config.optimizer.schedule);
  schedule_config.base_lr = config.optimizer.lr;
  schedule_config.warmup_steps = std::min(config.optimizer.warmup_steps, total_steps);
  schedule_config.total_steps = total_steps;
  schedule_config.min_ratio = schedule_config.kind == LrScheduleKind::cosine ? config.optimizer.min_lr_ratio : 0.0;
  const LrSchedule schedule(schedule_config);

  // Resume: optimizer state, data position, counters.
  TrainSummary summary;
  int64_t step = 0;
  if (resume) {
    const CheckpointState state = read_checkpoint_state(*resume);
    const std::string where = "checkpoint '" + resume->string() + "' trainer_state.json";
    try {
      step = state.trainer.at("step").get<int64_t>();
      summary.skipped_steps = state.trainer.at("skipped_steps").get<int64_t>();
      std::vector<std::pair<std::string, Tensor>> mine;
      for (const auto& [name, tensor] : state.optimizer)
        for (const ParamRef& p : owned)
          if (name.rfind(p.name + ".", 0) == 0 && name.find('.', p.name.size() + 1) == std::string::npos)
            mine.emplace_back(name, tensor);
      json optimizer_json = state.trainer.at("optimizer");
      optimizer_json["groups"] = optimizer.state_json()["groups"];
      optimizer.load_state(mine, optimizer_json);
      data::LoaderPosition position = data::position_from_json(state.trainer.at("loader"));
      loader.restore(position);
    } catch (const json::exception& e) {
      throw std::invalid_argument(where + ": " + e.what());
    }
    if (leader) std::fprintf(stderr, "hanvit train: resuming %s at step %lld\n", resume->string().c_str(),
                             static_cast<long long>(step));
  }
  summary.first_step = step;

  std::unique_ptr<MetricsLog> metrics;
  if (leader) {
    write_text_atomically((run_dir / "train_config.json").string(), config.to_json().dump(2) + "\n");
    if (resume) truncate_metrics((run_dir / kMetricsFileName).string(), step);
    metrics = std::make_unique<MetricsLog>(run_dir.string());
  }

  TrainingStepOptions step_options;
  step_options.recompute = config.recompute;
  step_options.prepare_graph = [&](Graph& g) {
    if (lora) g.set_linear_adapter(lora_adapter(*loaded.model, *lora, static_cast<uint64_t>(step)));
  };
  TrainingStep training_step(*loaded.model, store, cpu_backend(), trained, step_options);

  // Copies the ZeRO-1 shards' optimizer state to every rank (so rank 0 can save it) when sharded.
  auto gathered_optimizer_state = [&]() {
    std::vector<std::pair<std::string, Tensor>> tensors;
    const NamedTensors own = optimizer.state_tensors();
    std::map<std::string, Tensor> by_name(own.begin(), own.end());
    for (size_t i = 0; i < trained.names.size(); ++i) {
      for (const char* slot : {"exp_avg", "exp_avg_sq"}) {
        const std::string name = trained.names[i] + "." + slot;
        Tensor value = by_name.count(name) ? by_name[name].clone() : Tensor::zeros(trained.grads[i].shape());
        if (owners[i] >= 0) comm.broadcast(value, owners[i]);
        tensors.emplace_back(name, value);
      }
    }
    return tensors;
  };
  auto save = [&](int64_t at) {
    CheckpointState state;
    state.optimizer = gathered_optimizer_state();
    if (!leader) {
      comm.barrier();
      return;
    }
    json optimizer_json = optimizer.state_json();
    json names = json::array();
    for (const std::string& name : trained.names) names.push_back(name);
    optimizer_json["groups"] = json::array({{{"params", names}}});
    state.trainer = {{"step", at},
                     {"skipped_steps", summary.skipped_steps},
                     {"loader", data::position_to_json(loader.position())},
                     {"rng", {{"seed", config.seed}, {"dropout_stream", at}}},
                     {"optimizer", optimizer_json},
                     {"world_size", world},
                     {"config", config.to_json()}};
    save_checkpoint(run_dir, at, state,
                    [&](const fs::path& folder) {
                      fusion::write_model_files(folder, loaded.config, *loaded.model, store, side_files);
                      if (lora) write_adapter_files(folder, *loaded.model, *lora, store);
                    },
                    config.keep_checkpoints);
    comm.barrier();
  };

  // The parameters with the LoRA updates folded in (a copy: the store keeps its adapters).
  auto merged_parameters = [&]() {
    ParameterStore merged = store;
    if (lora) merge_lora(*loaded.model, *lora, merged);
    return merged;
  };

  auto evaluate = [&](int64_t at) {
    std::map<std::string, double> values;
    if (val_samples.empty()) return values;
    data::RecordLog val_log(false);
    data::LoaderOptions val_options = loader_options;
    val_options.shuffle = false;
    val_options.drop_last = false;
    val_options.rank = 0;
    val_options.world_size = 1;
    val_options.group_by_length = false;
    data::Loader val_loader(val_samples, image_function(preprocess), encoder, val_options, val_log);
    double loss_sum = 0.0;
    int64_t targets = 0;
    while (std::optional<data::Batch> batch = val_loader.next()) {
      const MicroBatchResult r = training_step.evaluate(*batch);
      loss_sum += r.loss_sum;
      targets += r.targets;
    }
    values["loss"] = targets > 0 ? loss_sum / static_cast<double>(targets) : kNaN;
    if (config.eval_samples > 0) {
      ModelRunner runner(model_dir, loaded, merged_parameters());
      const GenerationScores scores =
          evaluate_generation(runner, val_samples, static_cast<size_t>(config.eval_samples));
      values.insert(scores.values.begin(), scores.values.end());
    }
    if (metrics) metrics->append({at, "val", values});
    return values;
  };

  ProgressBar progress(step, total_steps, hooks.progress && leader && ::isatty(STDERR_FILENO) != 0,
                       config.log_every);
  const bool show_progress = hooks.progress && leader;
  int64_t bad_in_row = 0;
  const double clip = config.optimizer.clip > 0 ? config.optimizer.clip : std::numeric_limits<double>::infinity();
  const auto start = std::chrono::steady_clock::now();
  int64_t last_saved = resume ? step : -1;
  while (step < total_steps) {
    const auto step_start = std::chrono::steady_clock::now();
    if (lora && lora->dropout > 0) training_step.clear_cache();  // new dropout masks: record the graphs again
    trained.zero_grads();
    double totals[4] = {0.0, 0.0, 0.0, 0.0};  // loss sum, targets, samples, tokens
    for (int64_t m = 0; m < config.grad_accum; ++m) {
      std::optional<data::Batch> batch = loader.next();
      if (!batch) batch = loader.next();  // the next epoch
      if (!batch) throw std::runtime_error("the training data yields no batch: every sample was rejected");
      MicroBatchResult r;
      std::function<void(size_t)> ready;
      if (buckets && m + 1 == config.grad_accum) ready = [&](size_t i) { buckets->mark_ready(static_cast<int>(i)); };
      try {
        r = training_step.run(*batch, ready);
      } catch (const std::bad_alloc&) {
        throw std::runtime_error("out of memory in step " + std::to_string(step) + " (" + std::to_string(batch->size()) +
                                 " samples of up to " + std::to_string(batch->tokens.shape()[1]) +
                                 " tokens): lower batch_size and raise grad_accum, lower max_tokens, or set recompute");
      }
      totals[0] += r.loss_sum;
      totals[1] += static_cast<double>(r.targets);
      totals[2] += static_cast<double>(r.samples);
      if (batch->size() > 0)
        for (int64_t i = 0; i < batch->attention_mask.numel(); ++i) totals[3] += batch->attention_mask.data<uint8_t>()[i];
    }
    if (buckets) buckets->finish();
    comm.all_reduce_sum(std::span<double>(totals, 4));
    const double loss = totals[1] > 0 ? totals[0] / totals[1] : kNaN;
    if (totals[1] > 0) {
      const float scale = static_cast<float>(1.0 / totals[1]);
      float* g = trained.flat_grad.data<float>();
      for (int64_t i = 0; i < trained.flat_grad.numel(); ++i) g[i] *= scale;
    }
    if (hooks.after_gradients) hooks.after_gradients(step, trained.flat_grad);
    const double norm = clip_grad_norm(all_params, clip);
    const double lr = schedule.lr(step);
    const bool finite = std::isfinite(loss) && std::isfinite(norm);
    if (finite) {
      bad_in_row = 0;
      optimizer.step(lr);
      for (size_t i = 0; i < all_params.size(); ++i)
        if (owners[i] >= 0) comm.broadcast(all_params[i].param, owners[i]);
    } else {
      ++bad_in_row;
      ++summary.skipped_steps;
      if (leader)
        std::fprintf(stderr, "\nhanvit train: step %lld skipped: non-finite loss (%g) or gradient norm (%g)\n",
                     static_cast<long long>(step), loss, norm);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
    summary.losses.push_back(finite ? loss : kNaN);
    ++step;
    if (metrics && (step % config.log_every == 0 || step == total_steps || !finite))
      metrics->append({step,
                       "train",
                       {{"loss", loss},
                        {"lr", lr},
                        {"grad_norm", norm},
                        {"samples_per_s", totals[2] / seconds},
                        {"tokens_per_s", totals[3] / seconds},
                        {"skipped_steps", static_cast<double>(summary.skipped_steps)}}});
    if (show_progress) progress.update(step - 1, loss, totals[3] / seconds, lr);
    if (bad_in_row >= config.max_bad_steps) {
      progress.finish_line();
      throw std::runtime_error("stopping at step " + std::to_string(step) + ": " + std::to_string(bad_in_row) +
                               " steps in a row had a non-finite loss or gradient; lower optimizer.lr, set "
                               "optimizer.clip, or check the data (the last checkpoint is kept)");
    }
    double stop[1] = {stop_requested() ? 1.0 : 0.0};
    comm.all_reduce_max(std::span<double>(stop, 1));
    if (stop[0] > 0) {
      progress.finish_line();
      save(step);
      summary.stopped = true;
      summary.last_step = step;
      if (leader) std::fprintf(stderr, "hanvit train: stopped at step %lld; checkpoint saved in %s\n",
                               static_cast<long long>(step), checkpoint_path(run_dir, step).string().c_str());
      return summary;
    }
    if (config.eval_every > 0 && step % config.eval_every == 0 && step < total_steps) {
      progress.finish_line();
      if (leader) evaluate(step);
      comm.barrier();
    }
    if (config.checkpoint_every > 0 && step % config.checkpoint_every == 0) {
      progress.finish_line();
      save(step);
      last_saved = step;
    }
  }
  progress.finish_line();
  summary.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  summary.last_step = step;
  summary.peak_bytes = training_step.last_peak_bytes();
  if (last_saved != step) save(step);
  if (leader) {
    summary.last_eval = evaluate(step);
    summary.model_dir = run_dir / "model";
    fusion::save_model(summary.model_dir.string(), loaded.config, *loaded.model, merged_parameters(), side_files, true);
    if (lora)
      write_folder_atomically(run_dir / "adapter", true, [&](const fs::path& folder) {
        write_adapter_files(folder, *loaded.model, *lora, store);
      });
  }
  comm.barrier();
  return summary;
}

}  // namespace hanvit::app
