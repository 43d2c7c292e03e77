// AdamW and SGD over the update loops of kernels/cpu/optim (host parameters) or the multi-tensor
// kernels of kernels/cuda/optim (CUDA parameters), state save/restore, clipping.
#include "modules/optim/optimizer.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "kernels/cpu/optim.h"
#include "modules/backend/backend.h"
#include "modules/optim/device_update.h"

namespace hanvit {
namespace {

using nlohmann::json;

std::string num_str(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

const json& field(const json& state, const std::string& key, const std::string& who) {
  if (!state.is_object() || !state.contains(key))
    throw std::invalid_argument(who + " load_state: state json has no field '" + key + "'");
  return state.at(key);
}

double number_field(const json& state, const std::string& key, const std::string& who) {
  const json& value = field(state, key, who);
  if (!value.is_number())
    throw std::invalid_argument(who + " load_state: field '" + key + "' is " + value.dump() + ", not a number");
  return value.get<double>();
}

void check_range(const std::string& who, const std::string& name, double value, double low, double high,
                 bool high_open) {
  const bool ok = std::isfinite(value) && value >= low && (high_open ? value < high : value <= high);
  if (!ok)
    throw std::invalid_argument(who + ": " + name + " = " + num_str(value) + " is outside [" + num_str(low) + ", " +
                                num_str(high) + (high_open ? ")" : "]"));
}

void check_group(const std::string& who, const std::string& index, double lr_scale, double weight_decay) {
  check_range(who, "lr_scale of group " + index, lr_scale, 0.0, INFINITY, true);
  check_range(who, "weight_decay of group " + index, weight_decay, 0.0, INFINITY, true);
}

// A zero-filled f32 tensor of `shape` on `device`.
Tensor zeros_on([[maybe_unused]] Device device, const Shape& shape) {
#ifdef HANVIT_WITH_CUDA
  if (device.kind == DeviceKind::cuda) return device_zeros(device, shape);
#endif
  return Tensor::zeros(shape);
}

// The sum of grad^2 over checked params, in double.
double grad_sum_squares(std::span<const ParamRef> params) {
#ifdef HANVIT_WITH_CUDA
  if (params_device(params).kind == DeviceKind::cuda) return device_grad_sum_squares(params);
#endif
  double sum = 0.0;
  for (const ParamRef& p : params) sum += cpu::sum_squares_f32(p.grad.data<float>(), p.grad.numel());
  return sum;
}

void scale_grads(std::span<const ParamRef> params, float s) {
#ifdef HANVIT_WITH_CUDA
  if (params_device(params).kind == DeviceKind::cuda) {
    device_scale_grads(params, s);
    return;
  }
#endif
  for (const ParamRef& p : params) cpu::scale_f32(p.grad.data<float>(), p.grad.numel(), s);
}

// Copies a checked state tensor (host, or contiguous on dst's device) into the state tensor dst.
void copy_state(const Tensor& src, const Tensor& dst) {
  if (dst.device().kind == DeviceKind::cpu)
    dst.copy_from(src);
  else
    backend_for(dst.device()).copy(src.contiguous(), dst);
}

}  // namespace

double clip_grad_norm(std::span<const ParamRef> params, double max_norm) {
  if (!std::isfinite(max_norm) || max_norm <= 0)
    throw std::invalid_argument("clip_grad_norm: max_norm = " + num_str(max_norm) + " must be positive and finite");
  check_params(params, "clip_grad_norm");
  const double norm = std::sqrt(grad_sum_squares(params));
  if (!std::isfinite(norm)) return norm;
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0) scale_grads(params, static_cast<float>(coef));
  return norm;
}

Optimizer::Optimizer(std::vector<ParamGroup> groups, std::vector<std::string> slots, std::string who)
    : groups_(std::move(groups)), slot_names_(std::move(slots)), who_(std::move(who)) {
  for (size_t g = 0; g < groups_.size(); ++g)
    check_group(who_, std::to_string(g), groups_[g].lr_scale, groups_[g].weight_decay);
  const std::vector<ParamRef> all = params();
  check_params(all, who_);
  device_ = params_device(all);
  for (const ParamRef& p : all) {
    std::vector<Tensor> state;
    for (size_t s = 0; s < slot_names_.size(); ++s) state.push_back(zeros_on(device_, p.param.shape()));
    state_.push_back(std::move(state));
  }
}

void Optimizer::step(double lr, double grad_scale) {
  if (!std::isfinite(lr) || lr < 0)
    throw std::invalid_argument(who_ + " step: lr = " + num_str(lr) + " must be finite and >= 0");
  if (!std::isfinite(grad_scale))
    throw std::invalid_argument(who_ + " step: grad_scale = " + num_str(grad_scale) + " is not finite");
  ++step_;
  update(lr, grad_scale);
}

std::vector<ParamRef> Optimizer::params() const {
  std::vector<ParamRef> all;
  for (const ParamGroup& g : groups_) all.insert(all.end(), g.params.begin(), g.params.end());
  return all;
}

NamedTensors Optimizer::state_tensors() const {
  NamedTensors out;
  size_t index = 0;
  for (const ParamGroup& g : groups_)
    for (const ParamRef& p : g.params) {
      for (size_t s = 0; s < slot_names_.size(); ++s) out.emplace_back(p.name + "." + slot_names_[s], state_[index][s]);
      ++index;
    }
  return out;
}

json Optimizer::state_json() const {
  json state = hyper_json();
  state["type"] = who_;
  state["step"] = step_;
  json groups = json::array();
  for (const ParamGroup& g : groups_) {
    json names = json::array();
    for (const ParamRef& p : g.params) names.push_back(p.name);
    groups.push_back({{"params", names}, {"lr_scale", g.lr_scale}, {"weight_decay", g.weight_decay}});
  }
  state["groups"] = groups;
  return state;
}

void Optimizer::load_state(const NamedTensors& tensors, const json& state) {
  const std::string where = who_ + " load_state";
  const json& type = field(state, "type", who_);
  if (type != who_)
    throw std::invalid_argument(where + ": the state is of type " + type.dump() + ", not \"" + who_ + "\"");
  const json& step = field(state, "step", who_);
  if (!step.is_number_integer() || step.get<int64_t>() < 0)
    throw std::invalid_argument(where + ": field 'step' is " + step.dump() + ", not a count");

  const json& groups = field(state, "groups", who_);
  if (!groups.is_array() || groups.size() != groups_.size())
    throw std::invalid_argument(where + ": the state has " +
                                (groups.is_array() ? std::to_string(groups.size()) : "no") +
                                " groups, this optimizer " + std::to_string(groups_.size()));
  std::vector<std::pair<double, double>> group_hyper;  // (lr_scale, weight_decay)
  for (size_t g = 0; g < groups_.size(); ++g) {
    const std::string index = std::to_string(g);
    const json& saved = groups[g];
    const json& names = field(saved, "params", who_);
    if (!names.is_array()) throw std::invalid_argument(where + ": field 'params' of group " + index + " is not a list");
    const std::vector<ParamRef>& own = groups_[g].params;
    for (size_t i = 0; i < std::max(own.size(), names.size()); ++i) {
      if (i >= names.size())
        throw std::invalid_argument(where + ": parameter '" + own[i].name + "' of group " + index +
                                    " is not in the state");
      if (i >= own.size())
        throw std::invalid_argument(where + ": group " + index + " of the state has parameter " + names[i].dump() +
                                    ", which this optimizer lacks");
      if (names[i] != own[i].name)
        throw std::invalid_argument(where + ": group " + index + " has parameter " + names[i].dump() + " at position " +
                                    std::to_string(i) + " in the state, '" + own[i].name + "' here");
    }
    const double lr_scale = number_field(saved, "lr_scale", who_);
    const double weight_decay = number_field(saved, "weight_decay", who_);
    check_group(where, index, lr_scale, weight_decay);
    group_hyper.emplace_back(lr_scale, weight_decay);
  }

  const bool on_host = device_.kind == DeviceKind::cpu;
  const std::string places = on_host ? "cpu" : "cpu (or contiguous on " + device_.str() + ")";
  std::map<std::string, const Tensor*> by_name;
  for (const auto& [name, tensor] : tensors)
    if (!by_name.emplace(name, &tensor).second)
      throw std::invalid_argument(where + ": tensor '" + name + "' is given twice");
  std::vector<std::vector<const Tensor*>> sources;
  for (const ParamRef& p : params()) {
    std::vector<const Tensor*> row;
    for (const std::string& slot_name : slot_names_) {
      const std::string name = p.name + "." + slot_name;
      auto found = by_name.find(name);
      if (found == by_name.end()) throw std::invalid_argument(where + ": missing tensor '" + name + "'");
      const Tensor& t = *found->second;
      if (!t.defined()) throw std::invalid_argument(where + ": tensor '" + name + "' is undefined");
      const bool placed =
          t.device().kind == DeviceKind::cpu || (!on_host && t.device() == device_ && t.is_contiguous());
      if (t.dtype() != DType::f32 || !placed || t.shape() != p.param.shape())
        throw std::invalid_argument(where + ": tensor '" + name + "' is " + t.str() + " on " + t.device().str() +
                                    ", expected f32" + shape_str(p.param.shape()) + " on " + places +
                                    " like parameter '" + p.name + "'");
      row.push_back(&t);
      by_name.erase(found);
    }
    sources.push_back(std::move(row));
  }
  if (!by_name.empty()) throw std::invalid_argument(where + ": unexpected tensor '" + by_name.begin()->first + "'");

  load_hyper(state);
  for (size_t i = 0; i < state_.size(); ++i)
    for (size_t s = 0; s < slot_names_.size(); ++s) copy_state(*sources[i][s], state_[i][s]);
  for (size_t g = 0; g < groups_.size(); ++g) {
    groups_[g].lr_scale = group_hyper[g].first;
    groups_[g].weight_decay = group_hyper[g].second;
  }
  step_ = step.get<int64_t>();
}

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions options)
    : Optimizer(std::move(groups), {"exp_avg", "exp_avg_sq"}, "AdamW"), options_(options) {
  check_range(who(), "beta1", options_.beta1, 0.0, 1.0, true);
  check_range(who(), "beta2", options_.beta2, 0.0, 1.0, true);
  check_range(who(), "eps", options_.eps, 0.0, INFINITY, true);
}

