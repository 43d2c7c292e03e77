// Parameter name patterns ("vision.*", "fusion.blocks.?.q_proj.*"): '*' matches any run of characters
// (dots included), '?' any one character; everything else matches itself.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hanvit {

bool matches_pattern(std::string_view name, std::string_view pattern);
// True when any of `patterns` matches `name`.
bool matches_any(std::string_view name, const std::vector<std::string>& patterns);

}  // namespace hanvit
