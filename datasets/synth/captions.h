// The Korean caption of a synthetic scene: `{colour} {shape}{이/가} {position}에`, joined by ` 있고, `, ending ` 있다.`
#pragma once

#include <string>

#include "datasets/synth/scene.h"

namespace hanvit::data {

// Objects in reading order, e.g. "파란 하트가 위에 있고, 검은 사각형이 가운데에 있다."
std::string build_caption(const Scene& scene);

}  // namespace hanvit::data
