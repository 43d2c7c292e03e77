// pretrain_vision_on_cells: per-cell shape, colour and place heads on the vision tower, AdamW on the training split.
#include "apps/train/cell_pretraining.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <numeric>
#include <stdexcept>

#include "datasets/image/decode.h"
#include "datasets/synth/example.h"
#include "modules/exec/executor.h"
#include "modules/graph/autograd.h"
#include "modules/graph/ops.h"
#include "modules/nn/linear.h"
#include "modules/optim/lr_schedule.h"
#include "modules/optim/optimizer.h"
#include "modules/random/rng.h"

namespace hanvit::app {
namespace fs = std::filesystem;

namespace {

constexpr int64_t kCells = static_cast<int64_t>(data::kSynthCells);
constexpr int64_t kShapeClasses = 1 + static_cast<int64_t>(data::kSynthShapeCount);  // 0: empty cell
constexpr int64_t kColourClasses = 1 + static_cast<int64_t>(data::kSynthColours.size());

// The three heads, under names no model uses ("cell_heads.shape.*", ".colour.*", ".position.*").
class CellHeads : public Module {
 public:
  explicit CellHeads(int64_t width) : Module("CellHeads") {
    shape = register_module("cell_heads.shape", std::make_shared<Linear>(width, kShapeClasses));
    colour = register_module("cell_heads.colour", std::make_shared<Linear>(width, kColourClasses));
    position = register_module("cell_heads.position", std::make_shared<Linear>(width, kCells));
  }
  std::shared_ptr<Linear> shape, colour, position;
};

// One split's images and per-cell labels (class 0 where the cell is empty).
struct CellSplit {
  std::vector<fs::path> images;
  std::vector<int32_t> shapes, colours;  // (images * 9)
};

CellSplit read_split(const CellPretrainingOptions& o, data::SynthSplit split, size_t count) {
  CellSplit out;
  out.shapes.assign(count * kCells, 0);
  out.colours.assign(count * kCells, 0);
  const fs::path dir = o.data_dir / data::split_name(split) / "images";
  for (size_t i = 0; i < count; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "%06zu.png", i);
    out.images.push_back(dir / name);
    for (const data::SynthObject& object : data::make_synth_example(o.data_seed, split, i, o.canvas).scene.objects) {
      out.shapes[i * kCells + object.cell] = 1 + static_cast<int32_t>(object.shape);
      out.colours[i * kCells + object.cell] = 1 + static_cast<int32_t>(object.colour);
    }
  }
  return out;
}

// The graph of one batch size: cell logits, the summed losses and (training) the gradients.
struct CellGraph {
  Graph graph;
  Var loss, shape_logits, colour_logits;
  std::vector<std::pair<std::string, Var>> grads;
  std::unique_ptr<Executor> exec;
};

bool trains(const std::string& name) { return name.rfind("vision.", 0) == 0 || name.rfind("cell_heads.", 0) == 0; }

std::unique_ptr<CellGraph> build_graph(const fusion::VisionLanguageModel& model, const CellHeads& heads,
                                       const ParameterStore& store, int64_t batch, bool train) {
  auto c = std::make_unique<CellGraph>();
  Graph& g = c->graph;
  g.set_frozen([](const std::string& name) { return !trains(name); });
  const vision::VisionConfig& v = model.config().vision;
  const int64_t grid = v.image_size / v.patch_size, k = grid / 3;
  Var tokens = model.vision().forward(g.input("pixels", {batch, 3, v.image_size, v.image_size})).last_hidden;
  const int64_t width = tokens.dim(2);
  if (v.class_token()) tokens = slice(tokens, 1, 1, tokens.dim(1));  // (B, grid * grid, C)
  // The k x k patches of each cell, averaged: (B, 3, k, 3, k, C) -> (B, 3, 3, k, k, C) -> (B, 9, C).
  Var cells =
      view(permute(view(tokens, {batch, 3, k, 3, k, width}), {0, 1, 3, 2, 4, 5}), {batch, kCells, k * k, width});
  cells = view(mean(cells, {2}), {batch * kCells, width});
  c->shape_logits = heads.shape->forward(cells);    // (B * 9, 7)
  c->colour_logits = heads.colour->forward(cells);  // (B * 9, 8)
  // The third head names the cell itself, so the tokens keep the place that cross-attention finds cells by.
  const Var places = heads.position->forward(cells);  // (B * 9, 9)
  c->loss = add(add(cross_entropy(c->shape_logits, g.input("shapes", {batch * kCells}, DType::i32)),
                    cross_entropy(c->colour_logits, g.input("colours", {batch * kCells}, DType::i32))),
                cross_entropy(places, g.input("places", {batch * kCells}, DType::i32)));
  std::vector<Var> outputs{c->loss, c->shape_logits, c->colour_logits};
  if (train)
    for (const auto& [name, grad] : backward(c->loss).by_name) {
      c->grads.emplace_back(name, grad);
      outputs.push_back(grad);
    }
  c->exec = std::make_unique<Executor>(g, cpu_backend(), outputs);
  store.bind_all(*c->exec, g);
  return c;
}

// Binds images [first, first + rows) of `order` and their labels.
void bind_batch(Executor& exec, const CellSplit& split, const std::vector<size_t>& order, size_t first, int64_t rows,
                const data::PreprocessOptions& preprocess, int64_t side) {
  Tensor pixels = Tensor::zeros({rows, 3, side, side});
  std::vector<int32_t> shapes, colours;
  const int64_t per_image = 3 * side * side;
  for (int64_t r = 0; r < rows; ++r) {
    const size_t index = order[first + static_cast<size_t>(r)];
    const Tensor image = data::preprocess(data::decode_image_file(split.images[index].string()), preprocess);
    if (image.numel() != per_image)
      throw std::invalid_argument(split.images[index].string() + ": preprocessed to " + std::to_string(image.numel()) +
                                  " values, the vision tower takes " + std::to_string(per_image));
    std::memcpy(pixels.data<float>() + r * per_image, image.data<float>(), sizeof(float) * per_image);
    const auto append_cells = [index](const std::vector<int32_t>& labels, std::vector<int32_t>& out) {
      out.insert(out.end(), labels.begin() + index * kCells, labels.begin() + (index + 1) * kCells);
    };
    append_cells(split.shapes, shapes);
    append_cells(split.colours, colours);
  }
  std::vector<int32_t> places(static_cast<size_t>(rows * kCells));
  for (size_t i = 0; i < places.size(); ++i) places[i] = static_cast<int32_t>(i % kCells);
  exec.bind("pixels", pixels);
  exec.bind("shapes", Tensor::from_vector<int32_t>({rows * kCells}, shapes));
  exec.bind("colours", Tensor::from_vector<int32_t>({rows * kCells}, colours));
  exec.bind("places", Tensor::from_vector<int32_t>({rows * kCells}, places));
}

// Counts the occupied cells (label > 0) into `occupied` and those whose argmax over `logits` (cells, classes)
// is the label into `right`.
void count_right(const Tensor& logits, const int32_t* labels, int64_t& right, int64_t& occupied) {
  const int64_t cells = logits.shape()[0], classes = logits.shape()[1];
  const float* l = logits.data<float>();
  for (int64_t i = 0; i < cells; ++i) {
    if (labels[i] == 0) continue;
    ++occupied;
    right += std::max_element(l + i * classes, l + (i + 1) * classes) - (l + i * classes) == labels[i];
  }
}

}  // namespace

