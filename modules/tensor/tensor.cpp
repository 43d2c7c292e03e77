// Tensor views, strided copies and dtype conversion on the host.
#include "modules/tensor/tensor.h"

#include <cstring>

namespace hanvit {
namespace {

double load_value(const void* base, int64_t index, DType dtype) {
  switch (dtype) {
    case DType::f32: return static_cast<const float*>(base)[index];
    case DType::bf16: return bf16_to_f32(static_cast<const uint16_t*>(base)[index]);
    case DType::f16: return f16_to_f32(static_cast<const uint16_t*>(base)[index]);
    case DType::i32: return static_cast<const int32_t*>(base)[index];
    case DType::u8: return static_cast<const uint8_t*>(base)[index];
  }
  return 0;
}

void store_value(void* base, int64_t index, DType dtype, double value) {
  switch (dtype) {
    case DType::f32: static_cast<float*>(base)[index] = static_cast<float>(value); return;
    case DType::bf16: static_cast<uint16_t*>(base)[index] = f32_to_bf16(static_cast<float>(value)); return;
    case DType::f16: static_cast<uint16_t*>(base)[index] = f32_to_f16(static_cast<float>(value)); return;
    case DType::i32: static_cast<int32_t*>(base)[index] = static_cast<int32_t>(value); return;
    case DType::u8: static_cast<uint8_t*>(base)[index] = static_cast<uint8_t>(value); return;
  }
}

// Calls fn(element offset) for every element of (shape, strides) in row-major order.
template <typename Fn>
void for_each_offset(const Shape& shape, const Shape& strides, int64_t offset, Fn&& fn) {
  int64_t n = numel(shape);
  if (n == 0) return;
  std::vector<int64_t> index(shape.size(), 0);
  int64_t at = offset;
  for (int64_t i = 0; i < n; ++i) {
    fn(at);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++index[d] < shape[d]) {
        at += strides[d];
        break;
      }
      at -= strides[d] * (shape[d] - 1);
      index[d] = 0;
    }
  }
}

void require_host(const Tensor& t, const char* what) {
  if (t.device().kind != DeviceKind::cpu)
    throw std::invalid_argument(std::string(what) + " needs a host tensor, got one on " +
                                t.device().str());
}

}  // namespace

Tensor::Tensor(std::shared_ptr<Storage> storage, Shape shape, DType dtype, int64_t offset)
    : storage_(std::move(storage)), shape_(std::move(shape)), offset_(offset), dtype_(dtype) {
  strides_ = contiguous_strides(shape_);
  if (storage_ && (offset_ + numel()) * static_cast<int64_t>(dtype_size(dtype_)) >
                      static_cast<int64_t>(storage_->bytes()))
    throw std::invalid_argument("tensor " + str() + " at offset " + std::to_string(offset_) +
                                " does not fit its storage of " +
                                std::to_string(storage_->bytes()) + " bytes");
}

Tensor::Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset, DType dtype)
    : storage_(std::move(storage)), shape_(std::move(shape)), strides_(std::move(strides)),
      offset_(offset), dtype_(dtype) {}

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  for (int64_t d : shape)
    if (d < 0) throw std::invalid_argument("negative dimension in shape " + shape_str(shape));
  return Tensor(Storage::allocate_host(static_cast<size_t>(hanvit::numel(shape)) * dtype_size(dtype)),
                shape, dtype);
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype) {
  Tensor t = empty(shape, dtype);
  t.fill(value);
  return t;
}

