// Mapping a Hugging Face image-processor config onto the preprocessing options.
#include "datasets/image/processor_config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "modules/io/json_strict.h"

namespace hanvit::data {
namespace {

int read_side(const nlohmann::json& value, const std::string& subject, const char* key) {
  if (value.is_number_integer()) return value.get<int>();
  if (value.is_object()) {
    if (value.contains("shortest_edge")) return value.at("shortest_edge").get<int>();
    const int h = value.value("height", -1), w = value.value("width", -1);
    if (h <= 0 || h != w) throw std::invalid_argument(subject + ": " + key + " must be square, got " + value.dump());
    return h;
  }
  throw std::invalid_argument(subject + ": " + key + " must be an integer or an object, got " + value.dump());
}

std::array<float, 3> read_triple(const nlohmann::json& value, const std::string& subject, const char* key) {
  if (value.is_number()) return {value.get<float>(), value.get<float>(), value.get<float>()};
  if (!value.is_array() || value.size() != 3)
    throw std::invalid_argument(subject + ": " + key + " must be three numbers, got " + value.dump());
  return {value[0].get<float>(), value[1].get<float>(), value[2].get<float>()};
}

}  // namespace

PreprocessOptions processor_options_from_json(const nlohmann::json& config, const std::string& subject) {
  if (!config.is_object()) throw std::invalid_argument(subject + ": must be a JSON object");
  try {
    PreprocessOptions options;
    options.mean = {0.0f, 0.0f, 0.0f};
    options.std = {1.0f, 1.0f, 1.0f};
    if (!config.value("do_resize", true)) throw std::invalid_argument(subject + ": do_resize false is not supported");
    const nlohmann::json size = config.value("size", nlohmann::json(224));
    const bool shortest = size.is_object() && size.contains("shortest_edge");
    options.size = read_side(size, subject, "size");
    const bool crop = config.value("do_center_crop", false);
    if (crop) {
      options.crop = read_side(config.value("crop_size", nlohmann::json(options.size)), subject, "crop_size");
      if (!shortest && options.crop != options.size)
        throw std::invalid_argument(subject + ": a center crop after a square resize is not supported");
    }
    options.mode = shortest ? ResizeMode::shortest_edge_crop : ResizeMode::squash;
    if (shortest && !crop) throw std::invalid_argument(subject + ": a shortest-edge resize needs a center crop");
    if (!shortest) options.crop = options.size;
    const int resample = config.value("resample", 2);
    if (resample == 2)
      options.interpolation = Interpolation::bilinear;
    else if (resample == 3)
      options.interpolation = Interpolation::bicubic;
    else
      throw std::invalid_argument(subject + ": resample " + std::to_string(resample) +
                                  " is not supported (2 bilinear, 3 bicubic)");
    if (config.value("do_rescale", true)) {
      const double factor = config.value("rescale_factor", 1.0 / 255.0);
      if (std::abs(factor - 1.0 / 255.0) > 1e-12)
        throw std::invalid_argument(subject + ": rescale_factor must be 1/255");
    } else {
      throw std::invalid_argument(subject + ": do_rescale false is not supported");
    }
    if (config.value("do_normalize", true)) {
      options.mean = read_triple(config.value("image_mean", nlohmann::json(0.5)), subject, "image_mean");
      options.std = read_triple(config.value("image_std", nlohmann::json(0.5)), subject, "image_std");
    }
    for (int c = 0; c < 3; ++c) {
      options.pad_fill[c] = static_cast<uint8_t>(std::clamp(options.mean[c] * 255.0f, 0.0f, 255.0f));
      if (!(options.std[c] > 0.0f)) throw std::invalid_argument(subject + ": image_std must be positive");
    }
    if (options.size <= 0 || options.crop <= 0 || options.crop > options.size)
      throw std::invalid_argument(subject + ": sizes must be positive with crop <= size");
    return options;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(subject + ": malformed field (" + std::string(e.what()) + ")");
  }
}

PreprocessOptions load_processor_options(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "preprocessor_config.json").string();
  const std::string subject = "preprocessor config '" + path + "'";
  return processor_options_from_json(read_json_file_strict(path, subject), subject);
}

}  // namespace hanvit::data
