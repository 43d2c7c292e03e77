// Seeded sampling of synthetic scenes: background, object count, distinct cells, colours, shapes, boxes.
#include "datasets/synth/scene.h"

#include <algorithm>
#include <array>
#include <numeric>
#include <stdexcept>
#include <string>

namespace hanvit::data {

PixelBox cell_box(int size, size_t cell) {
  const int row = static_cast<int>(cell / 3), column = static_cast<int>(cell % 3);
  return {column * size / 3, row * size / 3, (column + 1) * size / 3, (row + 1) * size / 3};
}

Scene sample_scene(Rng& rng, int size) {
  if (size < kSynthMinSize || size > kSynthMaxSize)
    throw std::invalid_argument("image size " + std::to_string(size) + ": must be between " +
                                std::to_string(kSynthMinSize) + " and " + std::to_string(kSynthMaxSize) + " pixels");
  Scene scene{size, {}, {}};
  scene.background.r = static_cast<uint8_t>(rng.between(200, 255));
  scene.background.g = static_cast<uint8_t>(rng.between(200, 255));
  scene.background.b = static_cast<uint8_t>(rng.between(200, 255));

  const size_t count = static_cast<size_t>(rng.between(1, 3));
  std::array<size_t, kSynthCells> cells;
  std::iota(cells.begin(), cells.end(), size_t{0});
  for (size_t i = 0; i < count; ++i) std::swap(cells[i], cells[i + rng.below(kSynthCells - i)]);
  std::sort(cells.begin(), cells.begin() + static_cast<std::ptrdiff_t>(count));

  for (size_t i = 0; i < count; ++i) {
    SynthObject object{};
    object.cell = cells[i];
    object.colour = rng.below(kSynthColours.size());
    object.shape = static_cast<SynthShape>(rng.below(kSynthShapeCount));
    const PixelBox cell = cell_box(size, object.cell);
    const int longer = std::max(cell.x1 - cell.x0, cell.y1 - cell.y0);
    const int shorter = std::min(cell.x1 - cell.x0, cell.y1 - cell.y0);
    const int side = rng.between((longer + 1) / 2, shorter * 9 / 10);
    const int x0 = rng.between(cell.x0, cell.x1 - side);
    const int y0 = rng.between(cell.y0, cell.y1 - side);
    object.box = {x0, y0, x0 + side, y0 + side};
    scene.objects.push_back(object);
  }
  return scene;
}

}  // namespace hanvit::data
