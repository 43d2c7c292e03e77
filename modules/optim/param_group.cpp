// Parameter groups: the default no-decay rule, splitting by it, and parameter checks.
#include "modules/optim/param_group.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <stdexcept>

namespace hanvit {
namespace {

void check_tensor(const Tensor& t, const std::string& who, const std::string& name, const char* role) {
  const std::string what = who + ": " + role + " of '" + name + "'";
  if (!t.defined()) throw std::invalid_argument(what + " is undefined");
  if (t.dtype() != DType::f32) throw std::invalid_argument(what + " is " + t.str() + ", not f32");
  if (!t.is_contiguous()) throw std::invalid_argument(what + " " + t.str() + " is not contiguous");
#ifndef HANVIT_WITH_CUDA
  if (t.device().kind != DeviceKind::cpu)
    throw std::invalid_argument(what + " is on " + t.device().str() + ", and this build has no CUDA");
#endif
}

void check_device(const Tensor& t, const ParamRef& first, const std::string& who, const std::string& name,
                  const char* role) {
  if (t.device() != first.param.device())
    throw std::invalid_argument(who + ": " + role + " of '" + name + "' is on " + t.device().str() + ", param of '" +
                                first.name + "' on " + first.param.device().str() +
                                ": all params and grads must be on one device");
}

}  // namespace

bool default_no_decay(const ParamRef& param) {
  if (param.param.rank() <= 1) return true;
  std::string name = param.name;
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (name.ends_with("bias")) return true;
  // "norm" also covers "layernorm", "layer_norm", "rmsnorm".
  return name.find("norm") != std::string::npos || name.find("ln_") != std::string::npos;
}

std::vector<ParamGroup> split_decay_groups(std::vector<ParamRef> params, double weight_decay,
                                           const NoDecayPredicate& no_decay) {
  std::vector<ParamGroup> groups(2);
  groups[0].weight_decay = weight_decay;
  groups[1].weight_decay = 0.0;
  for (ParamRef& p : params) {
    const bool skip_decay = no_decay(p);
    groups[skip_decay ? 1 : 0].params.push_back(std::move(p));
  }
  return groups;
}

void check_params(std::span<const ParamRef> params, const std::string& who) {
  std::set<std::string> names;
  for (const ParamRef& p : params) {
    if (!names.insert(p.name).second) throw std::invalid_argument(who + ": parameter '" + p.name + "' is listed twice");
    check_tensor(p.param, who, p.name, "param");
    check_tensor(p.grad, who, p.name, "grad");
    if (p.grad.shape() != p.param.shape())
      throw std::invalid_argument(who + ": grad of '" + p.name + "' has shape " + shape_str(p.grad.shape()) +
                                  ", param " + shape_str(p.param.shape()));
    check_device(p.param, params.front(), who, p.name, "param");
    check_device(p.grad, params.front(), who, p.name, "grad");
  }
}

Device params_device(std::span<const ParamRef> params) {
  return params.empty() ? Device::cpu() : params.front().param.device();
}

}  // namespace hanvit
