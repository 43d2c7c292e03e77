// Training metrics log: one JSON object per line in RUN_DIR/metrics.jsonl, appended durably and read back.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace hanvit::app {

// The log's file name inside a run folder.
inline constexpr const char* kMetricsFileName = "metrics.jsonl";

// One line of the log: {"step": 120, "split": "train", "loss": 2.31, "lr": 0.0003}.
// A value that is not finite is written as null and read back as NaN.
struct MetricsRecord {
  int64_t step = 0;
  std::string split;                     // "train" or "val"
  std::map<std::string, double> values;  // metric name ([A-Za-z0-9_-], at most 64 bytes) -> value
};

// Appends records to RUN_DIR/metrics.jsonl. Each line goes out in one write() and is fsynced before
// append() returns, so a killed run leaves at most its last line torn; opening a log whose last line
// is torn cuts that line off, so that new lines never join it.
class MetricsLog {
 public:
  // Opens (or creates) the log in the existing folder `run_dir`; throws std::invalid_argument naming the
  // file when it cannot be opened.
  explicit MetricsLog(const std::string& run_dir);
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;
  ~MetricsLog();

  // Throws std::invalid_argument for a negative step, a split other than "train"/"val", no values or a
  // bad metric name; std::runtime_error when the write or fsync fails.
  void append(const MetricsRecord& record);

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

// Keeps the records of steps up to `last_step` in the log at `path` (rewritten atomically; no file: nothing
// to do): a run resumed from a checkpoint drops what the killed run logged after it.
void truncate_metrics(const std::string& path, int64_t last_step);

// Reads a metrics log, in file order. A torn last line (no newline at its end and not a valid record)
// is ignored; any other bad line throws std::invalid_argument "FILE:LINE: reason". A missing file
// throws std::invalid_argument naming it.
std::vector<MetricsRecord> read_metrics(const std::string& path);

}  // namespace hanvit::app
