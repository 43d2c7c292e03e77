// A Hugging Face preprocessor_config.json (CLIP / SigLIP / ViT image processors) as PreprocessOptions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "datasets/image/preprocess.h"

namespace hanvit::data {

// Reads the processor's resize (size: shortest_edge or height/width), resample (2 bilinear,
// 3 bicubic), center crop, rescale (1/255 only) and normalisation. Throws std::invalid_argument
// "<subject>: <problem>" for settings the pipeline does not reproduce (other resamplers, non-square
// outputs, another rescale factor) or malformed fields.
PreprocessOptions processor_options_from_json(const nlohmann::json& config, const std::string& subject);

// Reads DIR/preprocessor_config.json; errors name the file.
PreprocessOptions load_processor_options(const std::string& dir);

}  // namespace hanvit::data
