// The training loader: epoch plans, prefetching workers, batch assembly.
#include "datasets/loader/loader.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <stdexcept>

namespace hanvit::data {

Loader::Loader(std::vector<Sample> samples, ImageFunction image, TextEncoder text, LoaderOptions options,
               RecordLog& log)
    : samples_(std::move(samples)),
      image_(std::move(image)),
      text_(std::move(text)),
      options_(options),
      log_(log),
      pad_id_(text_.pad >= 0 ? text_.pad : text_.eos),
      reported_(samples_.size(), 0) {
  if (!image_) throw std::invalid_argument("loader: no image function");
  if (!text_.encode) throw std::invalid_argument("loader: no text encoder");
  if (pad_id_ < 0) throw std::invalid_argument("loader: the text encoder has neither a pad nor an eos id");
  if (options_.batch_size == 0) throw std::invalid_argument("loader: batch size must be positive");
  if (options_.world_size == 0 || options_.rank >= options_.world_size)
    throw std::invalid_argument("loader: rank " + std::to_string(options_.rank) + " is not below world size " +
                                std::to_string(options_.world_size));
  if (options_.group_by_length)
    for (const Sample& sample : samples_)
      lengths_.push_back(lay_out_tokens(sample.kind, sample.turns, text_, options_.max_tokens).tokens.size());
  std::lock_guard lock(mutex_);
  start_epoch(0);
  for (size_t i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { work(); });
}

Loader::~Loader() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void Loader::start_epoch(uint64_t epoch) {
  epoch_ = epoch;
  step_ = 0;
  std::vector<size_t> order = epoch_permutation(samples_.size(), options_.seed, epoch, options_.shuffle);
  if (options_.group_by_length)
    order = group_by_length(order, lengths_, options_.batch_size * options_.world_size, 50, options_.seed, epoch);
  plan_ = plan_rank(order, options_.batch_size, options_.rank, options_.world_size, options_.drop_last);
  ready_.assign(plan_.order.size(), std::nullopt);
  next_claim_ = consumed_ = 0;
  ++generation_;
  work_cv_.notify_all();
}

LoaderPosition Loader::position() const {
  std::lock_guard lock(mutex_);
  return {epoch_, step_, samples_.size(), options_.seed, options_.batch_size, options_.world_size};
}

void Loader::restore(const LoaderPosition& p) {
  const LoaderPosition mine = position();
  const auto check = [](const char* what, uint64_t saved, uint64_t have) {
    if (saved != have)
      throw std::invalid_argument("loader position: saved with " + std::string(what) + " " + std::to_string(saved) +
                                  ", this loader has " + std::to_string(have));
  };
  check("samples", p.samples, mine.samples);
  check("seed", p.seed, mine.seed);
  check("batch_size", p.batch_size, mine.batch_size);
  check("world_size", p.world_size, mine.world_size);
  std::lock_guard lock(mutex_);
  if (p.step > plan_.steps())  // every epoch has the same number of steps
    throw std::invalid_argument("loader position: step " + std::to_string(p.step) + " is past the " +
                                std::to_string(plan_.steps()) + " steps of an epoch");
  start_epoch(p.epoch);
  step_ = p.step;
  next_claim_ = consumed_ = plan_.batch_start[step_];
}

Loader::Prepared Loader::prepare(size_t index, uint64_t epoch) const {
  const Sample& sample = samples_[index];
  Prepared out;
  std::vector<Turn> turns = sample.turns;
  if (sample.kind == SampleKind::caption && sample.references.size() > 1)
    turns[0].assistant = sample.references[pick_reference(options_.seed, epoch, index, sample.references.size())];
  try {
    out.text = lay_out_tokens(sample.kind, turns, text_, options_.max_tokens);
  } catch (const std::exception& e) {
    out.where = sample.source;
    out.error = std::string("text encoder: ") + e.what();
    return out;
  }
  if (std::find(out.text.loss_mask.begin(), out.text.loss_mask.end(), 1.0f) == out.text.loss_mask.end()) {
    out.where = sample.source;
    out.error = "no target token within " + std::to_string(options_.max_tokens) + " tokens";
    return out;
  }
  try {
    out.pixels = image_(sample.image);
    if (out.pixels.dtype() != DType::f32 || out.pixels.rank() != 3 || out.pixels.dim(0) != 3)
      throw std::runtime_error("image function returned " + out.pixels.str() + ", expected f32 (3, H, W)");
    out.pixels = out.pixels.contiguous();
  } catch (const std::exception& e) {
    out.pixels = Tensor();
    out.where = sample.image.string();
    out.error = std::string(e.what()) + " (sample " + sample.source + ")";
  }
  return out;
}

void Loader::work() {
  std::unique_lock lock(mutex_);
  const size_t capacity = std::max<size_t>(1, options_.prefetch_batches) * options_.batch_size;
  while (true) {
    work_cv_.wait(lock,
                  [&] { return stop_ || (next_claim_ < plan_.order.size() && next_claim_ < consumed_ + capacity); });
    if (stop_) return;
    const size_t position = next_claim_++;
    const size_t index = plan_.order[position];
    const uint64_t generation = generation_, epoch = epoch_;
    lock.unlock();
    Prepared prepared = prepare(index, epoch);
    lock.lock();
    if (generation == generation_) {
      ready_[position] = std::move(prepared);
      ready_cv_.notify_all();
    }
  }
}

std::optional<Batch> Loader::next() {
  std::vector<Prepared> items;
  std::vector<size_t> indices;
  uint64_t epoch;
  size_t step;
  {
    std::unique_lock lock(mutex_);
    if (step_ == plan_.steps()) {
      start_epoch(epoch_ + 1);
      return std::nullopt;
    }
    epoch = epoch_;
    step = step_;
    const size_t begin = plan_.batch_start[step], end = plan_.batch_start[step + 1];
    for (size_t p = begin; p < end; ++p) {
      const size_t index = plan_.order[p];
      indices.push_back(index);
      if (workers_.empty()) {
        items.push_back(prepare(index, epoch));
        continue;
      }
      ready_cv_.wait(lock, [&] { return ready_[p].has_value(); });
      items.push_back(std::move(*ready_[p]));
      ready_[p].reset();
    }
    consumed_ = end;
    next_claim_ = std::max(next_claim_, end);
    ++step_;
  }
  work_cv_.notify_all();
  return assemble(std::move(items), indices, epoch, step);
}

Batch Loader::assemble(std::vector<Prepared> items, const std::vector<size_t>& indices, uint64_t epoch, size_t step) {
  Batch batch;
  batch.epoch = epoch;
  batch.step = step;
  std::vector<size_t> kept;
  for (size_t i = 0; i < items.size(); ++i) {
    Prepared& item = items[i];
    if (item.error.empty() && !kept.empty() && item.pixels.shape() != items[kept.front()].pixels.shape()) {
      item.where = samples_[indices[i]].image.string();
      item.error = "image is " + item.pixels.str() + ", the batch's first is " + items[kept.front()].pixels.str() +
                   " (sample " + samples_[indices[i]].source + ")";
    }
    if (!item.error.empty()) {
      if (!reported_[indices[i]]) {
        reported_[indices[i]] = 1;
        log_.skip(item.where, item.error);
      }
      continue;
    }
    kept.push_back(i);
  }
  if (kept.empty()) return batch;
  const int64_t B = static_cast<int64_t>(kept.size());
  const Shape& image_shape = items[kept.front()].pixels.shape();
  size_t longest = 0;
  for (const size_t i : kept) longest = std::max(longest, items[i].text.tokens.size());
  const int64_t T = static_cast<int64_t>(longest);
  batch.pixels = Tensor::empty({B, image_shape[0], image_shape[1], image_shape[2]}, DType::f32);
  batch.tokens = Tensor::full({B, T}, pad_id_, DType::i32);
  batch.attention_mask = Tensor::zeros({B, T}, DType::u8);
  batch.loss_mask = Tensor::zeros({B, T}, DType::f32);
  const size_t image_numel = static_cast<size_t>(items[kept.front()].pixels.numel());
  for (int64_t b = 0; b < B; ++b) {
    const Prepared& item = items[kept[static_cast<size_t>(b)]];
    std::memcpy(batch.pixels.data<float>() + b * static_cast<int64_t>(image_numel), item.pixels.data<float>(),
                image_numel * sizeof(float));
    const size_t n = item.text.tokens.size();
    std::copy_n(item.text.tokens.data(), n, batch.tokens.data<int32_t>() + b * T);
    std::fill_n(batch.attention_mask.data<uint8_t>() + b * T, n, uint8_t{1});
    std::copy_n(item.text.loss_mask.data(), n, batch.loss_mask.data<float>() + b * T);
    batch.indices.push_back(indices[kept[static_cast<size_t>(b)]]);
    batch.sources.push_back(samples_[batch.indices.back()].source);
  }
  return batch;
}

}  // namespace hanvit::data
