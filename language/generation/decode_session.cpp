// DecodeSession: one graph per step over the cached keys/values of every row; the previous step's
// executor stays alive until the new step has read its cache.
#include "language/generation/decode_session.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <stdexcept>

#include "modules/graph/ops.h"

namespace hanvit::language {
namespace {

// Rows `rows` of host tensor `t` (batch first), as a new contiguous host tensor.
Tensor gather_host_rows(const Tensor& t, const std::vector<int64_t>& rows) {
  const Tensor host = to_host(t);
  Shape shape = host.shape();
  const size_t row_bytes = host.nbytes() / static_cast<size_t>(shape[0]);
  shape[0] = static_cast<int64_t>(rows.size());
  Tensor out = Tensor::empty(shape, host.dtype());
  for (size_t i = 0; i < rows.size(); ++i)
    std::memcpy(static_cast<uint8_t*>(out.raw_data()) + i * row_bytes,
                static_cast<const uint8_t*>(host.raw_data()) + static_cast<size_t>(rows[i]) * row_bytes, row_bytes);
  return out;
}

// Rows `rows` (i32 (N)) of x (B, ...) -> (N, ...): an embedding lookup over x viewed as (B, rest).
Var gather_rows(Var x, Var rows) {
  Shape shape = x.shape();
  const int64_t batch = shape[0];
  shape[0] = rows.shape()[0];
  return view(embedding(view(x, {batch, -1}), rows), shape);
}

Tensor host_f32(const Tensor& t) {
  const Tensor host = to_host(t);
  return host.dtype() == DType::f32 ? host.clone() : host.to(DType::f32);
}

}  // namespace

DecodeSession::DecodeSession(const StepModel& model, const ParameterStore& store, Backend& backend)
    : model_(model), store_(store), backend_(backend), row_inputs_(model.row_inputs()) {}

DecodeSession::~DecodeSession() = default;

Tensor DecodeSession::start(const std::vector<std::vector<int32_t>>& prompts) {
  if (prompts.empty()) throw std::invalid_argument("generation needs at least one prompt");
  size_t longest = 0;
  for (size_t p = 0; p < prompts.size(); ++p) {
    if (prompts[p].empty())
      throw std::invalid_argument("generation needs a non-empty prompt (prompt " + std::to_string(p) + " is empty)");
    longest = std::max(longest, prompts[p].size());
  }
  for (const auto& [name, tensor] : row_inputs_)
    if (tensor.shape()[0] != static_cast<int64_t>(prompts.size()))
      throw std::invalid_argument("row input '" + name + "' has " + std::to_string(tensor.shape()[0]) + " rows for " +
                                  std::to_string(prompts.size()) + " prompts");
  rows_ = static_cast<int64_t>(prompts.size());
  past_ = 0;
  cache_.clear();
  cache_rows_.clear();
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
  if (mask_.empty()) throw std::invalid_argument("next: the session has not started (call start first)");
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
  std::iota(positions.begin(), positions.end(), static_cast<int32_t>(past_));
  for (size_t b = 0; b < static_cast<size_t>(rows_); ++b) {
    for (size_t t = 0; t < static_cast<size_t>(length); ++t) {
      position_ids[b * static_cast<size_t>(length) + t] = real[b][t] ? next_position_[b]++ : 0;
      mask_[b].push_back(real[b][t]);
    }
    std::copy(mask_[b].begin(), mask_[b].end(), mask.begin() + static_cast<ptrdiff_t>(b * static_cast<size_t>(total)));
  }

  auto graph = std::make_unique<Graph>(false);
  StepInputs in;
  in.ids = graph->input("ids", ids.shape(), DType::i32);
  in.positions = graph->input("positions", {length}, DType::i32);
  in.position_ids = graph->input("position_ids", {rows_, length}, DType::i32);
  in.key_mask = graph->input("key_mask", {rows_, total}, DType::u8);
  const bool gather = !cache_.empty() && !cache_rows_.empty();
  const Var selected = gather ? graph->input("cache.rows", {rows_}, DType::i32) : Var();
  for (size_t l = 0; l < cache_.size(); ++l) {
    const auto& [k, v] = cache_[l];
    KeyValues kv{graph->input("cache." + std::to_string(l) + ".k", k.shape(), k.dtype()),
                 graph->input("cache." + std::to_string(l) + ".v", v.shape(), v.dtype())};
    if (gather) kv = {gather_rows(kv.k, selected), gather_rows(kv.v, selected)};
    in.cache.push_back(kv);
  }
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
  if (gather) {
    const std::vector<int32_t> rows(cache_rows_.begin(), cache_rows_.end());
    exec->bind("cache.rows", Tensor::from_vector<int32_t>({rows_}, rows));
  }
  for (size_t l = 0; l < cache_.size(); ++l) {
    exec->bind("cache." + std::to_string(l) + ".k", cache_[l].first);
    exec->bind("cache." + std::to_string(l) + ".v", cache_[l].second);
  }
  for (const auto& [name, tensor] : row_inputs_)
    if (graph->find_leaf(name) >= 0) exec->bind(name, tensor);
  exec->run();

  cache_.clear();
  cache_rows_.clear();
  for (size_t l = 0; l < out.cache.size(); ++l)
    cache_.emplace_back(exec->value(outputs[1 + 2 * l]), exec->value(outputs[2 + 2 * l]));
  extras_.clear();
  for (size_t i = 0; i < out.extras.size(); ++i)
    extras_.emplace_back(out.extras[i].first, host_f32(exec->value(outputs[1 + 2 * out.cache.size() + i])));
  const Tensor logits = host_f32(exec->value(out.logits));
  past_ = total;
  exec_ = std::move(exec);  // its arena holds the new cache
  graph_ = std::move(graph);
  return logits.view({rows_, logits.shape().back()});
}

void DecodeSession::append_extras(int64_t row, std::map<std::string, std::vector<std::vector<float>>>& into) const {
  for (const auto& [name, extra] : extras_) {
    const int64_t width = extra.numel() / extra.shape()[0];
    const float* begin = extra.data<float>() + row * width;
    into[name].emplace_back(begin, begin + width);
  }
}

void DecodeSession::select_rows(const std::vector<int64_t>& rows) {
  if (rows.empty()) throw std::invalid_argument("select_rows: no rows selected");
  auto check = [&](int64_t count) {
    for (int64_t r : rows)
      if (r < 0 || r >= count)
        throw std::invalid_argument("select_rows: row " + std::to_string(r) + " out of range for " +
                                    std::to_string(count) + " rows");
  };
  if (mask_.empty()) {  // before start(): only the model's per-row inputs exist
    for (auto& [name, tensor] : row_inputs_) check(tensor.shape()[0]), tensor = gather_host_rows(tensor, rows);
    return;
  }
  check(rows_);
  for (auto& [name, tensor] : row_inputs_) tensor = gather_host_rows(tensor, rows);
  rows_ = static_cast<int64_t>(rows.size());
  std::vector<int64_t> cache_rows(rows.size());
  for (size_t i = 0; i < rows.size(); ++i)
    cache_rows[i] = cache_rows_.empty() ? rows[i] : cache_rows_[static_cast<size_t>(rows[i])];
  const int64_t cache_batch = cache_.empty() ? 0 : cache_[0].first.shape()[0];
  std::vector<int64_t> identity(static_cast<size_t>(cache_batch));
  std::iota(identity.begin(), identity.end(), int64_t{0});
  cache_rows_ = cache_rows == identity ? std::vector<int64_t>{} : std::move(cache_rows);
  std::vector<std::vector<uint8_t>> mask;
  std::vector<int32_t> next_position;
  for (int64_t r : rows) {
    mask.push_back(mask_[static_cast<size_t>(r)]);
    next_position.push_back(next_position_[static_cast<size_t>(r)]);
  }
  mask_ = std::move(mask);
  next_position_ = std::move(next_position);
}

}  // namespace hanvit::language
