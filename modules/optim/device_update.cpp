// Optimizer updates of CUDA parameters over the multi-tensor kernels of kernels/cuda/optim.
#include "modules/optim/device_update.h"

#ifdef HANVIT_WITH_CUDA

#include <cuda_runtime_api.h>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/optim.h"
#include "modules/backend/cuda/cuda_backend.h"

namespace hanvit {
namespace {

// The context of `device`, made the current device of this thread.
CudaContext& context_of(Device device) {
  CudaContext& ctx = cuda_backend(device.index).context();
  HANVIT_CUDA_CHECK(cudaSetDevice(ctx.device));
  return ctx;
}

std::vector<cuda::DeviceFloats> grad_buffers(std::span<const ParamRef> params) {
  std::vector<cuda::DeviceFloats> grads;
  grads.reserve(params.size());
  for (const ParamRef& p : params) grads.push_back({p.grad.data<float>(), p.grad.numel()});
  return grads;
}

}  // namespace

Tensor device_zeros(Device device, const Shape& shape) {
  Tensor zeros(backend_for(device).allocate(static_cast<size_t>(numel(shape)) * sizeof(float)), shape, DType::f32);
  CudaContext& ctx = context_of(device);
  HANVIT_CUDA_CHECK(cudaMemsetAsync(zeros.raw_data(), 0, zeros.nbytes(), ctx.stream));
  return zeros;
}

void device_adamw_step(Device device, std::span<const ParamGroup> groups, std::span<const std::vector<Tensor>> state,
                       double lr, double grad_scale, const AdamWOptions& options, double bias_correction1,
                       double bias_correction2) {
  std::vector<cuda::AdamwTensor> tensors;
  size_t index = 0;
  for (const ParamGroup& g : groups)
    for (const ParamRef& p : g.params) {
      const std::vector<Tensor>& slots = state[index++];
      tensors.push_back({p.param.data<float>(), p.grad.data<float>(), slots[0].data<float>(), slots[1].data<float>(),
                         p.param.numel(), lr * g.lr_scale, g.weight_decay});
    }
  cuda::adamw_step_f32(tensors, options.beta1, options.beta2, options.eps, bias_correction1, bias_correction2,
                       grad_scale, context_of(device).stream);
}

void device_sgd_step(Device device, std::span<const ParamGroup> groups, std::span<const std::vector<Tensor>> state,
                     double lr, double grad_scale, const SgdOptions& options) {
  std::vector<cuda::SgdTensor> tensors;
  size_t index = 0;
  for (const ParamGroup& g : groups)
    for (const ParamRef& p : g.params) {
      const std::vector<Tensor>& slots = state[index++];
      tensors.push_back({p.param.data<float>(), p.grad.data<float>(), slots.empty() ? nullptr : slots[0].data<float>(),
                         p.param.numel(), lr * g.lr_scale, g.weight_decay});
    }
  cuda::sgd_step_f32(tensors, options.momentum, options.nesterov, grad_scale, context_of(device).stream);
}

double device_grad_sum_squares(std::span<const ParamRef> params) {
  const std::vector<cuda::DeviceFloats> grads = grad_buffers(params);
  CudaContext& ctx = context_of(params_device(params));
  // One partial per chunk, then the total in the last double.
  const size_t doubles = cuda::sum_squares_scratch_doubles(grads);
  double* scratch = static_cast<double*>(ctx.scratch(doubles * sizeof(double)));
  double* total = scratch + doubles - 1;
  cuda::sum_squares_f32(grads, scratch, total, ctx.stream);
  double sum = 0.0;
  HANVIT_CUDA_CHECK(cudaMemcpyAsync(&sum, total, sizeof(double), cudaMemcpyDeviceToHost, ctx.stream));
  HANVIT_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
  return sum;
}

void device_scale_grads(std::span<const ParamRef> params, float s) {
  cuda::scale_f32(grad_buffers(params), s, context_of(params_device(params)).stream);
}

}  // namespace hanvit

#endif  // HANVIT_WITH_CUDA
