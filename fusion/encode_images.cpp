// encode_images: one graph from pixels to every visual key/value pair.
#include "fusion/encode_images.h"

#include "modules/exec/executor.h"

namespace hanvit::fusion {

std::vector<std::pair<Tensor, Tensor>> encode_images(const VisionLanguageModel& model, const ParameterStore& store,
                                                     Backend& backend, const Tensor& pixels) {
  Graph g(false);
  std::vector<KeyValues> kv = model.visual_kv(model.encode(g.input("pixels", pixels.shape())));
  std::vector<Var> outputs;
  for (const KeyValues& entry : kv) {
    outputs.push_back(entry.k);
    outputs.push_back(entry.v);
  }
  Executor exec(g, backend, outputs);
  store.bind_all(exec, g);
  exec.bind("pixels", pixels);
  exec.run();
  // Copied out: a value would keep the whole arena (the vision tower's activations) alive.
  auto compact = [&](Var v) { return to_device(to_host(exec.value(v)).clone(), backend); };
  std::vector<std::pair<Tensor, Tensor>> out;
  for (size_t i = 0; i < outputs.size(); i += 2) out.emplace_back(compact(outputs[i]), compact(outputs[i + 1]));
  return out;
}

}  // namespace hanvit::fusion
