// Bucketed all-reduce of one flat gradient buffer, started bucket by bucket while the backward
// pass still runs (data-parallel training).
#pragma once

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

#include "modules/dist/communicator.h"

namespace hanvit {

// `flat` holds every trained parameter's gradient as consecutive ranges: range 0 starts at
// element 0 and each next range starts where the previous ends, in the order the backward pass
// finishes them (the reverse of the forward). Consecutive ranges are grouped into buckets of at
// most `bucket_bytes` (a larger range gets a bucket of its own). When the last range of a bucket
// is marked ready, that bucket's slice is all-reduced without blocking.
//
// Buckets start in index order on every rank (a bucket whose ranges are ready waits for the
// buckets before it), so ranks that mark ranges in different orders still issue the same
// sequence of collectives. The result is the SUM over ranks: dividing by the world size or by
// a global token count is left to the caller.
class GradientBuckets {
 public:
  static constexpr size_t kDefaultBucketBytes = size_t{25} << 20;

  // flat: contiguous f32 on comm.device(), numel = the sum of range_numels.
  GradientBuckets(Communicator& comm, const Tensor& flat, std::vector<int64_t> range_numels,
                  size_t bucket_bytes = kDefaultBucketBytes);

  int range_count() const { return static_cast<int>(range_offsets_.size()) - 1; }
  // Range `index` of the flat buffer: a contiguous (numel,) view to write that gradient into.
  Tensor range(int index) const;
  int bucket_count() const { return static_cast<int>(bucket_first_.size()) - 1; }
  int bucket_of(int range) const;
  // Ranges [first, last) of bucket `bucket`.
  std::pair<int, int> bucket_ranges(int bucket) const;
  bool started(int bucket) const;

  // Range `index` holds this step's gradient: starts every bucket that is now complete and
  // preceded only by started buckets. Throws when the range was already marked this step.
  void mark_ready(int index);
  // Starts the buckets not started yet (their unmarked ranges are reduced as they are), waits
  // for every bucket and resets the marks for the next step. On the host the sums are then in
  // `flat`; on CUDA, later work on the backend's stream is ordered after them. Between the first
  // start and finish(), started buckets' ranges must not be written.
  void finish();

 private:
  Communicator& comm_;
  Tensor flat_;                                             // (numel,)
  std::vector<int64_t> range_offsets_;                      // range_count + 1 element offsets
  std::vector<int> range_bucket_;                           // by range
  std::vector<int> bucket_first_;                           // bucket_count + 1 range indices
  std::vector<bool> ready_;                                 // by range, this step
  std::vector<int> ready_count_;                            // by bucket, this step
  std::vector<std::unique_ptr<PendingReduction>> pending_;  // by bucket, once started
  int next_bucket_ = 0;                                     // the first bucket not started

  void check_range(int index) const;
  void start(int bucket);
};

}  // namespace hanvit
