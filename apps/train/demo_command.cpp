// `hanvit demo`: the whole product in one command — synthetic Korean data, a tokenizer, a small ViT + decoder +
// gated cross-attention model trained on the CPU, test-split metrics, a gallery, a contact sheet and the loss curve.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "apps/train/demo_report.h"
#include "apps/train/demo_setup.h"
#include "apps/train/generation_eval.h"
#include "apps/train/metric_plots.h"
#include "apps/train/progress_bar.h"
#include "apps/train/stop_signal.h"
#include "apps/train/trainer.h"
#include "datasets/formats/dataset_format.h"
#include "modules/io/atomic_file.h"

namespace hanvit::app {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

class Stopwatch {
 public:
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

void run_demo(const DemoOptions& o) {
  const Stopwatch total;
  const fs::path out = o.out, data_dir = out / "data";
  std::printf(
      "[1/3] synthesising the Korean shapes dataset, training a tokenizer (%d pieces), composing the model "
      "(ViT %lldx%lld + decoder %lldx%lld + gated cross-attention) in %s\n",
      o.vocab, static_cast<long long>(o.vision_layers), static_cast<long long>(o.width),
      static_cast<long long>(o.layers), static_cast<long long>(o.width), out.string().c_str());
  if (o.pretrain_steps > 0)
    std::printf("  then pretraining the ViT for %lld steps to tell each grid cell's shape, colour and place\n",
                static_cast<long long>(o.pretrain_steps));
  std::fflush(stdout);
  const CellPretrainingResult pretrained = prepare_demo_inputs(o);
  if (o.pretrain_steps > 0)
    std::printf("  vision pretraining: %s, validation cells: shape %.3f, colour %.3f correct\n",
                format_duration(pretrained.seconds).c_str(), pretrained.shape_accuracy, pretrained.colour_accuracy);
  // A fresh run every time (the demo owns these files).
  for (const char* stale : {"checkpoints", "model", "metrics.jsonl"}) fs::remove_all(out / stale);
  std::printf("[2/3] training on the CPU: %lld steps of %lld samples (%zu training images)\n",
              static_cast<long long>(o.steps), static_cast<long long>(o.batch), o.train_images);
  std::fflush(stdout);
  std::unique_ptr<Communicator> comm = make_communicator(Device::cpu());
  install_stop_handlers();
  const TrainSummary summary = train(demo_train_config(o), *comm);
  if (summary.stopped) return;
  std::printf("[3/3] evaluating on the test split\n");
  std::fflush(stdout);
  data::RecordLog test_log(true);
  std::vector<data::Sample> test = data::read_samples(data_dir / "test" / "captions.jsonl", "", {}, test_log);
  std::vector<data::Sample> questions = data::read_samples(data_dir / "test" / "vqa.jsonl", "", {}, test_log);
  test.insert(test.end(), questions.begin(), questions.end());
  ModelRunner runner(summary.model_dir.string());
  const GenerationScores scores = evaluate_generation(runner, test, 0, 32);
  // train_seconds covers both stages: the vision pretraining and the captioner's training.
  json metrics = {{"train_seconds", pretrained.seconds + summary.train_seconds},
                  {"vision_pretrain_seconds", pretrained.seconds},
                  {"vision_pretrain_steps", o.pretrain_steps},
                  {"steps", summary.last_step},
                  {"batch_size", o.batch},
                  {"test_images", o.test_images}};
  for (const auto& [name, value] : scores.values) metrics[name] = value;
  write_text_atomically((out / "metrics.json").string(), metrics.dump(2) + "\n");
  write_metric_plots(out.string(), out.string());
  write_gallery(out / "gallery.html", scores.examples, metrics, out);
  write_contact_sheet(out / "contact_sheet.png", scores.examples, 16);
  print_demo_report(scores, metrics, total.seconds(), out);
}

}  // namespace

void add_demo_command(CLI::App& app) {
  auto o = std::make_shared<DemoOptions>();
  CLI::App* demo = app.add_subcommand(
      "demo",
      "Synthesise Korean shapes data, train a tokenizer and a small captioner on the CPU, evaluate, show results");
  demo->add_option("--out", o->out, "Folder for the data, model, metrics and gallery")->capture_default_str();
  demo->add_option("--train-images", o->train_images, "Training images to synthesise")->capture_default_str();
  demo->add_option("--pretrain-steps", o->pretrain_steps,
                   "Steps of the vision tower as a classifier of each cell's shape and colour, first (0: none)")
      ->capture_default_str();
  demo->add_option("--steps", o->steps, "Optimizer steps of the captioner")->capture_default_str();
  demo->add_option("--batch", o->batch, "Samples per step")->capture_default_str();
  demo->add_option("--lr", o->lr, "Peak learning rate of both stages (cosine schedule)")->capture_default_str();
  demo->add_option("--vqa-weight", o->vqa_weight,
                   "Copies of the VQA file (5 questions per image) per epoch; the captions are taken twice")
      ->capture_default_str();
  demo->add_option("--vision-lr-scale", o->vision_lr_scale,
                   "The vision tower's learning rate relative to --lr while the captioner trains (0: frozen; "
                   "give it one, e.g. 1, with --pretrain-steps 0)")
      ->capture_default_str();
  demo->add_option("--width", o->width, "Hidden size of the vision tower and decoder (a multiple of 32)")
      ->capture_default_str();
  demo->add_option("--vision-width", o->vision_width, "Hidden size of the vision tower (0: --width)")
      ->capture_default_str();
  demo->add_option("--layers", o->layers, "Decoder layers")->capture_default_str();
  demo->add_option("--vision-layers", o->vision_layers, "Vision tower layers")->capture_default_str();
  demo->add_option("--patch-cells", o->patch_cells, "Patches per side of a grid cell (a divisor of image_size / 3)")
      ->capture_default_str();
  demo->add_option("--fusion", o->fusion, "Fusion spec (see hanvit init --help)")->capture_default_str();
  demo->add_option("--vocab", o->vocab, "Tokenizer pieces")->capture_default_str();
  demo->add_option("--seed", o->seed, "Seed of the data, tokenizer, weights and order")->capture_default_str();
  demo->add_option("--workers", o->workers, "Image decoding threads")->capture_default_str();
  demo->callback([o] {
    if (o->width <= 0 || o->width % 32 != 0) throw std::invalid_argument("--width must be a positive multiple of 32");
    if (!(o->vqa_weight > 0)) throw std::invalid_argument("--vqa-weight must be > 0");
    if (o->pretrain_steps < 0) throw std::invalid_argument("--pretrain-steps must be >= 0");
    if (o->patch_cells < 1 || (o->image_size / 3) % o->patch_cells != 0)
      throw std::invalid_argument("--patch-cells must divide the cell side " + std::to_string(o->image_size / 3));
    run_demo(*o);
  });
}

}  // namespace hanvit::app
