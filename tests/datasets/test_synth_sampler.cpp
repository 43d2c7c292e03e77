// The synthetic dataset's random numbers and scene sampler: reference values, ranges, coverage of the vocabulary.
#include <array>
#include <catch2/catch.hpp>
#include <set>

#include "modules/random/rng.h"
#include "datasets/synth/scene.h"

using namespace hanvit;
using namespace hanvit::data;

TEST_CASE("splitmix64 matches the published reference sequence", "[synth]") {
  uint64_t state = 0;  // Vigna's splitmix64.c seeded with 0
  CHECK(splitmix64(state) == 0xe220a8397b1dcdafull);
  CHECK(splitmix64(state) == 0x6e789e6aa1b965f4ull);
  CHECK(splitmix64(state) == 0x06c45d188009454full);
}

TEST_CASE("bounded draws stay in range and are close to uniform", "[synth]") {
  Rng rng(42);
  std::array<int, 7> counts{};
  for (int i = 0; i < 70000; ++i) ++counts[rng.below(7)];
  for (const int c : counts) {
    CHECK(c > 9500);
    CHECK(c < 10500);
  }
  for (int i = 0; i < 1000; ++i) {
    const int v = rng.between(200, 255);
    CHECK((v >= 200 && v <= 255));
  }
  CHECK(Rng(derive_seed(1, 1)).next() != Rng(derive_seed(1, 2)).next());
  CHECK(Rng(derive_seed(1, 1)).next() != Rng(derive_seed(2, 1)).next());
}

TEST_CASE("sampled scenes use every colour, shape, cell and count, with boxes inside their cells", "[synth]") {
  for (const int size : {24, 25, 26, 64, 301}) {
    Rng rng(static_cast<uint64_t>(size));
    std::set<size_t> colours, cells, counts;
    std::set<SynthShape> shapes;
    for (int i = 0; i < 500; ++i) {
      const Scene scene = sample_scene(rng, size);
      INFO("size " << size << " scene " << i);
      REQUIRE(scene.size == size);
      CHECK(std::min({scene.background.r, scene.background.g, scene.background.b}) >= 200);
      counts.insert(scene.objects.size());
      for (size_t k = 0; k < scene.objects.size(); ++k) {
        const SynthObject& o = scene.objects[k];
        if (k > 0) CHECK(scene.objects[k - 1].cell < o.cell);
        colours.insert(o.colour);
        shapes.insert(o.shape);
        cells.insert(o.cell);
        const PixelBox cell = cell_box(size, o.cell);
        CHECK((o.box.x0 >= cell.x0 && o.box.x1 <= cell.x1 && o.box.y0 >= cell.y0 && o.box.y1 <= cell.y1));
        CHECK(o.box.x1 - o.box.x0 == o.box.y1 - o.box.y0);
        CHECK(2 * (o.box.x1 - o.box.x0) >= std::max(cell.x1 - cell.x0, cell.y1 - cell.y0));
        CHECK(10 * (o.box.x1 - o.box.x0) <= 9 * std::min(cell.x1 - cell.x0, cell.y1 - cell.y0));
      }
    }
    CHECK(counts == std::set<size_t>{1, 2, 3});
    CHECK(colours.size() == kSynthColours.size());
    CHECK(shapes.size() == kSynthShapeCount);
    CHECK(cells.size() == kSynthCells);
  }
  Rng rng(0);
  CHECK_THROWS_WITH(sample_scene(rng, 23), "image size 23: must be between 24 and 2048 pixels");
}