void AdamW::update(double lr, double grad_scale) {
  const double bias_correction1 = 1.0 - std::pow(options_.beta1, static_cast<double>(step_count()));
  const double bias_correction2 = 1.0 - std::pow(options_.beta2, static_cast<double>(step_count()));
#ifdef HANVIT_WITH_CUDA
  if (device().kind == DeviceKind::cuda) {
    device_adamw_step(device(), groups_, slots(), lr, grad_scale, options_, bias_correction1, bias_correction2);
    return;
  }
#endif
  size_t index = 0;
  for (const ParamGroup& g : groups_)
    for (const ParamRef& p : g.params) {
      cpu::adamw_step_f32(p.param.data<float>(), p.grad.data<float>(), slot(index, 0).data<float>(),
                          slot(index, 1).data<float>(), p.param.numel(), lr * g.lr_scale, options_.beta1,
                          options_.beta2, options_.eps, g.weight_decay, bias_correction1, bias_correction2, grad_scale);
      ++index;
    }
}

json AdamW::hyper_json() const { return {{"beta1", options_.beta1}, {"beta2", options_.beta2}, {"eps", options_.eps}}; }

void AdamW::load_hyper(const json& state) {
  const std::string where = who() + " load_state";
  AdamWOptions loaded{number_field(state, "beta1", who()), number_field(state, "beta2", who()),
                      number_field(state, "eps", who())};
  check_range(where, "beta1", loaded.beta1, 0.0, 1.0, true);
  check_range(where, "beta2", loaded.beta2, 0.0, 1.0, true);
  check_range(where, "eps", loaded.eps, 0.0, INFINITY, true);
  options_ = loaded;
}

