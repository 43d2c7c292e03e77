// Caption builder of the synthetic shapes dataset (DESIGN.md §5).
#include "datasets/synth/captions.h"

#include "datasets/text/korean.h"

namespace hanvit::data {

std::string build_caption(const Scene& scene) {
  std::string caption;
  for (const SynthObject& object : scene.objects) {  // already in reading order
    if (!caption.empty()) caption += " 있고, ";
    caption += kSynthColours[object.colour].adjective;
    caption += ' ';
    caption += text::with_particle(shape_name(object.shape), text::Particle::subject);
    caption += ' ';
    caption += kSynthPositions[object.cell];
    caption += "에";
  }
  return caption + " 있다.";
}

}  // namespace hanvit::data
