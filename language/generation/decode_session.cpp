// DecodeSession: one graph per step over the cached keys/values of every row.
#include "language/generation/decode_session.h"

#include <cstring>
#include <stdexcept>

#include "modules/graph/ops.h"

namespace hanvit::language {
namespace {

// Rows `rows` of host tensor `t` (batch first), as a new contiguous host tensor.
Tensor gather_rows(const Tensor& t, const std::vector<int64_t>& rows) {
  const Tensor host = to_host(t);
  Shape shape = host.shape();
  const int64_t batch = shape[0];
  const size_t row_bytes = host.nbytes() / static_cast<size_t>(batch);
  shape[0] = static_cast<int64_t>(rows.size());
  Tensor out = Tensor::empty(shape, host.dtype());
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] < 0 || rows[i] >= batch) throw std::invalid_argument("select_rows: row out of range");
    std::memcpy(static_cast<uint8_t*>(out.raw_data()) + i * row_bytes,
                static_cast<const uint8_t*>(host.raw_data()) + static_cast<size_t>(rows[i]) * row_bytes, row_bytes);
  }
  return out;
}

}  // namespace

DecodeSession::DecodeSession(const StepModel& model, const ParameterStore& store, Backend& backend)
    : model_(model), store_(store), backend_(backend), row_inputs_(model.row_inputs()) {}

DecodeSession::~DecodeSession() = default;

Tensor DecodeSession::start(const std::vector<std::vector<int32_t>>& prompts) {
  if (prompts.empty()) throw std::invalid_argument("generation needs at least one prompt");
  size_t longest = 0;
  for (const auto& prompt : prompts) {
    if (prompt.empty()) throw std::invalid_argument("generation needs a non-empty prompt");
    longest = std::max(longest, prompt.size());
  }
  for (const auto& [name, tensor] : row_inputs_)
    if (tensor.shape()[0] != static_cast<int64_t>(prompts.size()))
      throw std::invalid_argument("row input '" + name + "' has " + std::to_string(tensor.shape()[0]) +
                                  " rows for " + std::to_string(prompts.size()) + " prompts");
  rows_ = static_cast<int64_t>(prompts.size());
  past_ = 0;
  cache_.clear();
  mask_.assign(prompts.size(), {});
  next_position_.assign(prompts.size(), 0);
  const int64_t length = static_cast<int64_t>(longest);
  std::vector<int32_t> ids(static_cast<size_t>(rows_ * length), 0);
  std::vector<std::vector<uint8_t>> real(prompts.size(), std::vector<uint8_t>(longest, 0));
  for (size_t b = 0; b < prompts.size(); ++b) {
    const size_t pad = longest - prompts[b].size();
    std::copy(prompts[b].begin(), prompts[b].end(), ids.begin() + static_cast<ptrdiff_t>(b * longest + pad));
    std::fill(real[b].begin() + static_cast<ptrdiff_t>(pad), real[b].end(), 1);
  }
  return step(Tensor::from_vector<int32_t>({rows_, length}, ids), real);
}

Tensor DecodeSession::next(const std::vector<int32_t>& tokens) {
  if (static_cast<int64_t>(tokens.size()) != rows_)
    throw std::invalid_argument("next: " + std::to_string(tokens.size()) + " tokens for " + std::to_string(rows_) +
                                " rows");
  return step(Tensor::from_vector<int32_t>({rows_, 1}, tokens),
              std::vector<std::vector<uint8_t>>(static_cast<size_t>(rows_), std::vector<uint8_t>{1}));
}

