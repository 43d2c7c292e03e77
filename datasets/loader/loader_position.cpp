// Loader position to and from JSON.
#include "datasets/loader/loader_position.h"

#include <stdexcept>
#include <string>

namespace hanvit::data {

nlohmann::json position_to_json(const LoaderPosition& p) {
  return {{"epoch", p.epoch},           {"step", p.step},
          {"samples", p.samples},       {"seed", p.seed},
          {"batch_size", p.batch_size}, {"world_size", p.world_size}};
}

namespace {

uint64_t field(const nlohmann::json& value, const char* key) {
  if (!value.is_object()) throw std::invalid_argument("loader position: not a JSON object");
  const auto it = value.find(key);
  if (it == value.end()) throw std::invalid_argument(std::string("loader position: missing '") + key + "'");
  if (!it->is_number_unsigned())
    throw std::invalid_argument(std::string("loader position: '") + key + "' is not a non-negative integer");
  return it->get<uint64_t>();
}

}  // namespace

LoaderPosition position_from_json(const nlohmann::json& value) {
  LoaderPosition p;
  p.epoch = field(value, "epoch");
  p.step = static_cast<size_t>(field(value, "step"));
  p.samples = static_cast<size_t>(field(value, "samples"));
  p.seed = field(value, "seed");
  p.batch_size = static_cast<size_t>(field(value, "batch_size"));
  p.world_size = static_cast<size_t>(field(value, "world_size"));
  return p;
}

}  // namespace hanvit::data
