// Korean particles (조사) that follow a word's last sound: 이/가, 은/는, 을/를, 과/와, 이랑/랑, 아/야, 이나/나, (으)로.
#pragma once

#include <string>
#include <string_view>

namespace hanvit::text {

// The particle pairs; the first form follows a final consonant (받침), the second a vowel.
enum class Particle {
  subject,      // 이 / 가
  topic,        // 은 / 는
  object,       // 을 / 를
  conjunctive,  // 과 / 와       ("and", written)
  comitative,   // 이랑 / 랑     ("and", spoken)
  vocative,     // 아 / 야
  alternative,  // 이나 / 나     ("or")
  directional,  // 으로 / 로     (ㄹ받침 takes 로 like a vowel: 물로, 서울로; 책으로; 학교로)
};

// How the last character of a word is read aloud:
// - a Hangul syllable (U+AC00..U+D7A3): its final-consonant index, (cp - 0xAC00) % 28
//   (0 = none, 8 = ㄹ);
// - an ASCII digit: the trailing run of digits is read as a Sino-Korean number, so the word
//   ends in the last digit's name (1 일, 2 이, 3 삼, 4 사, 5 오, 6 육, 7 칠, 8 팔, 9 구, 0 영),
//   or, when the number ends in zeros, in the name of its last place: 10 십, 100 백, 1000 천,
//   10^4..10^7 만, 10^8..10^11 억, 10^12..10^15 조 (no 받침), 10^16..10^19 경; a run that is
//   all zeros, or that follows a '.', is read digit by digit (영). 20 or more trailing zeros
//   after a non-zero digit throw;
// - an ASCII Latin letter (either case): the common Korean reading of its English name, where
//   only L 엘, M 엠, N 엔, R 알 end in a consonant (L and R in ㄹ); the vowel-final others are
//   A 에이, B 비, C 씨, D 디, E 이, F 에프, G 지, H 에이치, I 아이, J 제이, K 케이, O 오, P 피,
//   Q 큐, S 에스, T 티, U 유, V 브이, W 더블유, X 엑스, Y 와이, Z 제트 (so "CPU가", "URL이").
// Anything else (an empty word, a final space, punctuation, a lone jamo, other scripts,
// ill-formed UTF-8) throws std::invalid_argument naming the word.
enum class FinalSound { vowel, rieul, other_consonant };
FinalSound final_sound(std::string_view word);

inline bool has_final_consonant(std::string_view word) { return final_sound(word) != FinalSound::vowel; }
inline bool ends_in_rieul(std::string_view word) { return final_sound(word) == FinalSound::rieul; }

// The particle form that follows `word`: particle("사과", Particle::subject) == "가".
std::string particle(std::string_view word, Particle p);
// word + its particle: with_particle("책", Particle::directional) == "책으로".
std::string with_particle(std::string_view word, Particle p);

}  // namespace hanvit::text
