// The loader's position in its stream of batches, as the small JSON value a checkpoint stores.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

namespace hanvit::data {

// The next batch to yield is batch `step` of `epoch`. The other fields say what the position
// means and are checked on restore: a position only fits a loader over the same number of
// samples, seed, batch size and world size.
struct LoaderPosition {
  uint64_t epoch = 0;
  size_t step = 0;
  size_t samples = 0;
  uint64_t seed = 0;
  size_t batch_size = 0;
  size_t world_size = 0;

  bool operator==(const LoaderPosition&) const = default;
};

// {"epoch": 1, "step": 3, "samples": 100, "seed": 7, "batch_size": 4, "world_size": 2}
nlohmann::json position_to_json(const LoaderPosition& position);
// Throws std::invalid_argument "loader position: ..." naming a missing or non-integer field.
LoaderPosition position_from_json(const nlohmann::json& value);

}  // namespace hanvit::data
