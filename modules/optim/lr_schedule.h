// Learning-rate schedules as in transformers: linear warmup, then constant, linear or cosine decay.
#pragma once

#include <cstdint>
#include <string_view>

namespace hanvit {

enum class LrScheduleKind { constant, linear, cosine };

// "constant", "linear", "cosine"; throws std::invalid_argument naming the text.
LrScheduleKind lr_schedule_kind_from_name(std::string_view name);

struct LrScheduleConfig {
  LrScheduleKind kind = LrScheduleKind::cosine;
  double base_lr = 0.0;
  int64_t warmup_steps = 0;
  int64_t total_steps = 0;  // linear and cosine reach their end here; constant ignores it
  double min_ratio = 0.0;   // cosine only: the factor decays from 1 to this
};

// factor(step) is transformers' lr lambda for LambdaLR, so the lr of optimizer step `step`
// (0-based) is base_lr * factor(step):
//   warmup (step < warmup_steps): step / max(1, warmup_steps)
//   constant: 1
//   linear (get_linear_schedule_with_warmup): max(0, (total - step) / max(1, total - warmup))
//   cosine (get_cosine_with_min_lr_schedule_with_warmup, num_cycles 0.5; min_ratio 0 is
//     get_cosine_schedule_with_warmup): c = 0.5 * (1 + cos(pi * progress)),
//     progress = (step - warmup) / max(1, total - warmup); factor = max(0, c * (1 - min_ratio) + min_ratio)
// Steps past total_steps keep the value at total_steps.
class LrSchedule {
 public:
  // Throws std::invalid_argument for a negative or non-finite base_lr, negative warmup, a
  // total below warmup (linear, cosine), or min_ratio outside [0, 1] or set for a non-cosine kind.
  explicit LrSchedule(LrScheduleConfig config);

  const LrScheduleConfig& config() const { return config_; }
  double factor(int64_t step) const;  // throws for a negative step
  double lr(int64_t step) const { return config_.base_lr * factor(step); }

 private:
  LrScheduleConfig config_;
};

}  // namespace hanvit
