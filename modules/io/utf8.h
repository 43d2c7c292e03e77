// UTF-8 validation (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
#pragma once

#include <cstddef>
#include <string_view>

namespace hanvit {

// Byte index of the first ill-formed sequence in `text`, or std::string_view::npos when valid.
size_t find_invalid_utf8(std::string_view text);

}  // namespace hanvit
