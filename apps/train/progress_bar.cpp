// ProgressBar: "[=====>    ] 120/600 loss 1.234 | 5.1k tok/s | lr 3.0e-04 | ETA 2m10s".
#include "apps/train/progress_bar.h"

#include <cstdio>

namespace hanvit::app {

std::string format_duration(double seconds) {
  const auto s = static_cast<long long>(seconds + 0.5);
  char text[32];
  if (s >= 3600)
    std::snprintf(text, sizeof(text), "%lldh%02lldm", s / 3600, s % 3600 / 60);
  else if (s >= 60)
    std::snprintf(text, sizeof(text), "%lldm%02llds", s / 60, s % 60);
  else
    std::snprintf(text, sizeof(text), "%llds", s);
  return text;
}

ProgressBar::ProgressBar(int64_t first, int64_t total, bool interactive, int64_t every)
    : first_(first), total_(total), every_(every < 1 ? 1 : every), interactive_(interactive),
      start_(std::chrono::steady_clock::now()) {}

void ProgressBar::update(int64_t step, double loss, double tokens_per_second, double lr) {
  const int64_t done = step + 1;
  if (!interactive_ && done % every_ != 0 && done != total_) return;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = seconds > 0 ? static_cast<double>(done - first_) / seconds : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0.0;
  constexpr int kWidth = 24;
  const int filled = total_ > 0 ? static_cast<int>(kWidth * done / total_) : kWidth;
  char bar[kWidth + 1];
  for (int i = 0; i < kWidth; ++i) bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
  bar[kWidth] = '\0';
  std::fprintf(stderr, "%s[%s] %lld/%lld loss %.4f | %.0f tok/s | lr %.1e | ETA %s%s", interactive_ ? "\r" : "", bar,
               static_cast<long long>(done), static_cast<long long>(total_), loss, tokens_per_second, lr,
               format_duration(eta).c_str(), interactive_ ? "   " : "\n");
  std::fflush(stderr);
  open_ = interactive_;
}

void ProgressBar::finish_line() {
  if (!open_) return;
  std::fputc('\n', stderr);
  open_ = false;
}

}  // namespace hanvit::app