Sgd::Sgd(std::vector<ParamGroup> groups, SgdOptions options)
    : Optimizer(std::move(groups),
                options.momentum > 0 ? std::vector<std::string>{"momentum_buffer"} : std::vector<std::string>{}, "SGD"),
      options_(options) {
  check_range(who(), "momentum", options_.momentum, 0.0, INFINITY, true);
  if (options_.nesterov && options_.momentum <= 0)
    throw std::invalid_argument(who() + ": nesterov momentum needs momentum > 0");
}

void Sgd::update(double lr, double grad_scale) {
#ifdef HANVIT_WITH_CUDA
  if (device().kind == DeviceKind::cuda) {
    device_sgd_step(device(), groups_, slots(), lr, grad_scale, options_);
    return;
  }
#endif
  const bool has_buffer = options_.momentum > 0;
  size_t index = 0;
  for (const ParamGroup& g : groups_)
    for (const ParamRef& p : g.params) {
      cpu::sgd_momentum_step_f32(p.param.data<float>(), p.grad.data<float>(),
                                 has_buffer ? slot(index, 0).data<float>() : nullptr, p.param.numel(), lr * g.lr_scale,
                                 options_.momentum, options_.nesterov, g.weight_decay, grad_scale);
      ++index;
    }
}

json Sgd::hyper_json() const { return {{"momentum", options_.momentum}, {"nesterov", options_.nesterov}}; }

void Sgd::load_hyper(const json& state) {
  const std::string where = who() + " load_state";
  const double momentum = number_field(state, "momentum", who());
  const json& nesterov = field(state, "nesterov", who());
  if (!nesterov.is_boolean())
    throw std::invalid_argument(where + ": field 'nesterov' is " + nesterov.dump() + ", not true/false");
  check_range(where, "momentum", momentum, 0.0, INFINITY, true);
  if ((momentum > 0) != (options_.momentum > 0))
    throw std::invalid_argument(where + ": momentum = " + num_str(momentum) + " in the state, " +
                                num_str(options_.momentum) + " here: one of them keeps no momentum buffers");
  if (nesterov.get<bool>() && momentum <= 0)
    throw std::invalid_argument(where + ": nesterov momentum needs momentum > 0");
  options_ = {momentum, nesterov.get<bool>()};
}

}  // namespace hanvit