CellPretrainingResult pretrain_vision_on_cells(const fusion::VisionLanguageModel& model, ParameterStore& store,
                                               const data::PreprocessOptions& preprocess,
                                               const CellPretrainingOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  const vision::VisionConfig& v = model.config().vision;
  const int64_t grid = v.image_size / v.patch_size;
  if (v.image_size % v.patch_size != 0 || grid % 3 != 0)
    throw std::invalid_argument("cell pretraining: the vision tower's " + std::to_string(grid) +
                                " patches per side do not tile a 3 x 3 grid");
  if (o.steps <= 0 || o.batch <= 0 || o.train_images < static_cast<size_t>(o.batch))
    throw std::invalid_argument("cell pretraining: needs steps > 0 and at least one batch of training images");
  const CellSplit train_split = read_split(o, data::SynthSplit::train, o.train_images);
  const CellSplit val_split = read_split(o, data::SynthSplit::val, o.val_images);

  CellHeads heads(model.config().vision.hidden_size);
  ParameterStore head_init(derive_seed(o.seed, 0xce11));
  head_init.initialize(heads);
  for (const std::string& name : head_init.names()) store.set(name, head_init.get(name));
  std::unique_ptr<CellGraph> train_graph = build_graph(model, heads, store, o.batch, true);

  std::vector<Tensor> grads;
  std::vector<ParamRef> params;
  for (const auto& [name, grad] : train_graph->grads) {
    grads.push_back(Tensor::zeros(store.get(name).shape()));
    params.push_back({name, store.get(name), grads.back()});
  }
  AdamW optimizer(split_decay_groups(params, 0.01));

  std::vector<size_t> order(o.train_images);
  std::iota(order.begin(), order.end(), size_t{0});
  Rng rng(derive_seed(o.seed, 0xce12));
  const size_t per_epoch = o.train_images / static_cast<size_t>(o.batch);
  LrScheduleConfig schedule_config;
  schedule_config.base_lr = o.lr;
  schedule_config.warmup_steps = std::max<int64_t>(1, o.steps / 20);
  schedule_config.total_steps = o.steps;
  schedule_config.min_ratio = 0.05;
  const LrSchedule schedule(schedule_config);
  double recent_loss = 0;
  int64_t recent = 0;
  for (int64_t step = 0; step < o.steps; ++step) {
    const size_t slot = static_cast<size_t>(step) % per_epoch;
    if (slot == 0)  // a new epoch: Fisher-Yates shuffle
      for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
    bind_batch(*train_graph->exec, train_split, order, slot * static_cast<size_t>(o.batch), o.batch, preprocess,
               v.image_size);
    train_graph->exec->run();
    for (size_t i = 0; i < grads.size(); ++i) {
      const Tensor value = train_graph->exec->value(train_graph->grads[i].second);
      std::memcpy(grads[i].data<float>(), value.data<float>(), sizeof(float) * static_cast<size_t>(value.numel()));
    }
    clip_grad_norm(optimizer.params(), 1.0);
    optimizer.step(schedule.lr(step));
    const double loss = train_graph->exec->value(train_graph->loss).item();
    if (step >= o.steps - 50) {
      recent_loss += loss;
      ++recent;
    }
    if (!o.quiet && ((step + 1) % 100 == 0 || step + 1 == o.steps)) {
      std::printf("  vision pretraining: step %lld/%lld  loss %.4f\n", static_cast<long long>(step + 1),
                  static_cast<long long>(o.steps), loss);
      std::fflush(stdout);
    }
  }
  train_graph.reset();

  CellPretrainingResult result;
  result.final_loss = recent_loss / static_cast<double>(recent);
  int64_t shape_right = 0, colour_right = 0, occupied = 0, colour_occupied = 0;
  std::vector<size_t> val_order(o.val_images);
  std::iota(val_order.begin(), val_order.end(), size_t{0});
  std::unique_ptr<CellGraph> eval;
  for (size_t first = 0; first < o.val_images; first += static_cast<size_t>(o.batch)) {
    const int64_t rows = static_cast<int64_t>(std::min<size_t>(static_cast<size_t>(o.batch), o.val_images - first));
    if (!eval || eval->shape_logits.dim(0) != rows * kCells) eval = build_graph(model, heads, store, rows, false);
    bind_batch(*eval->exec, val_split, val_order, first, rows, preprocess, v.image_size);
    eval->exec->run();
    count_right(eval->exec->value(eval->shape_logits), val_split.shapes.data() + first * kCells, shape_right, occupied);
    count_right(eval->exec->value(eval->colour_logits), val_split.colours.data() + first * kCells, colour_right,
                colour_occupied);
  }
  result.shape_accuracy = occupied ? static_cast<double>(shape_right) / static_cast<double>(occupied) : 1.0;
  result.colour_accuracy =
      colour_occupied ? static_cast<double>(colour_right) / static_cast<double>(colour_occupied) : 1.0;
  for (const std::string& name : head_init.names()) store.erase(name);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace hanvit::app
