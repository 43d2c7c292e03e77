// Rasterising a synthetic scene with OpenCV: filled shapes without anti-aliasing on a plain background.
#pragma once

#include <opencv2/core.hpp>

#include "datasets/synth/scene.h"

namespace hanvit::data {

// The scene as an 8-bit BGR image (OpenCV's channel order), size x size. Every shape is a filled
// polygon (circle: 64-gon; star: ten points, inner radius 0.382 of the outer; heart: 64 points of
// the curve x = 16 sin^3 t, y = 13 cos t - 5 cos 2t - 2 cos 3t - cos 4t; triangle apex up;
// diamond corners at the box's edge midpoints) stretched to touch all four edges of its box, drawn
// with 8-connected edges and no anti-aliasing: every pixel is the background or exactly one
// object's colour, and an object's pixels span exactly its box.
cv::Mat render_scene(const Scene& scene);

}  // namespace hanvit::data
