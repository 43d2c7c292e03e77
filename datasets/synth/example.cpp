// Making one synthetic example: per-image random stream, scene, caption, questions.
#include "datasets/synth/example.h"

#include "datasets/synth/captions.h"

namespace hanvit::data {

std::string_view split_name(SynthSplit split) {
  static constexpr std::string_view kNames[] = {"train", "val", "test"};
  return kNames[static_cast<size_t>(split)];
}

SynthExample make_synth_example(uint64_t seed, SynthSplit split, size_t index, int size) {
  const uint64_t split_seed = derive_seed(seed, static_cast<uint64_t>(split) + 1);
  Rng rng(derive_seed(split_seed, index));
  SynthExample example{sample_scene(rng, size), {}, {}};
  example.caption = build_caption(example.scene);
  example.questions = build_questions(example.scene, rng, index % 2 == 0 ? Existence::present : Existence::absent);
  return example;
}

}  // namespace hanvit::data