Tensor DecodeSession::step(const Tensor& ids, const std::vector<std::vector<uint8_t>>& real) {
  const int64_t length = ids.shape()[1], total = past_ + length;
  std::vector<int32_t> positions(static_cast<size_t>(length)), position_ids(static_cast<size_t>(rows_ * length));
  std::vector<uint8_t> mask(static_cast<size_t>(rows_ * total));
  for (int64_t t = 0; t < length; ++t) positions[static_cast<size_t>(t)] = static_cast<int32_t>(past_ + t);
  for (size_t b = 0; b < static_cast<size_t>(rows_); ++b) {
    for (int64_t t = 0; t < length; ++t) {
      position_ids[b * static_cast<size_t>(length) + static_cast<size_t>(t)] =
          real[b][static_cast<size_t>(t)] ? next_position_[b]++ : 0;
      mask_[b].push_back(real[b][static_cast<size_t>(t)]);
    }
    std::copy(mask_[b].begin(), mask_[b].end(), mask.begin() + static_cast<ptrdiff_t>(b * static_cast<size_t>(total)));
  }

  auto graph = std::make_unique<Graph>(false);
  StepInputs in;
  in.ids = graph->input("ids", ids.shape(), DType::i32);
  in.positions = graph->input("positions", {length}, DType::i32);
  in.position_ids = graph->input("position_ids", {rows_, length}, DType::i32);
  in.key_mask = graph->input("key_mask", {rows_, total}, DType::u8);
  for (size_t l = 0; l < cache_.size(); ++l)
    in.cache.push_back({graph->input("cache." + std::to_string(l) + ".k", cache_[l].first.shape()),
                        graph->input("cache." + std::to_string(l) + ".v", cache_[l].second.shape())});
  StepOutputs out = model_.build_step(*graph, in);
  std::vector<Var> outputs{out.logits};
  for (const KeyValues& kv : out.cache) outputs.push_back(kv.k), outputs.push_back(kv.v);
  for (const auto& [name, value] : out.extras) outputs.push_back(value);

  auto exec = std::make_unique<Executor>(*graph, backend_, outputs);
  store_.bind_all(*exec, *graph);
  exec->bind("ids", ids);
  exec->bind("positions", Tensor::from_vector<int32_t>({length}, positions));
  exec->bind("position_ids", Tensor::from_vector<int32_t>({rows_, length}, position_ids));
  exec->bind("key_mask", Tensor::from_vector<uint8_t>({rows_, total}, mask));
  for (size_t l = 0; l < cache_.size(); ++l) {
    exec->bind("cache." + std::to_string(l) + ".k", cache_[l].first);
    exec->bind("cache." + std::to_string(l) + ".v", cache_[l].second);
  }
  for (const auto& [name, tensor] : row_inputs_)
    if (graph->find_leaf(name) >= 0) exec->bind(name, tensor);
  exec->run();

  // The new cache lives in this step's arena: keep the executor until the next step has bound it.
  cache_.clear();
  for (size_t l = 0; l < out.cache.size(); ++l)
    cache_.emplace_back(exec->value(outputs[1 + 2 * l]), exec->value(outputs[2 + 2 * l]));
  extras_.clear();
  for (size_t i = 0; i < out.extras.size(); ++i)
    extras_.emplace_back(out.extras[i].first, to_host(exec->value(outputs[1 + 2 * out.cache.size() + i])).clone());
  Tensor logits = to_host(exec->value(out.logits)).clone();
  past_ = total;
  exec_ = std::move(exec);
  graph_ = std::move(graph);
  const int64_t vocab = logits.shape().back();
  return logits.view({rows_, vocab});
}

void DecodeSession::select_rows(const std::vector<int64_t>& rows) {
  for (auto& [k, v] : cache_) {
    k = to_device(gather_rows(k, rows), backend_);
    v = to_device(gather_rows(v, rows), backend_);
  }
  for (auto& [name, tensor] : row_inputs_) tensor = gather_rows(tensor, rows);
  rows_ = static_cast<int64_t>(rows.size());
  if (mask_.empty()) return;  // before start(): only the model's per-row inputs exist
  std::vector<std::vector<uint8_t>> mask;
  std::vector<int32_t> next_position;
  for (int64_t r : rows) {
    mask.push_back(mask_.at(static_cast<size_t>(r)));
    next_position.push_back(next_position_.at(static_cast<size_t>(r)));
  }
  mask_ = std::move(mask);
  next_position_ = std::move(next_position);
}

}  // namespace hanvit::language
