// The interface a compute backend plugs in with: which ops it supports, how it runs one node,
// and where its memory comes from. The graph core knows nothing about devices beyond this.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "modules/graph/graph.h"

namespace hanvit {

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
  virtual void run(const Node& node, std::span<const Tensor> inputs, const Tensor& output) = 0;
  virtual std::shared_ptr<Storage> allocate(size_t bytes) = 0;
  // Copies between host and this backend's device (same shape and dtype, contiguous).
  virtual void copy(const Tensor& src, const Tensor& dst) = 0;
  virtual void synchronize() {}
};

// The CPU backend (always present) and, when built with CUDA and a GPU is visible, CUDA:0.
Backend& cpu_backend();
std::vector<Backend*> available_backends();

}  // namespace hanvit
