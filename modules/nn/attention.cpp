// Attention: projections, head split, RoPE, key/value cache, the attention op, output projection.
#include "modules/nn/attention.h"

#include <cmath>

#include "modules/graph/ops.h"

namespace hanvit {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

}  // namespace

Attention::Attention(const AttentionConfig& config) : Module("Attention"), config_(config) {
  AttentionConfig& c = config_;
  if (c.dim <= 0 || c.num_heads <= 0)
    fail("dim and num_heads must be positive, got dim=" + str(c.dim) + " num_heads=" + str(c.num_heads));
  if (c.num_kv_heads == 0) c.num_kv_heads = c.num_heads;
  if (c.num_kv_heads < 0 || c.num_heads % c.num_kv_heads != 0)
    fail("num_heads=" + str(c.num_heads) + " must be a multiple of num_kv_heads=" + str(c.num_kv_heads));
  if (c.head_dim == 0) {
    if (c.dim % c.num_heads != 0) fail("dim=" + str(c.dim) + " is not divisible by num_heads=" + str(c.num_heads));
    c.head_dim = c.dim / c.num_heads;
  }
  if (c.head_dim < 0) fail("head_dim must be positive, got " + str(c.head_dim));
  if (c.context_dim == 0) c.context_dim = c.dim;
  if (c.context_dim < 0) fail("context_dim must be positive, got " + str(c.context_dim));
  if (c.rope) {
    if (c.cross) fail("RoPE is for self-attention only");
    if (c.head_dim % 2 != 0) fail("RoPE needs an even head_dim, got " + str(c.head_dim));
  }
  if (!c.names.qkv.empty() && c.cross) fail("a fused qkv projection needs self-attention");
  if (!c.names.kv.empty() && !c.cross) fail("a fused kv projection needs cross-attention");

  const int64_t q_width = c.num_heads * c.head_dim, kv_width = c.num_kv_heads * c.head_dim;
  auto linear = [&](int64_t in, int64_t out, bool bias) { return std::make_shared<Linear>(in, out, bias, c.layout); };
  if (!c.names.qkv.empty()) {
    if (c.q_bias != c.k_bias || c.q_bias != c.v_bias) fail("a fused qkv projection needs one bias flag for q, k and v");
    qkv_ = register_module(c.names.qkv, linear(c.dim, q_width + 2 * kv_width, c.q_bias));
  } else {
    q_ = register_module(c.names.q, linear(c.dim, q_width, c.q_bias));
    if (!c.names.kv.empty()) {
      if (c.k_bias != c.v_bias) fail("a fused kv projection needs one bias flag for k and v");
      kv_ = register_module(c.names.kv, linear(c.context_dim, 2 * kv_width, c.k_bias));
    } else {
      const int64_t source = c.cross ? c.context_dim : c.dim;
      k_ = register_module(c.names.k, linear(source, kv_width, c.k_bias));
      v_ = register_module(c.names.v, linear(source, kv_width, c.v_bias));
    }
  }
  o_ = register_module(c.names.o, linear(q_width, c.dim, c.o_bias));
}

Var Attention::split_heads(Var x, int64_t heads) const {
  Var h = view(x, {x.dim(0), x.dim(1), heads, config_.head_dim});  // (B, T, heads, Dh)
  return permute(h, {0, 2, 1, 3});                                 // (B, heads, T, Dh)
}

void Attention::check_cache(const KeyValues& cache, int64_t batch) const {
  if (!cache.k.defined() || !cache.v.defined()) fail("a key/value cache needs both k and v");
  for (const Var& t : {cache.k, cache.v})
    if (t.rank() != 4 || t.dim(0) != batch || t.dim(1) != config_.num_kv_heads || t.dim(3) != config_.head_dim ||
        t.dim(2) != cache.k.dim(2))
      fail("cached keys/values " + cache.k.str() + ", " + cache.v.str() + " must both be (B=" + str(batch) +
           ", Hk=" + str(config_.num_kv_heads) + ", Tp, Dh=" + str(config_.head_dim) + ")");
}

