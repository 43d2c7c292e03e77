// Host allocation and borrowed-memory wrapping for Storage.
#include "modules/tensor/storage.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace hanvit {

std::shared_ptr<Storage> Storage::allocate_host(size_t bytes) {
  size_t rounded = (bytes + 63) / 64 * 64;
  void* data = rounded ? std::aligned_alloc(64, rounded) : nullptr;
  if (rounded && !data) throw std::bad_alloc();
  if (data) std::memset(data, 0, rounded);
  return std::shared_ptr<Storage>(new Storage(data, bytes, Device::cpu(), [data] { std::free(data); }));
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t bytes, Device device,
                                       std::function<void()> release) {
  return std::shared_ptr<Storage>(new Storage(data, bytes, device, std::move(release)));
}

Storage::~Storage() {
  if (release_) release_();
}

}  // namespace hanvit
