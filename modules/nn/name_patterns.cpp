// Glob matching of parameter names: iterative, with one backtrack point for the last '*'.
#include "modules/nn/name_patterns.h"

namespace hanvit {

bool matches_pattern(std::string_view name, std::string_view pattern) {
  size_t n = 0, p = 0, star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++n;
      ++p;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool matches_any(std::string_view name, const std::vector<std::string>& patterns) {
  for (const std::string& pattern : patterns)
    if (matches_pattern(name, pattern)) return true;
  return false;
}

}  // namespace hanvit
