// GradientBuckets: bucket assignment, ready counting and in-order starts.
#include "modules/dist/gradient_buckets.h"

#include <stdexcept>
#include <string>

namespace hanvit {

GradientBuckets::GradientBuckets(Communicator& comm, const Tensor& flat, std::vector<int64_t> range_numels,
                                 size_t bucket_bytes)
    : comm_(comm) {
  check_collective_tensor(flat, comm.device(), "GradientBuckets flat buffer");
  if (bucket_bytes < sizeof(float))
    throw std::invalid_argument("GradientBuckets: bucket_bytes " + std::to_string(bucket_bytes) +
                                " holds no f32 element");
  const int64_t bucket_numel = static_cast<int64_t>(bucket_bytes / sizeof(float));
  range_offsets_.push_back(0);
  bucket_first_.push_back(0);
  int64_t bucket_size = 0;
  for (size_t i = 0; i < range_numels.size(); ++i) {
    const int64_t n = range_numels[i];
    if (n < 0)
      throw std::invalid_argument("GradientBuckets: range " + std::to_string(i) + " has " + std::to_string(n) +
                                  " elements");
    if (bucket_size > 0 && bucket_size + n > bucket_numel) {
      bucket_first_.push_back(static_cast<int>(i));
      bucket_size = 0;
    }
    bucket_size += n;
    range_bucket_.push_back(static_cast<int>(bucket_first_.size()) - 1);
    range_offsets_.push_back(range_offsets_.back() + n);
  }
  if (!range_numels.empty()) bucket_first_.push_back(static_cast<int>(range_numels.size()));
  if (range_offsets_.back() != flat.numel())
    throw std::invalid_argument("GradientBuckets: the ranges hold " + std::to_string(range_offsets_.back()) +
                                " elements but the flat buffer " + flat.str() + " has " + std::to_string(flat.numel()));
  flat_ = flat.view({flat.numel()});
  ready_.assign(range_numels.size(), false);
  ready_count_.assign(static_cast<size_t>(bucket_count()), 0);
  pending_.resize(static_cast<size_t>(bucket_count()));
}

void GradientBuckets::check_range(int index) const {
  if (index < 0 || index >= range_count())
    throw std::invalid_argument("GradientBuckets: no range " + std::to_string(index) + " (there are " +
                                std::to_string(range_count()) + ")");
}

Tensor GradientBuckets::range(int index) const {
  check_range(index);
  const size_t i = static_cast<size_t>(index);
  return flat_.slice(0, range_offsets_[i], range_offsets_[i + 1]);
}

int GradientBuckets::bucket_of(int range) const {
  check_range(range);
  return range_bucket_[static_cast<size_t>(range)];
}

std::pair<int, int> GradientBuckets::bucket_ranges(int bucket) const {
  if (bucket < 0 || bucket >= bucket_count())
    throw std::invalid_argument("GradientBuckets: no bucket " + std::to_string(bucket) + " (there are " +
                                std::to_string(bucket_count()) + ")");
  return {bucket_first_[static_cast<size_t>(bucket)], bucket_first_[static_cast<size_t>(bucket) + 1]};
}

bool GradientBuckets::started(int bucket) const {
  bucket_ranges(bucket);
  return bucket < next_bucket_;
}

void GradientBuckets::start(int bucket) {
  auto [first, last] = bucket_ranges(bucket);
  const Tensor slice =
      flat_.slice(0, range_offsets_[static_cast<size_t>(first)], range_offsets_[static_cast<size_t>(last)]);
  pending_[static_cast<size_t>(bucket)] = comm_.start_all_reduce_sum(slice);
  next_bucket_ = bucket + 1;
}

void GradientBuckets::mark_ready(int index) {
  check_range(index);
  const size_t i = static_cast<size_t>(index);
  if (ready_[i])
    throw std::invalid_argument("GradientBuckets: range " + std::to_string(index) + " marked ready twice in one step");
  ready_[i] = true;
  ++ready_count_[static_cast<size_t>(range_bucket_[i])];
  while (next_bucket_ < bucket_count()) {
    auto [first, last] = bucket_ranges(next_bucket_);
    if (ready_count_[static_cast<size_t>(next_bucket_)] < last - first) break;
    start(next_bucket_);
  }
  for (int b = 0; b < next_bucket_; ++b) pending_[static_cast<size_t>(b)]->done();
}

void GradientBuckets::finish() {
  while (next_bucket_ < bucket_count()) start(next_bucket_);
  for (auto& pending : pending_) {
    pending->wait();
    pending.reset();
  }
  ready_.assign(ready_.size(), false);
  ready_count_.assign(ready_count_.size(), 0);
  next_bucket_ = 0;
}

}  // namespace hanvit
