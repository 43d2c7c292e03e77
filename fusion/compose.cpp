// compose_model: pretrained or fresh vision and language parts joined by a fusion spec.
#include "fusion/compose.h"

#include <stdexcept>

#include "language/decoder/decoder_lm.h"
#include "modules/io/json_strict.h"
#include "vision/load_vision.h"

namespace hanvit::fusion {
namespace fs = std::filesystem;
namespace {

const std::vector<std::string> kTokenizerFiles = {"tokenizer.model", "tokenizer.json", "tokenizer_config.json",
                                                  "special_tokens_map.json", "generation_config.json"};

// A part given as a config.json file: its JSON (a folder is loaded elsewhere).
nlohmann::json fresh_config(const std::string& path, const std::string& part) {
  if (!fs::is_regular_file(path))
    throw std::invalid_argument(part + " '" + path + "': neither a model folder nor a config.json file");
  return read_json_file_strict(path, part + " config '" + path + "'");
}

std::vector<fs::path> existing(const fs::path& dir, const std::vector<std::string>& names) {
  std::vector<fs::path> out;
  for (const std::string& name : names)
    if (fs::is_regular_file(dir / name)) out.push_back(dir / name);
  return out;
}

}  // namespace

nlohmann::json default_preprocessor_config(const vision::VisionConfig& config) {
  const int64_t size = config.image_size;
  switch (config.family) {
    case vision::VisionFamily::clip:
      return {{"image_processor_type", "CLIPImageProcessor"},
              {"do_resize", true},
              {"size", {{"shortest_edge", size}}},
              {"do_center_crop", true},
              {"crop_size", {{"height", size}, {"width", size}}},
              {"resample", 3},
              {"do_rescale", true},
              {"rescale_factor", 1.0 / 255.0},
              {"do_normalize", true},
              {"image_mean", {0.48145466, 0.4578275, 0.40821073}},
              {"image_std", {0.26862954, 0.26130258, 0.27577711}},
              {"do_convert_rgb", true}};
    case vision::VisionFamily::siglip:
    case vision::VisionFamily::vit:
      return {{"image_processor_type",
               config.family == vision::VisionFamily::siglip ? "SiglipImageProcessor" : "ViTImageProcessor"},
              {"do_resize", true},
              {"size", {{"height", size}, {"width", size}}},
              {"resample", config.family == vision::VisionFamily::siglip ? 3 : 2},
              {"do_rescale", true},
              {"rescale_factor", 1.0 / 255.0},
              {"do_normalize", true},
              {"image_mean", {0.5, 0.5, 0.5}},
              {"image_std", {0.5, 0.5, 0.5}}};
  }
  throw std::invalid_argument("unknown vision family");
}

ComposedModel compose_model(const ComposeOptions& options, ParameterStore& store) {
  const bool vision_pretrained = fs::is_directory(options.vision);
  const bool language_pretrained = fs::is_directory(options.language);
  ModelConfig config;
  // Pretrained parts are loaded under a scratch store first: the final names depend on the style.
  ParameterStore vision_store, language_store;
  if (vision_pretrained)
    config.vision = vision::load_vision(options.vision, vision_store).config;
  else
    config.vision = vision::VisionConfig::from_json(fresh_config(options.vision, "vision"), "vision '" + options.vision + "'");
  if (language_pretrained)
    config.language = language::load_decoder(options.language, language_store).config;
  else
    config.language = language::DecoderConfig::from_json(fresh_config(options.language, "language"),
                                                         "language '" + options.language + "'");
  config.fusion = FusionConfig::parse_spec(options.fusion_spec, config.language.num_layers);
  if (config.fusion.style == FusionStyle::encoder_decoder) {
    if (config.language.family != language::DecoderFamily::gpt2)
      throw std::invalid_argument("fusion spec '" + options.fusion_spec +
                                  "': encoder-decoder fusion needs a GPT-2 family decoder");
    if (!config.language.add_cross_attention) {
      if (language_pretrained)
        throw std::invalid_argument("language '" + options.language +
                                    "': encoder-decoder fusion needs a decoder trained with add_cross_attention");
      config.language.add_cross_attention = true;
    }
    config.decoder_start_token_id = config.language.bos_token_id;
  } else {
    config.decoder_start_token_id = config.language.bos_token_id;
  }

  ComposedModel out;
  out.loaded.config = config;
  out.loaded.model = std::make_shared<VisionLanguageModel>(config);
  const VisionLanguageModel& model = *out.loaded.model;
  ParameterStore fresh(options.seed);
  const std::string vision_prefix = model.vision().path() + ".", language_prefix = model.language().path() + ".";
  for (const ParameterInfo& p : model.named_parameters()) {
    if (vision_pretrained && p.name.rfind(vision_prefix, 0) == 0)
      store.set(p.name, vision_store.get(p.name.substr(vision_prefix.size())));
    else if (language_pretrained && p.name.rfind(language_prefix, 0) == 0)
      store.set(p.name, language_store.get(p.name.substr(language_prefix.size())));
    else {
      fresh.initialize(p.name, p.shape, p.init);
      store.set(p.name, fresh.get(p.name));
    }
  }
  store.require_match(model);

  const fs::path tokenizer_dir = !options.tokenizer.empty() ? fs::path(options.tokenizer)
                                 : language_pretrained     ? fs::path(options.language)
                                                           : fs::path();
  if (!options.tokenizer.empty() && !fs::is_directory(options.tokenizer))
    throw std::invalid_argument("tokenizer '" + options.tokenizer + "': not a folder");
  if (!tokenizer_dir.empty()) out.side_files = existing(tokenizer_dir, kTokenizerFiles);
  if (vision_pretrained && fs::is_regular_file(fs::path(options.vision) / "preprocessor_config.json"))
    out.side_files.push_back(fs::path(options.vision) / "preprocessor_config.json");
  else
    out.preprocessor_json = default_preprocessor_config(config.vision).dump(2) + "\n";
  return out;
}

}  // namespace hanvit::fusion
