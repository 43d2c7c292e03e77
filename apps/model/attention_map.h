// Attention maps: for each generated word, where on the image the cross-attention looked, drawn as
// a heat map over the image, all words in one PNG grid.
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace hanvit::app {

struct WordAttention {
  std::string word;
  std::vector<float> patches;  // grid * grid weights, row-major over the image's patch grid
};

// `rgb` is the image the model saw (8-bit RGB). The image, then a tile of 160 px per word (none for
// an empty answer), in rows of up to six, each word written under its tile. Written atomically; throws naming `path` on failure.
void write_attention_map(const std::string& path, const cv::Mat& rgb, int grid, const std::vector<WordAttention>& words);

}  // namespace hanvit::app
