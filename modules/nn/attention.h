// Attention module, self or cross: GQA, optional RoPE, masks, configurable (or fused) projections.
#pragma once

#include <optional>
#include <string>

#include "modules/nn/linear.h"

namespace hanvit {

struct RopeConfig {
  double theta = 10000.0;
  double position_scale = 1.0;  // linear scaling: positions are divided by this
};

struct AttentionNames {
  std::string q = "q_proj", k = "k_proj", v = "v_proj", o = "o_proj";
  std::string qkv{};  // self: one fused projection [q | k | v] replacing q, k, v (GPT-2 "c_attn")
  std::string kv{};   // cross: one fused projection [k | v] replacing k, v (GPT-2 cross-attention "c_attn")
};

struct AttentionConfig {
  int64_t dim = 0;           // C: width of x and of the output
  int64_t num_heads = 0;     // H: query heads
  int64_t num_kv_heads = 0;  // Hk: key/value heads, H % Hk == 0; 0 means H
  int64_t head_dim = 0;      // Dh; 0 means C / H
  bool cross = false;        // keys/values come from a context input
  int64_t context_dim = 0;   // cross: width of the context; 0 means C
  bool causal = false;       // the last query is aligned with the last key
  bool q_bias = true, k_bias = true, v_bias = true, o_bias = true;
  std::optional<RopeConfig> rope;  // rotates queries and keys; self-attention only
  AttentionNames names;
  WeightLayout layout = WeightLayout::out_in;
};

struct KeyValues {
  Var k{};  // (B, Hk, Tk, Dh)
  Var v{};  // (B, Hk, Tk, Dh)
};

struct AttentionInputs {
  Var x{};        // (B, T, C)
  Var context{};  // cross: (B, S, Cc)
  // Self: keys (already rotated) and values of earlier tokens (B, Hk, Tp, Dh), prepended to
  // this pass's. Cross: project_context() of an earlier pass, used instead of the context.
  KeyValues cache{};
  Var positions{};                // RoPE: i32 (T), the positions of x's tokens
  std::optional<Var> key_mask{};  // u8 (B, Tk), 1 = attend; Tk = Tp + T (self) or S (cross)
  // RoPE parameters of this pass instead of the configured ones (dynamic scaling changes theta
  // with the sequence length).
  std::optional<RopeConfig> rope{};
};

struct AttentionOutput {
  Var out{};       // (B, T, C)
  KeyValues kv{};  // the keys/values attended to: the cache for the next step
};

// Children: q, k, v (or the fused qkv / kv) and o projections, named by config.names.
class Attention : public Module {
 public:
  explicit Attention(const AttentionConfig& config);

  AttentionOutput forward(const AttentionInputs& in) const;
  // Cross-attention: context (B, S, Cc) -> keys and values (B, Hk, S, Dh), e.g. once per image.
  KeyValues project_context(Var context) const;

  // With num_kv_heads, head_dim and context_dim resolved.
  const AttentionConfig& config() const { return config_; }

 private:
  Var split_heads(Var x, int64_t heads) const;  // (B, T, heads*Dh) -> (B, heads, T, Dh)
  void check_cache(const KeyValues& cache, int64_t batch) const;

  AttentionConfig config_;
  std::shared_ptr<Linear> q_, k_, v_, o_, qkv_, kv_;
};

}  // namespace hanvit
