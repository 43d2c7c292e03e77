// `hanvit init`: compose a vision-language model folder from pretrained Hugging Face folders or fresh configs.
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "apps/commands.h"
#include "fusion/compose.h"
#include "modules/io/atomic_folder.h"

namespace hanvit::app {
namespace {

struct InitOptions {
  fusion::ComposeOptions compose;
  std::string out;
  bool overwrite = false;
};

size_t count_parameters(const Module& module) {
  size_t count = 0;
  for (const ParameterInfo& p : module.named_parameters()) count += static_cast<size_t>(numel(p.shape));
  return count;
}

void run_init(const InitOptions& options) {
  check_output_folder(options.out, options.overwrite);
  ParameterStore store(options.compose.seed);
  fusion::ComposedModel composed = fusion::compose_model(options.compose, store);
  const fusion::VisionLanguageModel& model = *composed.loaded.model;
  std::map<std::string, std::string> text_files;
  if (!composed.preprocessor_json.empty()) text_files["preprocessor_config.json"] = composed.preprocessor_json;
  fusion::save_model(options.out, composed.loaded.config, model, store, composed.side_files, options.overwrite,
                     text_files);
  const size_t total = count_parameters(model), vision = count_parameters(model.vision()),
               language = count_parameters(model.language());
  std::printf("wrote %s: %zu parameters (vision %zu, language %zu, fusion %zu)\n", options.out.c_str(), total, vision,
              language, total - vision - language);
  bool has_tokenizer = false;
  for (const auto& file : composed.side_files)
    has_tokenizer = has_tokenizer || file.filename().string().rfind("tokenizer", 0) == 0;
  if (!has_tokenizer)
    std::fprintf(stderr, "hanvit init: note: %s has no tokenizer yet (pass --tokenizer DIR, or add tokenizer.model)\n",
                 options.out.c_str());
}

}  // namespace

void add_init_command(CLI::App& app) {
  auto options = std::make_shared<InitOptions>();
  CLI::App* init = app.add_subcommand("init", "Compose a vision-language model folder from pretrained parts or configs");
  init->add_option("--vision", options->compose.vision,
                   "Vision tower: a Hugging Face folder (ViT, CLIP or SigLIP; weights loaded) or a config.json (fresh)")
      ->required();
  init->add_option("--language", options->compose.language,
                   "Decoder: a Hugging Face folder (LLaMA or GPT-2 family; weights loaded) or a config.json (fresh)")
      ->required();
  init->add_option("--fusion", options->compose.fusion_spec,
                   "gated:every=K | gated:layers=A,B,... [,projector=linear|mlp][,heads=N][,kv_heads=N] | encoder-decoder")
      ->default_val("gated:every=4");
  init->add_option("--tokenizer", options->compose.tokenizer, "Folder with tokenizer files (default: the --language folder)");
  init->add_option("--seed", options->compose.seed, "Seed of the fresh weights")->default_val(0);
  init->add_option("--out", options->out, "Model folder to write")->required();
  init->add_flag("--overwrite", options->overwrite, "Replace an existing non-empty --out folder");
  init->callback([options] { run_init(*options); });
}

}  // namespace hanvit::app
