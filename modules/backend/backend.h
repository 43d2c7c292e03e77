// The interface a compute backend plugs in with: which ops it supports, how it runs one node,
// where its memory comes from, and (where the device can) capturing work for replay.
// The graph core knows nothing about devices beyond this.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "modules/graph/graph.h"

namespace hanvit {

// Work recorded once by Backend::capture and launched again by replay() (a CUDA graph).
class CapturedWork {
 public:
  virtual ~CapturedWork() = default;
  virtual void replay() = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual Device device() const = 0;
  // Whether run() can execute this node (its op and dtypes).
  virtual bool supports(const Node& node) const = 0;
  // Ops with a kernel on this backend (leaves and views need none).
  virtual std::vector<OpKind> supported_ops() const = 0;
  // inputs and output are contiguous tensors on device(); output has the node's shape/dtype.
  // Asynchronous on devices with a queue: synchronize() waits.
  virtual void run(const Node& node, std::span<const Tensor> inputs, const Tensor& output) = 0;
  virtual std::shared_ptr<Storage> allocate(size_t bytes) = 0;
  // Copies between the host and this backend's device, either way, or within the device (same
  // shape and dtype, contiguous). Returns once the destination may be read by the host (a copy
  // to the host) or by later work on this backend (a copy to the device).
  virtual void copy(const Tensor& src, const Tensor& dst) = 0;
  virtual void synchronize() {}
  // Fills memory with NaN bit patterns (all ones), so a kernel that leaves output unwritten is
  // caught by tests.
  virtual void poison(Storage& storage) = 0;
  // Records the device work that `body` issues and returns it for replay, or nullptr when this
  // backend cannot capture (the CPU).
  virtual std::unique_ptr<CapturedWork> capture(const std::function<void()>& body) {
    (void)body;
    return nullptr;
  }
};

// The CPU backend (always present) and, when built with CUDA and a GPU is visible, CUDA:0.
Backend& cpu_backend();
std::vector<Backend*> available_backends();
// The backend owning `device`; throws naming the device when there is none.
Backend& backend_for(Device device);
// A contiguous host copy of `t` (t itself when it is already a contiguous host tensor).
Tensor to_host(const Tensor& t);
// A contiguous copy of host tensor `t` on `backend`'s device (t itself for the CPU).
Tensor to_device(const Tensor& t, Backend& backend);

}  // namespace hanvit
