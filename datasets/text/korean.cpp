// Korean particle choice from the final sound of a word's last character (Hangul, digit or Latin letter).
#include "datasets/text/korean.h"

#include <array>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "datasets/text/utf8.h"

namespace hanvit::text {
namespace {

constexpr char32_t kFirstSyllable = 0xAC00, kLastSyllable = 0xD7A3;
constexpr int kFinalConsonants = 28, kFinalRieul = 8;

[[noreturn]] void no_particle(std::string_view word, const std::string& why) {
  throw std::invalid_argument("no Korean particle for \"" + std::string(word) + "\": " + why);
}

FinalSound syllable_sound(char32_t syllable) {
  const int final = static_cast<int>((syllable - kFirstSyllable) % kFinalConsonants);
  if (final == 0) return FinalSound::vowel;
  return final == kFinalRieul ? FinalSound::rieul : FinalSound::other_consonant;
}

// 일 이 삼 사 오 육 칠 팔 구 for 1..9, 영 for 0.
FinalSound digit_sound(char digit) {
  switch (digit) {
    case '1':
    case '7':
    case '8':
      return FinalSound::rieul;  // 일 칠 팔
    case '2':
    case '4':
    case '5':
    case '9':
      return FinalSound::vowel;  // 이 사 오 구
    default:
      return FinalSound::other_consonant;  // 삼 육 영
  }
}

// The last place spoken in a number ending in `zeros` zeros after a non-zero digit.
FinalSound place_sound(std::string_view word, size_t zeros) {
  if (zeros <= 11) return FinalSound::other_consonant;  // 십 백 천, 만 (10^4..10^7), 억 (10^8..10^11)
  if (zeros <= 15) return FinalSound::vowel;            // 조
  if (zeros <= 19) return FinalSound::other_consonant;  // 경
  no_particle(word, "the number ends in " + std::to_string(zeros) + " zeros, past the places read here (경 = 10^16)");
}

FinalSound number_sound(std::string_view word) {
  size_t start = word.size();
  while (start > 0 && word[start - 1] >= '0' && word[start - 1] <= '9') --start;
  const std::string_view digits = word.substr(start);
  const bool after_point = start > 0 && word[start - 1] == '.';
  const size_t last_nonzero = digits.find_last_not_of('0');
  if (digits.back() != '0' || after_point || last_nonzero == std::string_view::npos) return digit_sound(digits.back());
  return place_sound(word, digits.size() - 1 - last_nonzero);
}

FinalSound letter_sound(char letter) {
  switch (letter | 0x20) {  // lower case
    case 'l':
    case 'r':
      return FinalSound::rieul;  // 엘 알
    case 'm':
    case 'n':
      return FinalSound::other_consonant;  // 엠 엔
    default:
      return FinalSound::vowel;
  }
}

std::string code_point_name(char32_t cp) {
  char name[16];
  std::snprintf(name, sizeof name, "U+%04X", static_cast<unsigned>(cp));
  return name;
}

}  // namespace

FinalSound final_sound(std::string_view word) {
  if (word.empty()) throw std::invalid_argument("no Korean particle for an empty word");
  if (const auto bad = first_invalid_utf8(word))
    throw std::invalid_argument("no Korean particle for a word that is not valid UTF-8 (byte " + std::to_string(*bad) +
                                ")");
  const char last_byte = word.back();
  if (last_byte >= '0' && last_byte <= '9') return number_sound(word);
  if ((last_byte >= 'a' && last_byte <= 'z') || (last_byte >= 'A' && last_byte <= 'Z')) return letter_sound(last_byte);
  const std::vector<std::string> characters = utf8_characters(word);
  const char32_t last = decode_utf8(characters.back()).front();
  if (last >= kFirstSyllable && last <= kLastSyllable) return syllable_sound(last);
  no_particle(word, "it ends in " + code_point_name(last) + ", not a Hangul syllable, digit or Latin letter");
}

std::string particle(std::string_view word, Particle p) {
  // {after a consonant, after a vowel}
  static constexpr std::array<std::array<const char*, 2>, 8> kForms = {{
      {"이", "가"},
      {"은", "는"},
      {"을", "를"},
      {"과", "와"},
      {"이랑", "랑"},
      {"아", "야"},
      {"이나", "나"},
      {"으로", "로"},
  }};
  const FinalSound sound = final_sound(word);
  bool vowel_form = sound == FinalSound::vowel;
  if (p == Particle::directional && sound == FinalSound::rieul) vowel_form = true;
  return kForms[static_cast<size_t>(p)][vowel_form ? 1 : 0];
}

std::string with_particle(std::string_view word, Particle p) { return std::string(word) + particle(word, p); }

}  // namespace hanvit::text
