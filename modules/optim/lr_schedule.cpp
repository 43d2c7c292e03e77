// Learning-rate schedules: the transformers lr lambdas, held constant past the last step.
#include "modules/optim/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

namespace hanvit {

LrScheduleKind lr_schedule_kind_from_name(std::string_view name) {
  if (name == "constant") return LrScheduleKind::constant;
  if (name == "linear") return LrScheduleKind::linear;
  if (name == "cosine") return LrScheduleKind::cosine;
  throw std::invalid_argument("lr schedule: unknown kind '" + std::string(name) +
                              "' (expected constant, linear or cosine)");
}

LrSchedule::LrSchedule(LrScheduleConfig config) : config_(config) {
  if (!std::isfinite(config_.base_lr) || config_.base_lr < 0)
    throw std::invalid_argument("lr schedule: base_lr = " + std::to_string(config_.base_lr) +
                                " must be finite and >= 0");
  if (config_.warmup_steps < 0)
    throw std::invalid_argument("lr schedule: warmup_steps = " + std::to_string(config_.warmup_steps) + " is negative");
  if (config_.kind != LrScheduleKind::constant && config_.total_steps < config_.warmup_steps)
    throw std::invalid_argument("lr schedule: total_steps = " + std::to_string(config_.total_steps) +
                                " is below warmup_steps = " + std::to_string(config_.warmup_steps));
  if (!(config_.min_ratio >= 0 && config_.min_ratio <= 1))
    throw std::invalid_argument("lr schedule: min_ratio = " + std::to_string(config_.min_ratio) + " is outside [0, 1]");
  if (config_.kind != LrScheduleKind::cosine && config_.min_ratio != 0)
    throw std::invalid_argument("lr schedule: min_ratio applies to the cosine schedule only");
}

double LrSchedule::factor(int64_t step) const {
  if (step < 0) throw std::invalid_argument("lr schedule: step " + std::to_string(step) + " is negative");
  const int64_t warmup = config_.warmup_steps;
  if (step < warmup) return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup));
  const int64_t total = config_.total_steps;
  const int64_t at = std::min(step, total);
  const double decay_steps = static_cast<double>(std::max<int64_t>(1, total - warmup));
  switch (config_.kind) {
    case LrScheduleKind::constant:
      return 1.0;
    case LrScheduleKind::linear:
      return std::max(0.0, static_cast<double>(total - at) / decay_steps);
    case LrScheduleKind::cosine: {
      const double progress = static_cast<double>(at - warmup) / decay_steps;
      const double c = 0.5 * (1.0 + std::cos(std::numbers::pi * 0.5 * 2.0 * progress));
      return std::max(0.0, c * (1.0 - config_.min_ratio) + config_.min_ratio);
    }
  }
  return 1.0;
}

}  // namespace hanvit