Tensor Tensor::from_values(const Shape& shape, std::span<const double> values, DType dtype) {
  if (static_cast<int64_t>(values.size()) != hanvit::numel(shape))
    throw std::invalid_argument("tensor of shape " + shape_str(shape) + " needs " +
                                std::to_string(hanvit::numel(shape)) + " values, got " +
                                std::to_string(values.size()));
  Tensor t = empty(shape, dtype);
  for (size_t i = 0; i < values.size(); ++i) store_value(t.raw_data(), static_cast<int64_t>(i), dtype, values[i]);
  return t;
}

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (size_t i = shape_.size(); i-- > 0;) {
    if (shape_[i] != 1 && strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  if (!storage_) throw std::invalid_argument("tensor has no storage");
  return static_cast<char*>(storage_->data()) + offset_ * static_cast<int64_t>(dtype_size(dtype_));
}

Tensor Tensor::view(const Shape& shape) const {
  if (!is_contiguous())
    throw std::invalid_argument("view " + shape_str(shape) + " of non-contiguous tensor " + str());
  Shape resolved = shape;
  int64_t known = 1;
  int inferred = -1;
  for (size_t i = 0; i < resolved.size(); ++i) {
    if (resolved[i] == -1) {
      if (inferred >= 0) throw std::invalid_argument("view " + shape_str(shape) + " has two -1 dims");
      inferred = static_cast<int>(i);
    } else {
      known *= resolved[i];
    }
  }
  if (inferred >= 0 && known > 0) resolved[inferred] = numel() / known;
  if (hanvit::numel(resolved) != numel())
    throw std::invalid_argument("view " + shape_str(shape) + " of tensor " + str() +
                                ": element counts differ");
  return Tensor(storage_, resolved, contiguous_strides(resolved), offset_, dtype_);
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  if (dims.size() != rank())
    throw std::invalid_argument("permute of " + str() + " needs " + std::to_string(rank()) + " dims");
  Shape shape(rank()), strides(rank());
  std::vector<bool> seen(rank(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    int d = normalize_axis(dims[i], rank());
    if (seen[d]) throw std::invalid_argument("permute of " + str() + " repeats dim " + std::to_string(d));
    seen[d] = true;
    shape[i] = shape_[d];
    strides[i] = strides_[d];
  }
  return Tensor(storage_, shape, strides, offset_, dtype_);
}

Tensor Tensor::transpose(int64_t a, int64_t b) const {
  std::vector<int64_t> dims(rank());
  for (size_t i = 0; i < rank(); ++i) dims[i] = static_cast<int64_t>(i);
  std::swap(dims[normalize_axis(a, rank())], dims[normalize_axis(b, rank())]);
  return permute(dims);
}

Tensor Tensor::slice(int64_t axis, int64_t start, int64_t end, int64_t step) const {
  int d = normalize_axis(axis, rank());
  if (step < 1 || start < 0 || end > shape_[d] || start > end)
    throw std::invalid_argument("slice [" + std::to_string(start) + ":" + std::to_string(end) + ":" +
                                std::to_string(step) + "] of axis " + std::to_string(d) +
                                " out of range for " + str());
  Shape shape = shape_, strides = strides_;
  shape[d] = (end - start + step - 1) / step;
  strides[d] = strides_[d] * step;
  return Tensor(storage_, shape, strides, offset_ + start * strides_[d], dtype_);
}

Tensor Tensor::expand(const Shape& shape) const {
  if (shape.size() < rank())
    throw std::invalid_argument("expand of " + str() + " to lower rank " + shape_str(shape));
  size_t lead = shape.size() - rank();
  Shape strides(shape.size(), 0);
  for (size_t i = 0; i < rank(); ++i) {
    if (shape_[i] == shape[lead + i]) {
      strides[lead + i] = strides_[i];
    } else if (shape_[i] != 1) {
      throw std::invalid_argument("expand of " + str() + " to " + shape_str(shape));
    }
  }
  return Tensor(storage_, shape, strides, offset_, dtype_);
}

Tensor Tensor::reshape(const Shape& shape) const {
  return is_contiguous() ? view(shape) : contiguous().view(shape);
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::clone() const {
  Tensor out = empty(shape_, dtype_);
  out.copy_from(*this);
  return out;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return *this;
  Tensor out = empty(shape_, dtype);
  out.copy_from(*this);
  return out;
}

void Tensor::copy_from(const Tensor& src) const {
  require_host(*this, "copy_from");
  require_host(src, "copy_from");
  if (src.shape() != shape_)
    throw std::invalid_argument("copy from " + src.str() + " into " + str() + ": shapes differ");
  if (src.dtype() == dtype_ && is_contiguous() && src.is_contiguous()) {
    std::memmove(raw_data(), src.raw_data(), nbytes());
    return;
  }
  std::vector<int64_t> source_offsets;
  source_offsets.reserve(static_cast<size_t>(numel()));
  for_each_offset(src.shape_, src.strides_, src.offset_, [&](int64_t at) { source_offsets.push_back(at); });
  const void* src_base = src.storage_->data();
  void* dst_base = storage_->data();
  size_t i = 0;
  for_each_offset(shape_, strides_, offset_, [&](int64_t at) {
    store_value(dst_base, at, dtype_, load_value(src_base, source_offsets[i++], src.dtype_));
  });
}

void Tensor::fill(double value) const {
  require_host(*this, "fill");
  void* base = storage_->data();
  for_each_offset(shape_, strides_, offset_, [&](int64_t at) { store_value(base, at, dtype_, value); });
}

double Tensor::item() const {
  if (numel() != 1) throw std::invalid_argument("item() of tensor " + str() + " with many values");
  return to_f64()[0];
}

std::vector<double> Tensor::to_f64() const {
  require_host(*this, "to_f64");
  std::vector<double> out;
  out.reserve(static_cast<size_t>(numel()));
  const void* base = storage_->data();
  for_each_offset(shape_, strides_, offset_, [&](int64_t at) { out.push_back(load_value(base, at, dtype_)); });
  return out;
}

std::string Tensor::str() const { return std::string(dtype_name(dtype_)) + shape_str(shape_); }

}  // namespace hanvit
