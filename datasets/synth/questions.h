// The VQA pairs of a synthetic scene: one question of each of the five kinds of DESIGN.md §5 that the scene allows.
#pragma once

#include <string>
#include <vector>

#include "modules/random/rng.h"
#include "datasets/synth/scene.h"

namespace hanvit::data {

struct QuestionAnswer {
  std::string question, answer;
};

// Which existence question to ask: about an object in the image (answer 네) or one that is not (아니요).
enum class Existence { present, absent };

// The eligible questions, in this order (each choice uniform via rng.below, drawn in this order):
// 1. `{shape}{은/는} 무슨 색인가요?` -> `{colour}색`, about one of the shapes that occur exactly
//    once (skipped when none does);
// 2. `{position}에 있는 도형은 무엇인가요?` -> `{shape}`, about one of the occupied cells;
// 3. `{colour} {shape}{은/는} 어디에 있나요?` -> `{position}`, about one of the objects whose
//    colour-shape pair occurs exactly once (skipped when none does);
// 4. `도형은 모두 몇 개인가요?` -> `한 개` / `두 개` / `세 개` (always);
// 5. `{colour} {shape}{이/가} 있나요?` -> `네` about one of the objects when `existence` is
//    present, else `아니요` about one of the 42 colour-shape pairs absent from the image.
// The caller alternates `existence` so that half of the existence questions are about absent objects.
std::vector<QuestionAnswer> build_questions(const Scene& scene, Rng& rng, Existence existence);

}  // namespace hanvit::data
