// TrainingStep: per-shape loss graphs with backward, run on a batch, gradients accumulated into a flat buffer.
#include "apps/train/training_step.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "fusion/training_loss.h"
#include "modules/graph/autograd.h"

namespace hanvit::app {

TrainedParameters TrainedParameters::select(const ParameterStore& store, const std::vector<std::string>& forward_order,
                                            const std::function<bool(const std::string&)>& trains) {
  std::vector<std::string> order;
  const std::set<std::string> in_model(forward_order.begin(), forward_order.end());
  for (const std::string& name : store.names())
    if (!in_model.count(name)) order.push_back(name);
  order.insert(order.end(), forward_order.rbegin(), forward_order.rend());
  TrainedParameters trained;
  int64_t total = 0;
  for (const std::string& name : order) {
    if (!trains(name) || !store.contains(name)) continue;
    trained.index[name] = trained.names.size();
    trained.names.push_back(name);
    trained.offsets.push_back(total);
    total += store.get(name).numel();
  }
  if (trained.names.empty()) throw std::invalid_argument("no parameter trains: check the preset and freeze patterns");
  trained.flat_grad = Tensor::zeros({total});
  for (size_t i = 0; i < trained.names.size(); ++i) {
    const Tensor& param = store.get(trained.names[i]);
    trained.grads.push_back(trained.flat_grad.slice(0, trained.offsets[i], trained.offsets[i] + param.numel())
                                .view(param.shape()));
  }
  return trained;
}

struct TrainingStep::Compiled {
  Graph graph;
  Var loss;
  std::vector<std::pair<size_t, Var>> grads;  // (index into trained names, gradient)
  std::unique_ptr<Executor> exec;
};

TrainingStep::TrainingStep(const fusion::VisionLanguageModel& model, const ParameterStore& store, Backend& backend,
                           const TrainedParameters& trained, TrainingStepOptions options)
    : model_(model), store_(store), backend_(backend), trained_(trained), options_(std::move(options)) {}

TrainingStep::~TrainingStep() = default;

void TrainingStep::clear_cache() { cache_.clear(); }

TrainingStep::Compiled& TrainingStep::compiled(int64_t batch, int64_t tokens, bool train) {
  std::unique_ptr<Compiled>& slot = cache_[{batch, tokens, train}];
  if (slot) return *slot;
  auto c = std::make_unique<Compiled>();
  Graph& g = c->graph;
  const TrainedParameters& trained = trained_;
  g.set_frozen([&trained](const std::string& name) { return !trained.trains(name); });
  g.set_recompute(options_.recompute);
  if (options_.prepare_graph) options_.prepare_graph(g);
  const int64_t side = model_.config().vision.image_size;
  fusion::TrainingInputs in;
  in.pixels = g.input("pixels", {batch, 3, side, side});
  in.ids = g.input("ids", {batch, tokens}, DType::i32);
  in.positions = g.input("positions", {tokens}, DType::i32);
  in.targets = g.input("targets", {batch * tokens}, DType::i32);
  c->loss = fusion::training_loss(model_, in);
  std::vector<Var> outputs{c->loss};
  if (train) {
    const Gradients grads = backward(c->loss);
    for (const auto& [name, grad] : grads.by_name) {
      c->grads.emplace_back(trained_.index.at(name), grad);
      outputs.push_back(grad);
    }
  }
  c->exec = std::make_unique<Executor>(g, backend_, outputs);
  // Each gradient goes into the flat buffer (weighted by the batch's target count) as soon as it exists.
  for (const auto& [index, grad] : c->grads) {
    Executor* exec = c->exec.get();
    c->exec->on_computed(grad, [this, exec, index = index, grad = grad] {
      const Tensor value = exec->value(grad);
      const float* src = value.data<float>();
      float* dst = trained_.flat_grad.data<float>() + trained_.offsets[index];
      const int64_t n = value.numel();
      for (int64_t i = 0; i < n; ++i) dst[i] += weight_ * src[i];
      if (ready_) ready_(index);
    });
  }
  store_.bind_all(*c->exec, g);
  std::vector<int32_t> positions(static_cast<size_t>(tokens));
  for (int64_t t = 0; t < tokens; ++t) positions[static_cast<size_t>(t)] = static_cast<int32_t>(t);
  c->exec->bind("positions", Tensor::from_vector<int32_t>({tokens}, positions));
  slot = std::move(c);
  return *slot;
}

namespace {

// The batch's tokens padded to `tokens` columns (pad 0) and the next-token targets (-100 = none).
struct PaddedText {
  Tensor ids, targets;
  int64_t count = 0;
};

PaddedText pad_text(const data::Batch& batch, int64_t tokens) {
  const int64_t rows = batch.tokens.shape()[0], length = batch.tokens.shape()[1];
  std::vector<int32_t> ids(static_cast<size_t>(rows * tokens), 0), targets(ids.size(), -100);
  PaddedText out;
  const int32_t* src = batch.tokens.data<int32_t>();
  const float* mask = batch.loss_mask.data<float>();
  for (int64_t b = 0; b < rows; ++b)
    for (int64_t t = 0; t < length; ++t) {
      ids[static_cast<size_t>(b * tokens + t)] = src[b * length + t];
      if (t > 0 && mask[b * length + t] > 0.0f) {
        targets[static_cast<size_t>(b * tokens + t - 1)] = src[b * length + t];
        ++out.count;
      }
    }
  out.ids = Tensor::from_vector<int32_t>({rows, tokens}, ids);
  out.targets = Tensor::from_vector<int32_t>({rows * tokens}, targets);
  return out;
}

}  // namespace

TrainingStep::Compiled* TrainingStep::bind_batch(const data::Batch& batch, bool train, MicroBatchResult& result) {
  if (batch.size() == 0) return nullptr;
  const int64_t rows = batch.tokens.shape()[0], length = batch.tokens.shape()[1];
  const int64_t round = std::max<int64_t>(1, options_.round_tokens);
  const int64_t context = model_.config().language.max_positions;
  if (length > context)
    throw std::invalid_argument("a batch of " + std::to_string(length) + " tokens is longer than the model's context (" +
                                std::to_string(context) + "): lower max_tokens");
  const int64_t tokens = std::min((length + round - 1) / round * round, context);
  const PaddedText text = pad_text(batch, tokens);
  result.targets = text.count;
  result.samples = rows;
  if (text.count == 0) return nullptr;
  Compiled& c = compiled(rows, tokens, train);
  c.exec->bind("pixels", batch.pixels);
  c.exec->bind("ids", text.ids);
  c.exec->bind("targets", text.targets);
  weight_ = static_cast<float>(text.count);
  c.exec->run();
  last_peak_bytes_ = c.exec->planned_peak_bytes();
  result.loss_sum = c.exec->value(c.loss).item() * static_cast<double>(text.count);
  return &c;
}

MicroBatchResult TrainingStep::evaluate(const data::Batch& batch) {
  MicroBatchResult result;
  bind_batch(batch, false, result);
  return result;
}

MicroBatchResult TrainingStep::run(const data::Batch& batch, const std::function<void(size_t)>& ready) {
  MicroBatchResult result;
  ready_ = ready;
  bind_batch(batch, true, result);
  ready_ = nullptr;
  return result;
}

}  // namespace hanvit::app
