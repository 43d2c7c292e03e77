// The training loader: deterministic shuffled, sharded batches of pixels, tokens and masks, prefetched by worker
// threads.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "datasets/formats/record_log.h"
#include "datasets/formats/sample.h"
#include "datasets/loader/epoch_order.h"
#include "datasets/loader/loader_position.h"
#include "datasets/loader/token_layout.h"
#include "modules/tensor/tensor.h"

namespace hanvit::data {

// Decodes one image to a (3, H, W) f32 tensor, the same H, W for every image; throws when it
// cannot. Called from the worker threads at once: it must be thread-safe.
using ImageFunction = std::function<Tensor(const std::filesystem::path&)>;

struct LoaderOptions {
  size_t batch_size = 1;  // per rank
  size_t max_tokens = 0;  // longer sequences are cut from the end; 0 = no limit
  uint64_t seed = 0;
  bool shuffle = true;
  size_t rank = 0, world_size = 1;
  bool drop_last = false;       // drop each epoch's last partial global batch (see plan_rank)
  size_t workers = 0;           // decoding threads; 0 = decode inside next()
  size_t prefetch_batches = 2;  // how far the workers may run ahead of the consumer
  // Batches of similar token length (group_by_length over windows of 50 global batches): less padding.
  bool group_by_length = false;
};

// One batch of B samples, T = the longest token sequence among them.
struct Batch {
  Tensor pixels;                     // (B, 3, H, W) f32
  Tensor tokens;                     // (B, T) i32, right-padded with the pad id (eos when there is no pad)
  Tensor attention_mask;             // (B, T) u8, 1 on real tokens
  Tensor loss_mask;                  // (B, T) f32, 1 where tokens[b, t] is a training target
  std::vector<size_t> indices;       // (B) positions in the loader's sample list
  std::vector<std::string> sources;  // (B) each sample's "file:line"
  uint64_t epoch = 0;
  size_t step = 0;
  // B is 0 (and the tensors undefined) when every sample of this step was bad, or when this
  // rank's share of the epoch's last global batch is empty: the step still counts, so that all
  // ranks take the same number of steps.
  size_t size() const { return indices.size(); }
};

// Yields the batches of epoch 0, 1, 2, ... in an order fixed by (seed, epoch, rank, world_size)
// alone, whatever the number of workers. A sample whose image cannot be decoded (or is not
// (3, H, W) f32 like the rest of its batch), or that keeps no target token within max_tokens, is
// left out of its batch and reported once through log.skip("<image path>" or source, reason),
// which throws from next() when the log is strict. A caption sample with several captions trains
// on one per epoch, chosen by (seed, epoch, index).
class Loader {
 public:
  Loader(std::vector<Sample> samples, ImageFunction image, TextEncoder text, LoaderOptions options, RecordLog& log);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // The next batch of the current epoch; nullopt once the epoch is over, after which the
  // position is the start of the next epoch.
  std::optional<Batch> next();

  size_t steps_per_epoch() const {
    std::lock_guard lock(mutex_);
    return plan_.steps();
  }
  size_t size() const { return samples_.size(); }
  const std::vector<Sample>& samples() const { return samples_; }
  LoaderPosition position() const;
  // Continues from a saved position: the batches that follow are those the loader that saved it
  // would have yielded. Throws std::invalid_argument when the position does not fit this loader.
  void restore(const LoaderPosition& position);

 private:
  // One sample made ready by a worker: pixels and tokens, or why it is bad.
  struct Prepared {
    Tensor pixels;
    TokenizedSample text;
    std::string where, error;  // set when bad
  };

  Prepared prepare(size_t index, uint64_t epoch) const;
  void start_epoch(uint64_t epoch);  // mutex_ held
  void work();
  Batch assemble(std::vector<Prepared> items, const std::vector<size_t>& indices, uint64_t epoch, size_t step);

  std::vector<Sample> samples_;
  ImageFunction image_;
  TextEncoder text_;
  LoaderOptions options_;
  RecordLog& log_;
  int32_t pad_id_;
  std::vector<char> reported_;  // (N) bad samples already logged
  std::vector<size_t> lengths_;  // (N) token count of each sample's first layout, with group_by_length

  // Shared with the workers, under mutex_.
  mutable std::mutex mutex_;
  std::condition_variable work_cv_, ready_cv_;
  uint64_t epoch_ = 0;
  size_t step_ = 0;
  RankPlan plan_;
  std::vector<std::optional<Prepared>> ready_;  // per position of plan_.order
  size_t next_claim_ = 0, consumed_ = 0;
  uint64_t generation_ = 0;  // bumped when the plan changes: older results are dropped
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace hanvit::data
