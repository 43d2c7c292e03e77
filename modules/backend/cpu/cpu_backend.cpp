// The CPU backend: host memory and the kernel table filled by every op family.
#include <cstring>
#include <stdexcept>

#include "modules/backend/backend.h"
#include "modules/backend/cpu/cpu_kernel_table.h"

namespace hanvit {
namespace {

bool moves_any_dtype(OpKind op) {
  switch (op) {
    case OpKind::cast:
    case OpKind::permute:
    case OpKind::slice:
    case OpKind::slice_backward:
    case OpKind::concat:
    case OpKind::expand:
      return true;
    default:
      return false;
  }
}

CpuKernelTable build_table() {
  CpuKernelTable table;
  register_cpu_elementwise(table);
  register_cpu_matmul(table);
  register_cpu_layout(table);
  register_cpu_reduce(table);
  register_cpu_softmax(table);
  register_cpu_norm(table);
  register_cpu_embedding(table);
  register_cpu_attention(table);
  register_cpu_patches(table);
  return table;
}

class CpuBackend final : public Backend {
 public:
  CpuBackend() : table_(build_table()) {}
  std::string name() const override { return "cpu"; }
  Device device() const override { return Device::cpu(); }
  // f32 compute on the CPU: every op writes f32 (inputs may be i32 ids or u8 masks), except the
  // layout copies, which move elements of any dtype, and casts, which convert between them.
  bool supports(const Node& node) const override {
    return table_.kernels[static_cast<int>(node.op)] != nullptr &&
           (node.dtype == DType::f32 || moves_any_dtype(node.op));
  }
  std::vector<OpKind> supported_ops() const override {
    std::vector<OpKind> ops;
    for (size_t i = 0; i < kOpCount; ++i)
      if (table_.kernels[i]) ops.push_back(static_cast<OpKind>(i));
    return ops;
  }
  void run(const Node& node, std::span<const Tensor> inputs, const Tensor& output) override {
    CpuKernel kernel = table_.kernels[static_cast<int>(node.op)];
    if (!kernel) throw std::invalid_argument("cpu backend has no kernel for " + std::string(op_name(node.op)));
    kernel(node, inputs, output);
  }
  std::shared_ptr<Storage> allocate(size_t bytes) override { return Storage::allocate_host(bytes); }
  void copy(const Tensor& src, const Tensor& dst) override { dst.copy_from(src); }
  void poison(Storage& storage) override { std::memset(storage.data(), 0xff, storage.bytes()); }

 private:
  CpuKernelTable table_;
};

}  // namespace

Backend& cpu_backend() {
  static CpuBackend backend;
  return backend;
}

}  // namespace hanvit
