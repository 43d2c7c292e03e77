// `hanvit data`: the parent of the dataset subcommands (synth, check).
#include "apps/commands.h"

namespace hanvit::app {

CLI::App& add_data_command(CLI::App& app) {
  CLI::App* data = app.add_subcommand("data", "Create and check image-text datasets");
  data->require_subcommand(1);
  return *data;
}

}  // namespace hanvit::app