KeyValues Attention::project_context(Var context) const {
  const AttentionConfig& c = config_;
  if (!c.cross) fail("project_context needs cross-attention");
  if (context.rank() != 3 || context.dim(2) != c.context_dim)
    fail("context " + context.str() + " must be (B, S, " + str(c.context_dim) + ")");
  const int64_t kv_width = c.num_kv_heads * c.head_dim;
  if (kv_) {
    std::vector<Var> parts = split(kv_->forward(context), {kv_width, kv_width}, 2);  // 2 x (B, S, Hk*Dh)
    return {split_heads(parts[0], c.num_kv_heads), split_heads(parts[1], c.num_kv_heads)};
  }
  return {split_heads(k_->forward(context), c.num_kv_heads), split_heads(v_->forward(context), c.num_kv_heads)};
}

AttentionOutput Attention::forward(const AttentionInputs& in) const {
  const AttentionConfig& c = config_;
  if (!in.x.defined()) fail("input x is undefined");
  if (in.x.rank() != 3 || in.x.dim(2) != c.dim) fail("input " + in.x.str() + " must be (B, T, " + str(c.dim) + ")");
  const int64_t batch = in.x.dim(0), length = in.x.dim(1);
  const bool has_cache = in.cache.k.defined() || in.cache.v.defined();
  if (has_cache) check_cache(in.cache, batch);
  if (c.rope && !in.positions.defined()) fail("RoPE needs positions i32 (T=" + str(length) + ")");
  if (!c.rope && in.positions.defined()) fail("positions given, but this attention has no RoPE");

  Var q, k, v;  // (B, H, T, Dh), (B, Hk, Tk, Dh), (B, Hk, Tk, Dh)
  if (c.cross) {
    if (in.context.defined() == has_cache) fail("cross-attention needs either a context or cached keys/values");
    KeyValues kv = has_cache ? in.cache : project_context(in.context);
    if (kv.k.dim(0) != batch) fail("context " + in.context.str() + " and input " + in.x.str() + " differ in batch");
    q = split_heads(q_->forward(in.x), c.num_heads);
    k = kv.k;
    v = kv.v;
  } else {
    if (in.context.defined()) fail("self-attention takes no context, got " + in.context.str());
    const int64_t q_width = c.num_heads * c.head_dim, kv_width = c.num_kv_heads * c.head_dim;
    if (qkv_) {
      std::vector<Var> parts = split(qkv_->forward(in.x), {q_width, kv_width, kv_width}, 2);  // (B, T, ...)
      q = split_heads(parts[0], c.num_heads);
      k = split_heads(parts[1], c.num_kv_heads);
      v = split_heads(parts[2], c.num_kv_heads);
    } else {
      q = split_heads(q_->forward(in.x), c.num_heads);
      k = split_heads(k_->forward(in.x), c.num_kv_heads);
      v = split_heads(v_->forward(in.x), c.num_kv_heads);
    }
    if (c.rope) {
      const RopeConfig& r = in.rope ? *in.rope : *c.rope;
      q = rope(q, in.positions, r.theta, r.position_scale);
      k = rope(k, in.positions, r.theta, r.position_scale);
    }
    if (has_cache) {
      k = concat({in.cache.k, k}, 2);  // (B, Hk, Tp + T, Dh)
      v = concat({in.cache.v, v}, 2);
    }
  }
  const double scale = 1.0 / std::sqrt(static_cast<double>(c.head_dim));
  Var y = attention(q, k, v, in.key_mask, c.causal, scale);                       // (B, H, T, Dh)
  y = view(permute(y, {0, 2, 1, 3}), {batch, length, c.num_heads * c.head_dim});  // (B, T, H*Dh)
  return {o_->forward(y), {k, v}};                                                // (B, T, C)
}

}  // namespace hanvit
