// `hanvit plot`: PNG line plots of a run's metrics.jsonl.
#include <cstdio>
#include <memory>
#include <string>

#include "apps/commands.h"
#include "apps/train/metric_plots.h"

namespace hanvit::app {

void add_plot_command(CLI::App& app) {
  auto options = std::make_shared<std::pair<std::string, std::string>>();  // run folder, --out
  CLI::App* plot = app.add_subcommand("plot", "Draw PNG line plots of a training run's metrics.jsonl");
  plot->add_option("run_dir", options->first, "Run folder holding metrics.jsonl")->required();
  plot->add_option("--out", options->second, "Folder for the PNGs (default: the run folder; created when absent)");
  plot->callback([options] {
    for (const std::string& path : write_metric_plots(options->first, options->second)) std::printf("%s\n", path.c_str());
  });
}

}  // namespace hanvit::app
