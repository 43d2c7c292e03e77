// Tensor: a typed, strided view (shape, strides, offset) into refcounted device storage.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "modules/tensor/dtype.h"
#include "modules/tensor/shape.h"
#include "modules/tensor/storage.h"

namespace hanvit {

template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<int32_t>() { return DType::i32; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::u8; }

class Tensor {
 public:
  Tensor() = default;
  // A contiguous view over the whole of `storage` starting at `offset` elements.
  Tensor(std::shared_ptr<Storage> storage, Shape shape, DType dtype, int64_t offset = 0);
  Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset, DType dtype);

  static Tensor empty(const Shape& shape, DType dtype);  // host, zero-filled
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32) { return empty(shape, dtype); }
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32);
  // Values given as doubles and stored converted to `dtype`.
  static Tensor from_values(const Shape& shape, std::span<const double> values,
                            DType dtype = DType::f32);
  template <typename T>
  static Tensor from_vector(const Shape& shape, const std::vector<T>& values) {
    if (static_cast<int64_t>(values.size()) != hanvit::numel(shape))
      throw std::invalid_argument("tensor of shape " + shape_str(shape) + " needs " +
                                  std::to_string(hanvit::numel(shape)) + " values, got " +
                                  std::to_string(values.size()));
    Tensor t = empty(shape, dtype_of<T>());
    std::copy(values.begin(), values.end(), t.data<T>());
    return t;
  }

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t offset() const { return offset_; }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device() : Device::cpu(); }
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  size_t rank() const { return shape_.size(); }
  int64_t dim(int64_t axis) const { return shape_[normalize_axis(axis, rank())]; }
  int64_t numel() const { return hanvit::numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  bool is_contiguous() const;

  void* raw_data() const;
  template <typename T>
  T* data() const {
    if (dtype_ != dtype_of<T>())
      throw std::invalid_argument("tensor holds " + std::string(dtype_name(dtype_)) + ", not " +
                                  std::string(dtype_name(dtype_of<T>())));
    return static_cast<T*>(raw_data());
  }

  // Views: no copy; they share storage with this tensor.
  Tensor view(const Shape& shape) const;  // needs a contiguous tensor; one dim may be -1
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor transpose(int64_t a, int64_t b) const;
  Tensor slice(int64_t axis, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor expand(const Shape& shape) const;  // broadcast size-1 dims with stride 0

  // A view when possible, else a contiguous copy reshaped.
  Tensor reshape(const Shape& shape) const;
  Tensor contiguous() const;  // this tensor if already contiguous
  Tensor clone() const;       // always a fresh contiguous copy
  Tensor to(DType dtype) const;
  // Copies values (converting dtype) from a tensor of the same shape into this view.
  void copy_from(const Tensor& src) const;
  void fill(double value) const;

  double item() const;                 // the single value of a one-element tensor
  std::vector<double> to_f64() const;  // all values in row-major order
  std::string str() const;             // "f32(2,3)"

 private:
  std::shared_ptr<Storage> storage_;
  Shape shape_;
  Shape strides_;
  int64_t offset_ = 0;
  DType dtype_ = DType::f32;
};

}  // namespace hanvit
