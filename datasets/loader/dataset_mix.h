// Weighted mixing of several datasets into one sample list, deterministic from a seed.
#pragma once

#include <cstdint>
#include <vector>

#include "datasets/formats/sample.h"

namespace hanvit::data {

struct WeightedSamples {
  std::vector<Sample> samples;
  double weight = 1.0;  // copies of the dataset per epoch: 2.5 = every sample twice plus half of them once more
};

// The concatenation, in the order given, of each dataset repeated floor(weight) times plus
// round(fraction * size) of its samples chosen by (seed, dataset position) without replacement
// (kept in their original order). The loader then shuffles the whole per epoch. Throws
// std::invalid_argument for a negative or non-finite weight.
std::vector<Sample> mix_datasets(const std::vector<WeightedSamples>& datasets, uint64_t seed);

}  // namespace hanvit::data
