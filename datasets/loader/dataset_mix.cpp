// Weighted dataset mixing.
#include "datasets/loader/dataset_mix.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "datasets/loader/epoch_order.h"

namespace hanvit::data {

std::vector<Sample> mix_datasets(const std::vector<WeightedSamples>& datasets, uint64_t seed) {
  std::vector<Sample> mixed;
  for (size_t d = 0; d < datasets.size(); ++d) {
    const WeightedSamples& set = datasets[d];
    if (!std::isfinite(set.weight) || set.weight < 0)
      throw std::invalid_argument("dataset " + std::to_string(d) + ": weight " + std::to_string(set.weight) +
                                  " is not a finite non-negative number");
    const double whole = std::floor(set.weight);
    for (double r = 0; r < whole; ++r) mixed.insert(mixed.end(), set.samples.begin(), set.samples.end());
    const auto extra =
        static_cast<size_t>(std::llround((set.weight - whole) * static_cast<double>(set.samples.size())));
    std::vector<size_t> chosen = epoch_permutation(set.samples.size(), seed, d, /*shuffle=*/true);
    chosen.resize(extra);
    std::sort(chosen.begin(), chosen.end());
    for (const size_t i : chosen) mixed.push_back(set.samples[i]);
  }
  return mixed;
}

}  // namespace hanvit::data
