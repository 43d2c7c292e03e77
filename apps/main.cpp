// Entry point of the hanvit tool: parses the subcommand and turns any error into one line
// on stderr and a non-zero exit.
#include <cstdio>
#include <exception>

#include "apps/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"hanvit: Korean multimodal models (ViT + Korean LLM + cross-attention) on CPU and GPU"};
  app.require_subcommand(1);
  hanvit::app::add_info_command(app);
#ifdef HANVIT_WITH_DATA
  CLI::App& data = hanvit::app::add_data_command(app);
  hanvit::app::add_data_synth_command(data);
  hanvit::app::add_data_check_command(data);
  hanvit::app::add_tokenizer_command(app);
  hanvit::app::add_eval_command(app);
  hanvit::app::add_init_command(app);
  hanvit::app::add_caption_command(app);
  hanvit::app::add_vqa_command(app);
  hanvit::app::add_plot_command(app);
  hanvit::app::add_train_command(app);
  hanvit::app::add_demo_command(app);
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hanvit: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
