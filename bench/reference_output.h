// The reference side of a benchmark: run its command (a PyTorch script) and scan the lines it prints.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace hanvit::bench {

struct ReferenceOutput {
  std::vector<std::string> lines;  // stdout and stderr, in order
  std::string failure;             // empty when the command started and exited with status 0

  // The first line that `format` scans completely into `values` (std::sscanf), or nullptr.
  template <typename... T>
  const std::string* scan(const char* format, T*... values) const {
    for (const std::string& line : lines)
      if (std::sscanf(line.c_str(), format, values...) == static_cast<int>(sizeof...(T))) return &line;
    return nullptr;
  }
  // Why the reference gave no timing: the failure, else the last line it printed.
  std::string why_missing() const {
    return "PyTorch reference failed: " + (!failure.empty() ? failure : lines.empty() ? "no output" : lines.back());
  }
};

// Runs `command` through the shell with stderr joined to stdout.
inline ReferenceOutput run_reference(const std::string& command) {
  ReferenceOutput out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) {
    out.failure = "could not start: " + command;
    return out;
  }
  char line[1024];
  while (std::fgets(line, sizeof line, pipe)) out.lines.emplace_back(line);
  const int status = pclose(pipe);
  if (status != 0) out.failure = "exit status " + std::to_string(status) + " of: " + command;
  return out;
}

}  // namespace hanvit::bench
