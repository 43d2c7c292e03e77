// Question-answer builder of the synthetic shapes dataset (DESIGN.md §5): eligibility rules and exact answers.
#include "datasets/synth/questions.h"

#include <algorithm>
#include <array>

#include "datasets/text/korean.h"

namespace hanvit::data {
namespace {

using text::Particle;
using text::with_particle;

std::string colour_shape(size_t colour, SynthShape shape, Particle p) {
  return std::string(kSynthColours[colour].adjective) + " " + with_particle(shape_name(shape), p);
}

size_t count_shape(const Scene& scene, SynthShape shape) {
  return static_cast<size_t>(std::count_if(scene.objects.begin(), scene.objects.end(),
                                           [&](const SynthObject& o) { return o.shape == shape; }));
}

size_t count_pair(const Scene& scene, size_t colour, SynthShape shape) {
  return static_cast<size_t>(std::count_if(scene.objects.begin(), scene.objects.end(), [&](const SynthObject& o) {
    return o.colour == colour && o.shape == shape;
  }));
}

// One of `candidates`, uniformly; nullptr when there are none (no draw is made then).
const SynthObject* pick(const std::vector<const SynthObject*>& candidates, Rng& rng) {
  return candidates.empty() ? nullptr : candidates[rng.below(candidates.size())];
}

}  // namespace

std::vector<QuestionAnswer> build_questions(const Scene& scene, Rng& rng, Existence existence) {
  std::vector<QuestionAnswer> out;
  std::vector<const SynthObject*> unique_shape, unique_pair, all;
  for (const SynthObject& o : scene.objects) {
    all.push_back(&o);
    if (count_shape(scene, o.shape) == 1) unique_shape.push_back(&o);
    if (count_pair(scene, o.colour, o.shape) == 1) unique_pair.push_back(&o);
  }

  if (const SynthObject* o = pick(unique_shape, rng))
    out.push_back({with_particle(shape_name(o->shape), Particle::topic) + " 무슨 색인가요?",
                   std::string(kSynthColours[o->colour].noun)});
  if (const SynthObject* o = pick(all, rng))
    out.push_back(
        {std::string(kSynthPositions[o->cell]) + "에 있는 도형은 무엇인가요?", std::string(shape_name(o->shape))});
  if (const SynthObject* o = pick(unique_pair, rng))
    out.push_back({colour_shape(o->colour, o->shape, Particle::topic) + " 어디에 있나요?",
                   std::string(kSynthPositions[o->cell])});

  static constexpr std::array<const char*, 3> kCounts = {"한 개", "두 개", "세 개"};
  out.push_back({"도형은 모두 몇 개인가요?", kCounts[scene.objects.size() - 1]});

  if (existence == Existence::present) {
    const SynthObject* o = pick(all, rng);
    out.push_back({colour_shape(o->colour, o->shape, Particle::subject) + " 있나요?", "네"});
  } else {
    std::vector<std::pair<size_t, SynthShape>> absent;
    for (size_t colour = 0; colour < kSynthColours.size(); ++colour)
      for (size_t shape = 0; shape < kSynthShapeCount; ++shape)
        if (count_pair(scene, colour, static_cast<SynthShape>(shape)) == 0)
          absent.emplace_back(colour, static_cast<SynthShape>(shape));
    const auto& [colour, shape] = absent[rng.below(absent.size())];
    out.push_back({colour_shape(colour, shape, Particle::subject) + " 있나요?", "아니요"});
  }
  return out;
}

}  // namespace hanvit::data
