// `hanvit train CONFIG [KEY=VALUE ...]`: a training run from a JSON or YAML config, single process or under mpirun / srun.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "apps/train/progress_bar.h"
#include "apps/train/stop_signal.h"
#include "apps/train/trainer.h"

namespace hanvit::app {
namespace {

struct TrainArgs {
  std::string config;
  std::vector<std::string> overrides;
  bool quiet = false;
};

void run_train(const TrainArgs& args) {
  nlohmann::json json = read_config_file(args.config);
  apply_overrides(json, args.overrides);
  const TrainConfig config = TrainConfig::from_json(json, "config '" + args.config + "'");
  std::unique_ptr<Communicator> comm = make_communicator(Device::cpu());
  install_stop_handlers();
  TrainHooks hooks;
  hooks.progress = !args.quiet;
  TrainSummary summary;
  try {
    summary = train(config, *comm, hooks);
  } catch (const std::exception& e) {
    if (comm->size() == 1) throw;
    std::fprintf(stderr, "hanvit: error: rank %d: %s\n", comm->rank(), e.what());
    comm->abort(1);
  }
  if (comm->rank() != 0) return;
  if (summary.stopped) return;
  std::printf("trained steps %lld..%lld in %s (%lld skipped); model in %s\n",
              static_cast<long long>(summary.first_step), static_cast<long long>(summary.last_step),
              format_duration(summary.train_seconds).c_str(), static_cast<long long>(summary.skipped_steps),
              summary.model_dir.string().c_str());
  std::printf("  planned peak memory of a training step: %.1f MiB%s\n", static_cast<double>(summary.peak_bytes) / (1 << 20),
              config.recompute ? " (with recomputation)" : "");
  for (const auto& [name, value] : summary.last_eval) std::printf("  val %-20s %.4f\n", name.c_str(), value);
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* train = app.add_subcommand(
      "train", "Train a model folder on image-text data (config: JSON or YAML; mpirun -np N for data parallel)");
  train->add_option("config", args->config, "Run config (.json, .yaml); see the README's Training section")
      ->required();
  train->add_option("overrides", args->overrides, "KEY=VALUE changes to the config, e.g. steps=200 optimizer.lr=3e-4");
  train->add_flag("--quiet", args->quiet, "No progress line");
  train->callback([args] { run_train(*args); });
}

}  // namespace hanvit::app
