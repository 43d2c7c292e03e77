// A synthetic scene (background + 1-3 shapes in distinct cells of a 3x3 grid) and its seeded sampler.
#pragma once

#include <cstddef>
#include <vector>

#include "modules/random/rng.h"
#include "datasets/synth/vocabulary.h"

namespace hanvit::data {

// Pixel rectangle [x0, x1) x [y0, y1): x1 and y1 are one past the last column / row.
struct PixelBox {
  int x0, y0, x1, y1;
  bool operator==(const PixelBox&) const = default;
};

struct SynthObject {
  size_t colour;  // index into kSynthColours
  SynthShape shape;
  size_t cell;   // index into kSynthPositions (row * 3 + column)
  PixelBox box;  // a square the shape fills edge to edge; wholly inside the cell
};

struct Scene {
  int size;                          // canvas width = height, pixels
  Rgb background;                    // every channel >= 200
  std::vector<SynthObject> objects;  // 1-3, in reading order (increasing cell)
};

// Canvas sizes the sampler accepts: below 24 px a cell is too small for the 50-90 % rule.
inline constexpr int kSynthMinSize = 24, kSynthMaxSize = 2048;

// The pixels of a cell: column c covers [c * size / 3, (c + 1) * size / 3) (integer division),
// rows likewise, so the three cells of a row differ by at most one pixel.
PixelBox cell_box(int size, size_t cell);

// Draws a scene, in this order: background r, g, b (each uniform in [200, 255]); the object
// count (uniform in 1..3); that many distinct cells (a partial Fisher-Yates shuffle of 0..8),
// then, for each object in reading order, its colour (uniform over 7), shape (uniform over 6),
// side s and the box's left and top edges. s is uniform in
// [ceil(0.5 * longer cell side), floor(0.9 * shorter cell side)], so the square is 50-90 % of
// the cell along both axes, and its position is uniform among those wholly inside the cell.
// Throws std::invalid_argument unless kSynthMinSize <= size <= kSynthMaxSize.
Scene sample_scene(Rng& rng, int size);

}  // namespace hanvit::data
