// MetricsLog: whole-line appends with fsync, torn-tail repair on open; read_metrics: validated read-back.
#include "apps/train/metrics_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "modules/io/atomic_file.h"
#include "modules/io/json_strict.h"

namespace hanvit::app {
namespace {

constexpr size_t kMaxMetricNameBytes = 64;
constexpr size_t kTailChunkBytes = 4096;

// Empty when `name` may name a metric, else why not.
std::string metric_name_problem(const std::string& name) {
  if (name.empty()) return "a metric name is empty";
  if (name.size() > kMaxMetricNameBytes) return "metric name '" + name + "' is longer than 64 bytes";
  for (char c : name) {
    const bool allowed =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!allowed) return "metric name '" + name + "' has a character other than A-Z a-z 0-9 _ -";
  }
  if (name == "step" || name == "split") return "metric name '" + name + "' is reserved";
  return {};
}

[[noreturn]] void throw_os_error(const std::string& path, const char* action) {
  throw std::runtime_error("metrics log '" + path + "': " + action + " failed: " + std::strerror(errno));
}

// The size of the file once a last line without a newline is cut off: just past the last '\n', or 0.
off_t size_without_torn_tail(int fd, const std::string& path) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) throw_os_error(path, "fstat");
  off_t end = info.st_size;
  char chunk[kTailChunkBytes];
  while (end > 0) {
    const off_t start = end > static_cast<off_t>(kTailChunkBytes) ? end - static_cast<off_t>(kTailChunkBytes) : 0;
    const ssize_t got = ::pread(fd, chunk, static_cast<size_t>(end - start), start);
    if (got != end - start) throw_os_error(path, "read");
    for (ssize_t i = got; i > 0; --i) {
      if (chunk[i - 1] == '\n') return start + i;
    }
    end = start;
  }
  return 0;
}

void fsync_folder(const std::string& folder, const std::string& path) {
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) throw_os_error(path, "opening its folder");
  const int result = ::fsync(dir);
  ::close(dir);
  if (result != 0) throw_os_error(path, "fsync of its folder");
}

// The record on one line; throws std::invalid_argument with the reason alone.
MetricsRecord parse_record(const std::string& line) {
  const nlohmann::json object = parse_json_strict(line, "line");
  if (!object.is_object()) throw std::invalid_argument("line is not a JSON object");
  MetricsRecord record;
  const auto step = object.find("step");
  if (step == object.end()) throw std::invalid_argument("'step' is missing");
  if (!step->is_number_integer() || step->get<int64_t>() < 0)
    throw std::invalid_argument("'step' is not a non-negative integer: " + step->dump());
  record.step = step->get<int64_t>();
  const auto split = object.find("split");
  if (split == object.end()) throw std::invalid_argument("'split' is missing");
  if (!split->is_string() || (*split != "train" && *split != "val"))
    throw std::invalid_argument("'split' is not \"train\" or \"val\": " + split->dump());
  record.split = split->get<std::string>();
  for (const auto& [name, value] : object.items()) {
    if (name == "step" || name == "split") continue;
    if (std::string problem = metric_name_problem(name); !problem.empty()) throw std::invalid_argument(problem);
    if (value.is_null()) {
      record.values[name] = std::numeric_limits<double>::quiet_NaN();
    } else if (value.is_number()) {
      record.values[name] = value.get<double>();
    } else {
      throw std::invalid_argument("metric '" + name + "' is not a number: " + value.dump());
    }
  }
  return record;
}

}  // namespace

MetricsLog::MetricsLog(const std::string& run_dir)
    : path_((std::filesystem::path(run_dir) / kMetricsFileName).string()) {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw std::invalid_argument("metrics log '" + path_ + "' cannot be opened: " + std::strerror(errno));
  }
  try {
    const off_t kept = size_without_torn_tail(fd_, path_);
    struct stat info {};
    if (::fstat(fd_, &info) != 0) throw_os_error(path_, "fstat");
    if (kept != info.st_size && (::ftruncate(fd_, kept) != 0 || ::fsync(fd_) != 0)) {
      throw_os_error(path_, "cutting off the torn last line");
    }
    fsync_folder(run_dir, path_);
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

MetricsLog::~MetricsLog() { ::close(fd_); }

namespace {

// One record as its line: {"step":..,"split":..,<name>:<value or null>...} and a newline.
std::string metrics_line(const MetricsRecord& record) {
  nlohmann::ordered_json line;
  line["step"] = record.step;
  line["split"] = record.split;
  for (const auto& [name, value] : record.values) line[name] = std::isfinite(value) ? nlohmann::ordered_json(value) : nullptr;
  return line.dump() + "\n";
}

}  // namespace

void MetricsLog::append(const MetricsRecord& record) {
  auto refuse = [&](const std::string& problem) {
    throw std::invalid_argument("metrics log '" + path_ + "': step " + std::to_string(record.step) + ": " + problem);
  };
  if (record.step < 0) refuse("the step is negative");
  if (record.split != "train" && record.split != "val") refuse("split '" + record.split + "' is not train or val");
  if (record.values.empty()) refuse("no metric values");
  for (const auto& [name, value] : record.values)
    if (std::string problem = metric_name_problem(name); !problem.empty()) refuse(problem);
  const std::string bytes = metrics_line(record);
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t count = ::write(fd_, bytes.data() + written, bytes.size() - written);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) throw_os_error(path_, "write");
    written += static_cast<size_t>(count);
  }
  if (::fsync(fd_) != 0) throw_os_error(path_, "fsync");
}

std::vector<MetricsRecord> read_metrics(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    throw std::invalid_argument("metrics file '" + path + "' is missing");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("metrics file '" + path + "' cannot be opened");
  std::vector<MetricsRecord> records;
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    const bool ends_with_newline = !in.eof();
    try {
      records.push_back(parse_record(line));
    } catch (const std::invalid_argument& e) {
      if (!ends_with_newline) break;  // torn by a run killed mid-write
      throw std::invalid_argument(path + ":" + std::to_string(number) + ": " + e.what());
    }
  }
  if (in.bad()) throw std::invalid_argument("metrics file '" + path + "' cannot be read");
  return records;
}

void truncate_metrics(const std::string& path, int64_t last_step) {
  if (!std::filesystem::exists(path)) return;
  std::string kept;
  for (const MetricsRecord& record : read_metrics(path))
    if (record.step <= last_step) kept += metrics_line(record);
  write_text_atomically(path, kept);
}

}  // namespace hanvit::app
