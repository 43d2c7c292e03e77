// Optimizers updating f32 parameters in place on the host or a CUDA device (AdamW, SGD with
// momentum), their exact state save/restore, and global-norm gradient clipping.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "modules/optim/param_group.h"

namespace hanvit {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// torch.nn.utils.clip_grad_norm_: returns the global L2 norm of all grads (summed in double) and,
// when max_norm / (norm + 1e-6) < 1, scales every grad by that factor. A non-finite norm is
// returned with the grads left untouched; the caller decides (skip the step, stop). Grads on a
// CUDA device are summed there (in a fixed order) and the call waits for the 8-byte result.
double clip_grad_norm(std::span<const ParamRef> params, double max_norm);

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter with lr * group.lr_scale, reading each grad times grad_scale
  // (e.g. 1 / accumulation steps). Grads are not checked for NaN/inf here: clip_grad_norm reports
  // them. Throws std::invalid_argument for a negative or non-finite lr or a non-finite grad_scale.
  void step(double lr, double grad_scale = 1.0);
  int64_t step_count() const { return step_; }
  const std::vector<ParamGroup>& groups() const { return groups_; }
  std::vector<ParamRef> params() const;  // every group's, in order
  // Where the parameters, and so the state tensors, live (the host when there are none). On a
  // CUDA device, step() enqueues a few multi-tensor kernels on that device's stream and returns.
  Device device() const { return device_; }

  // The optimizer's own state tensors, named "<param>.<slot>", on device() (no copy: write or
  // copy them to the host before the next step).
  NamedTensors state_tensors() const;
  // {"type", "step", the optimizer's hyper-parameters,
  //  "groups": [{"params": [names], "lr_scale", "weight_decay"}]}
  nlohmann::json state_json() const;
  // Restores what state_tensors() and state_json() gave for the same parameters in the same
  // groups: copies the tensors and takes the step count and hyper-parameters (as
  // torch's load_state_dict does). The tensors are host tensors, or for an optimizer on a CUDA
  // device also contiguous tensors on that device. Everything is checked before anything changes; a mismatch
  // throws std::invalid_argument naming the tensor or field.
  void load_state(const NamedTensors& tensors, const nlohmann::json& state);

 protected:
  // slots: the names of the per-parameter state tensors, each zero-filled and shaped like its
  // parameter; who: the optimizer's name in errors.
  Optimizer(std::vector<ParamGroup> groups, std::vector<std::string> slots, std::string who);

  // Applies one update; step_count() already counts it.
  virtual void update(double lr, double grad_scale) = 0;
  virtual nlohmann::json hyper_json() const = 0;
  // Reads, checks and then sets the hyper-parameters in `state`; throws before changing anything.
  virtual void load_hyper(const nlohmann::json& state) = 0;

  // State tensor `slot` of the parameter at position `index` over all groups.
  const Tensor& slot(size_t index, size_t slot) const { return state_[index][slot]; }
  // Every parameter's state tensors: [parameter index over all groups][slot].
  const std::vector<std::vector<Tensor>>& slots() const { return state_; }
  const std::string& who() const { return who_; }

  std::vector<ParamGroup> groups_;

 private:
  std::vector<std::string> slot_names_;
  std::vector<std::vector<Tensor>> state_;  // [parameter index over all groups][slot]
  std::string who_;
  Device device_;
  int64_t step_ = 0;
};

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

// torch.optim.AdamW (decoupled weight decay, bias-corrected moments); weight decay per group.
// State slots: exp_avg, exp_avg_sq.
class AdamW final : public Optimizer {
 public:
  explicit AdamW(std::vector<ParamGroup> groups, AdamWOptions options = {});
  const AdamWOptions& options() const { return options_; }

 private:
  void update(double lr, double grad_scale) override;
  nlohmann::json hyper_json() const override;
  void load_hyper(const nlohmann::json& state) override;

  AdamWOptions options_;
};

struct SgdOptions {
  double momentum = 0.0;
  bool nesterov = false;  // needs momentum > 0
};

// torch.optim.SGD with dampening 0: L2 weight decay per group, heavy-ball or Nesterov momentum.
// State slot (when momentum > 0): momentum_buffer.
class Sgd final : public Optimizer {
 public:
  explicit Sgd(std::vector<ParamGroup> groups, SgdOptions options = {});
  const SgdOptions& options() const { return options_; }

 private:
  void update(double lr, double grad_scale) override;
  nlohmann::json hyper_json() const override;
  void load_hyper(const nlohmann::json& state) override;

  SgdOptions options_;
};

}  // namespace hanvit
