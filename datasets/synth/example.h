// One example of the synthetic shapes dataset, made from (seed, split, index) alone so any thread can make any image.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/synth/questions.h"
#include "datasets/synth/scene.h"

namespace hanvit::data {

enum class SynthSplit { train, val, test };
inline constexpr SynthSplit kSynthSplits[] = {SynthSplit::train, SynthSplit::val, SynthSplit::test};
std::string_view split_name(SynthSplit split);  // "train", "val", "test"

struct SynthExample {
  Scene scene;
  std::string caption;
  std::vector<QuestionAnswer> questions;
};

// Image `index` of `split`: its own Rng seeded with derive_seed(derive_seed(seed, 1 / 2 / 3 for
// train / val / test), index) draws the scene, then the questions' choices. The existence
// question is about a present object at even indices and an absent one at odd indices, so each
// split's existence answers are half 네 (one more at an odd count).
SynthExample make_synth_example(uint64_t seed, SynthSplit split, size_t index, int size);

}  // namespace hanvit::data
