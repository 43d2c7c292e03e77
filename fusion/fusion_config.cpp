// The fusion section of a model's config.json and the command-line fusion spec.
#include "fusion/fusion_config.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace hanvit::fusion {
namespace {

int64_t parse_count(const std::string& text, const std::string& spec, const std::string& what) {
  int64_t value = -1;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0)
    throw std::invalid_argument("fusion spec '" + spec + "': " + what + " must be a non-negative integer, got '" +
                                text + "'");
  return value;
}

std::vector<std::string> split_on(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

const char* style_name(FusionStyle style) { return style == FusionStyle::gated ? "gated" : "encoder_decoder"; }

int64_t read_count(const nlohmann::json& section, const char* key, const std::string& subject) {
  if (!section.contains(key)) return 0;
  const nlohmann::json& value = section.at(key);
  if (!value.is_number_integer() || value.get<int64_t>() < 0)
    throw std::invalid_argument(subject + ": fusion." + key + " must be a non-negative integer");
  return value.get<int64_t>();
}

}  // namespace

void check_fusion_layers(const FusionConfig& config, int64_t num_layers, const std::string& subject) {
  if (config.style != FusionStyle::gated) return;
  if (config.layers.empty()) throw std::invalid_argument(subject + ": gated fusion lists no decoder layers");
  for (size_t i = 0; i < config.layers.size(); ++i) {
    if (config.layers[i] < 0 || config.layers[i] >= num_layers)
      throw std::invalid_argument(subject + ": fusion layer " + std::to_string(config.layers[i]) +
                                  " is outside the decoder's " + std::to_string(num_layers) + " layers");
    if (i > 0 && config.layers[i] <= config.layers[i - 1])
      throw std::invalid_argument(subject + ": fusion layers must be distinct and increasing");
  }
}

FusionConfig FusionConfig::from_json(const nlohmann::json& section, const std::string& subject) {
  if (!section.is_object()) throw std::invalid_argument(subject + ": \"fusion\" must be an object");
  static const std::vector<std::string> known = {"style", "layers", "projector", "num_heads", "num_kv_heads",
                                                 "intermediate_size"};
  for (const auto& [key, value] : section.items())
    if (std::find(known.begin(), known.end(), key) == known.end())
      throw std::invalid_argument(subject + ": unknown key fusion." + key);
  FusionConfig config;
  const std::string style = section.value("style", std::string("gated"));
  if (style == "gated")
    config.style = FusionStyle::gated;
  else if (style == "encoder_decoder")
    config.style = FusionStyle::encoder_decoder;
  else
    throw std::invalid_argument(subject + ": fusion.style '" + style + "' is not gated or encoder_decoder");
  if (section.contains("layers")) {
    const nlohmann::json& layers = section.at("layers");
    if (!layers.is_array()) throw std::invalid_argument(subject + ": fusion.layers must be a list of integers");
    for (const nlohmann::json& layer : layers) {
      if (!layer.is_number_integer()) throw std::invalid_argument(subject + ": fusion.layers must be integers");
      config.layers.push_back(layer.get<int64_t>());
    }
  }
  const std::string projector = section.value("projector", std::string("linear"));
  if (projector == "linear")
    config.projector = ProjectorKind::linear;
  else if (projector == "mlp")
    config.projector = ProjectorKind::mlp;
  else
    throw std::invalid_argument(subject + ": fusion.projector '" + projector + "' is not linear or mlp");
  config.num_heads = read_count(section, "num_heads", subject);
  config.num_kv_heads = read_count(section, "num_kv_heads", subject);
  config.intermediate_size = read_count(section, "intermediate_size", subject);
  return config;
}

nlohmann::json FusionConfig::to_json() const {
  nlohmann::json out = {{"style", style_name(style)}};
  if (style == FusionStyle::gated) {
    out["layers"] = layers;
    out["projector"] = projector == ProjectorKind::linear ? "linear" : "mlp";
    out["num_heads"] = num_heads;
    out["num_kv_heads"] = num_kv_heads;
    out["intermediate_size"] = intermediate_size;
  }
  return out;
}

FusionConfig FusionConfig::parse_spec(const std::string& spec, int64_t num_layers) {
  FusionConfig config;
  if (spec == "encoder-decoder" || spec == "ved") {
    config.style = FusionStyle::encoder_decoder;
    return config;
  }
  if (spec.rfind("gated:", 0) != 0)
    throw std::invalid_argument("fusion spec '" + spec +
                                "': expected gated:every=K or gated:layers=A,B,... (options ,projector=linear|mlp "
                                ",heads=N ,kv_heads=N) or encoder-decoder");
  // Options are comma-separated key=value; the values of layers= continue over bare numbers.
  std::string last_key;
  bool placed = false;
  for (const std::string& part : split_on(spec.substr(6), ',')) {
    size_t eq = part.find('=');
    if (eq == std::string::npos) {
      if (last_key != "layers") throw std::invalid_argument("fusion spec '" + spec + "': '" + part + "' has no =");
      config.layers.push_back(parse_count(part, spec, "a layer"));
      continue;
    }
    last_key = part.substr(0, eq);
    const std::string value = part.substr(eq + 1);
    if (last_key == "every") {
      int64_t every = parse_count(value, spec, "every");
      if (every == 0) throw std::invalid_argument("fusion spec '" + spec + "': every must be at least 1");
      for (int64_t layer = 0; layer < num_layers; layer += every) config.layers.push_back(layer);
      placed = true;
    } else if (last_key == "layers") {
      config.layers.push_back(parse_count(value, spec, "a layer"));
      placed = true;
    } else if (last_key == "projector") {
      if (value != "linear" && value != "mlp")
        throw std::invalid_argument("fusion spec '" + spec + "': projector must be linear or mlp");
      config.projector = value == "mlp" ? ProjectorKind::mlp : ProjectorKind::linear;
    } else if (last_key == "heads") {
      config.num_heads = parse_count(value, spec, "heads");
    } else if (last_key == "kv_heads") {
      config.num_kv_heads = parse_count(value, spec, "kv_heads");
    } else {
      throw std::invalid_argument("fusion spec '" + spec + "': unknown option '" + last_key + "'");
    }
  }
  if (!placed) throw std::invalid_argument("fusion spec '" + spec + "': give every=K or layers=A,B,...");
  check_fusion_layers(config, num_layers, "fusion spec '" + spec + "'");
  return config;
}

}  // namespace hanvit::fusion
