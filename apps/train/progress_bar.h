// The training progress line on stderr: step, loss, tokens/s and ETA, redrawn in place on a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace hanvit::app {

class ProgressBar {
 public:
  // `total` steps, starting at `first` (a resumed run); `interactive`: redraw one line in place
  // (a terminal), else print a line every `every` steps.
  ProgressBar(int64_t first, int64_t total, bool interactive, int64_t every);
  // After optimizer step `step` (0-based) is done.
  void update(int64_t step, double loss, double tokens_per_second, double lr);
  // Ends the line (before other output, and at the end).
  void finish_line();

 private:
  int64_t first_, total_, every_;
  bool interactive_;
  bool open_ = false;
  std::chrono::steady_clock::time_point start_;
};

// "1m05s", "12s", "2h03m".
std::string format_duration(double seconds);

}  // namespace hanvit::app
