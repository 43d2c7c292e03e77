// The Unicode tables of the tokenizer.json pipeline (generated into unicode_data.cpp), sorted by code point.
#pragma once

#include <cstdint>
#include <span>

namespace hanvit::language::unicode {

struct CodePointRange {
  char32_t first;
  char32_t last;  // inclusive
};

struct CombiningClassRange {
  char32_t first;
  char32_t last;  // inclusive
  uint8_t combining_class;
};

// One level of a character's decomposition: decomposition_code_points()[start, start + length).
struct Decomposition {
  char32_t code_point;
  uint16_t start;
  uint8_t length;
  bool compatibility;  // a <tag> mapping (NFKC/NFKD only)
};

// first + second compose canonically to composite (primary composites only; Hangul is arithmetic).
struct Composition {
  char32_t first;
  char32_t second;
  char32_t composite;
};

std::span<const CodePointRange> letter_ranges();       // general category L*
std::span<const CodePointRange> number_ranges();       // general category N*
std::span<const CodePointRange> white_space_ranges();  // property White_Space
std::span<const CombiningClassRange> combining_class_ranges();
std::span<const Decomposition> decompositions();
std::span<const char32_t> decomposition_code_points();
std::span<const Composition> compositions();  // sorted by (first, second)

}  // namespace hanvit::language::unicode
