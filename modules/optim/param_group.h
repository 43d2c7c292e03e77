// Named parameters with their gradients, grouped for an optimizer (weight decay, lr scale).
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "modules/tensor/tensor.h"

namespace hanvit {

// A parameter updated in place and the gradient the optimizer reads at each step. Both share
// storage with the caller's tensors: f32, contiguous, of the same shape, on the host or on a CUDA
// device (one device for all the parameters of an optimizer).
struct ParamRef {
  std::string name;
  Tensor param;
  Tensor grad;
};

struct ParamGroup {
  std::vector<ParamRef> params;
  double lr_scale = 1.0;  // the group's lr is the step's lr times this
  double weight_decay = 0.0;
};

// True for parameters that get no weight decay.
using NoDecayPredicate = std::function<bool(const ParamRef&)>;

// The common Hugging Face rule: names ending in "bias", names containing "norm", "ln_",
// "layernorm" or "layer_norm" (any case), and every tensor of rank 0 or 1.
bool default_no_decay(const ParamRef& param);

// Two groups in the order of `params`: [0] with `weight_decay`, [1] the `no_decay` ones with 0.
// Either may be empty.
std::vector<ParamGroup> split_decay_groups(std::vector<ParamRef> params, double weight_decay,
                                           const NoDecayPredicate& no_decay = default_no_decay);

// Checks that each entry has a unique name and a defined f32, contiguous param and grad of the
// same shape, all on the first param's device; throws std::invalid_argument naming `who` and the
// parameter.
void check_params(std::span<const ParamRef> params, const std::string& who);

// The device of the first param (all of them, once check_params passed); the host for none.
Device params_device(std::span<const ParamRef> params);

}  // namespace hanvit
