// The backends available in this process, and copies between host and device by tensor device.
#include <stdexcept>

#include "modules/backend/backend.h"

#ifdef HANVIT_WITH_CUDA
#include "modules/backend/cuda/cuda_backend.h"
#endif

namespace hanvit {

std::vector<Backend*> available_backends() {
  std::vector<Backend*> backends{&cpu_backend()};
#ifdef HANVIT_WITH_CUDA
  if (cuda_device_count() > 0) backends.push_back(&cuda_backend(0));
#endif
  return backends;
}

Backend& backend_for(Device device) {
  if (device.kind == DeviceKind::cpu) return cpu_backend();
#ifdef HANVIT_WITH_CUDA
  if (device.index < cuda_device_count()) return cuda_backend(device.index);
#endif
  throw std::invalid_argument("no backend for device " + device.str() + " in this build or on this machine");
}

Tensor to_host(const Tensor& t) {
  if (t.device().kind == DeviceKind::cpu) return t.contiguous();
  if (!t.is_contiguous())
    throw std::invalid_argument("to_host needs a contiguous device tensor, got " + t.str());
  Tensor host = Tensor::empty(t.shape(), t.dtype());
  backend_for(t.device()).copy(t, host);
  return host;
}

Tensor to_device(const Tensor& t, Backend& backend) {
  if (t.device() == backend.device()) return t;
  Tensor source = to_host(t);
  Tensor on_device(backend.allocate(source.nbytes()), source.shape(), source.dtype());
  backend.copy(source, on_device);
  return on_device;
}

}  // namespace hanvit
