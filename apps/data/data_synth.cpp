// `hanvit data synth`: writes the synthetic Korean shapes dataset (images + caption / VQA / object JSONL per split).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "apps/commands.h"
#include "datasets/synth/writer.h"

namespace hanvit::app {
namespace {

// "\rtrain 1200/20000 images, 3100/s, ETA 6 s" on stderr, rewritten in place.
class ProgressLine {
 public:
  void operator()(std::string_view split, size_t done, size_t total) {
    if (split != split_) {
      split_ = split;
      start_ = std::chrono::steady_clock::now();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
    const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0.0;
    std::fprintf(stderr, "\r%.*s %zu/%zu images, %.0f/s, ETA %.0f s   ", static_cast<int>(split.size()), split.data(),
                 done, total, rate, eta);
    if (done == total) std::fputc('\n', stderr);
    std::fflush(stderr);
  }

 private:
  std::string split_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

void add_data_synth_command(CLI::App& data) {
  CLI::App* synth = data.add_subcommand("synth", "Write the synthetic Korean shapes dataset (DESIGN.md section 5)");
  auto options = std::make_shared<hanvit::data::SynthOptions>();
  synth->add_option("--out", options->out, "Output folder (gets train/, val/, test/)")->required();
  // CLI11 would wrap "-5" around into an unsigned option.
  const CLI::Validator not_negative(
      [](const std::string& value) { return value.starts_with('-') ? "must not be negative" : std::string(); }, "");
  synth->add_option("--train", options->train, "Training images")->capture_default_str()->check(not_negative);
  synth->add_option("--val", options->val, "Validation images")->capture_default_str()->check(not_negative);
  synth->add_option("--test", options->test, "Test images")->capture_default_str()->check(not_negative);
  synth->add_option("--size", options->size, "Image side in pixels (24 to 2048)")->capture_default_str();
  synth->add_option("--seed", options->seed, "Random seed: the same seed writes the same bytes")
      ->capture_default_str()
      ->check(not_negative);
  synth->add_flag("--overwrite", options->overwrite, "Replace the images and JSONL files of non-empty split folders");
  synth->callback([options] {
    if (::isatty(STDERR_FILENO)) options->progress = ProgressLine{};
    const auto start = std::chrono::steady_clock::now();
    const hanvit::data::SynthSummary summary = hanvit::data::write_synth_dataset(*options);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("wrote %zu train, %zu val, %zu test images (%d px, seed %llu; %zu questions) to %s in %.1f s\n",
                options->train, options->val, options->test, options->size,
                static_cast<unsigned long long>(options->seed), summary.questions, options->out.c_str(), seconds);
  });
}

}  // namespace hanvit::app
