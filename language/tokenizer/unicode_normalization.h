// Unicode normalization forms (UAX #15) for tokenizer.json normalizers: NFC, NFD, NFKC, NFKD.
#pragma once

#include <string>
#include <string_view>

namespace hanvit::language::unicode {

enum class NormalizationForm { nfc, nfd, nfkc, nfkd };

// `text` (valid UTF-8) in the normalization form: full decomposition (canonical, or compatibility for the K
// forms; Hangul syllables by arithmetic), canonical ordering of combining marks, and canonical composition for
// NFC / NFKC. Tables from the Unicode version of unicode_data.cpp.
std::string normalize(std::string_view text, NormalizationForm form);

}  // namespace hanvit::language::unicode
