// Korean particles: 받침 detection on nouns, digits and Latin letters, every particle pair, and the errors.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "datasets/text/korean.h"

using hanvit::text::ends_in_rieul;
using hanvit::text::final_sound;
using hanvit::text::FinalSound;
using hanvit::text::has_final_consonant;
using hanvit::text::Particle;
using hanvit::text::particle;
using hanvit::text::with_particle;

namespace {

struct Noun {
  const char* word;
  FinalSound sound;
};

constexpr FinalSound V = FinalSound::vowel, L = FinalSound::rieul, C = FinalSound::other_consonant;

// Nouns with their final sound, as a Korean speaker reads them.
const std::vector<Noun> kNouns = {
    {"사과", V},   {"책", C},     {"물", L},     {"학교", V},   {"서울", L},   {"컴퓨터", V}, {"집", C},
    {"사람", C},   {"하늘", L},   {"연필", L},   {"고양이", V}, {"강아지", V}, {"바다", V},   {"산", C},
    {"꽃", C},     {"밥", C},     {"옷", C},     {"부엌", C},   {"밖", C},     {"닭", C},     {"값", C},
    {"말", L},     {"길", L},     {"겨울", L},   {"지하철", L}, {"나무", V},   {"의자", V},   {"친구", V},
    {"선생님", C}, {"한국", C},   {"도시", V},   {"빵", C},     {"달", L},     {"별", L},     {"원", C},
    {"사각형", C}, {"삼각형", C}, {"하트", V},   {"마름모", V}, {"빨간색", C}, {"주황색", C}, {"노란색", C},
    {"초록색", C}, {"파란색", C}, {"보라색", C}, {"검은색", C}, {"위", V},     {"아래", V},   {"왼쪽", C},
    {"오른쪽", C}, {"가운데", V}, {"도형", C},   {"힣", C},     {"가", V},     {"갈", L},     {"뷁", C},
};

}  // namespace

TEST_CASE("final sound of Hangul nouns, shapes, colours and positions", "[korean]") {
  REQUIRE(kNouns.size() >= 40);
  for (const Noun& noun : kNouns) {
    INFO(noun.word);
    CHECK(final_sound(noun.word) == noun.sound);
    CHECK(has_final_consonant(noun.word) == (noun.sound != V));
    CHECK(ends_in_rieul(noun.word) == (noun.sound == L));
  }
}

TEST_CASE("every particle pair follows the final consonant", "[korean]") {
  // {after a consonant, after a vowel, after ㄹ}: 책 / 사과 / 물.
  const std::vector<std::pair<Particle, std::vector<std::string>>> forms = {
      {Particle::subject, {"책이", "사과가", "물이"}},         {Particle::topic, {"책은", "사과는", "물은"}},
      {Particle::object, {"책을", "사과를", "물을"}},          {Particle::conjunctive, {"책과", "사과와", "물과"}},
      {Particle::comitative, {"책이랑", "사과랑", "물이랑"}},  {Particle::vocative, {"책아", "사과야", "물아"}},
      {Particle::alternative, {"책이나", "사과나", "물이나"}}, {Particle::directional, {"책으로", "사과로", "물로"}},
  };
  for (const auto& [p, expected] : forms) {
    CHECK(with_particle("책", p) == expected[0]);
    CHECK(with_particle("사과", p) == expected[1]);
    CHECK(with_particle("물", p) == expected[2]);
  }
  CHECK(with_particle("서울", Particle::directional) == "서울로");
  CHECK(with_particle("학교", Particle::directional) == "학교로");
  CHECK(with_particle("집", Particle::directional) == "집으로");
  CHECK(particle("하트", Particle::subject) == "가");
  CHECK(particle("마름모", Particle::topic) == "는");
  CHECK(particle("원", Particle::topic) == "은");
  CHECK(particle("별", Particle::subject) == "이");
  CHECK(with_particle("친구", Particle::vocative) == "친구야");
  CHECK(with_particle("선생님", Particle::object) == "선생님을");
  CHECK(with_particle("빨간 원", Particle::subject) == "빨간 원이");  // only the last syllable counts
}

TEST_CASE("words ending in digits use the Sino-Korean reading", "[korean]") {
  // 영 일 이 삼 사 오 육 칠 팔 구
  const std::vector<std::string> subject = {"0이", "1이", "2가", "3이", "4가", "5가", "6이", "7이", "8이", "9가"};
  const std::vector<std::string> directional = {"0으로", "1로",   "2로", "3으로", "4로",
                                                "5로",   "6으로", "7로", "8로",   "9로"};
  for (int d = 0; d <= 9; ++d) {
    const std::string digit = std::to_string(d);
    CHECK(with_particle(digit, Particle::subject) == subject[static_cast<size_t>(d)]);
    CHECK(with_particle(digit, Particle::directional) == directional[static_cast<size_t>(d)]);
  }
  CHECK(with_particle("10", Particle::subject) == "10이");                        // 십
  CHECK(with_particle("12", Particle::subject) == "12가");                        // 십이
  CHECK(with_particle("17", Particle::directional) == "17로");                    // 십칠
  CHECK(with_particle("100", Particle::topic) == "100은");                        // 백
  CHECK(with_particle("2000", Particle::topic) == "2000은");                      // 이천
  CHECK(with_particle("30000", Particle::directional) == "30000으로");            // 삼만
  CHECK(with_particle("1000000000000", Particle::subject) == "1000000000000가");  // 일조
  CHECK(with_particle("00", Particle::subject) == "00이");                        // 영영
  CHECK(with_particle("3.10", Particle::subject) == "3.10이");                    // 삼 점 일영
  CHECK(with_particle("2.50", Particle::topic) == "2.50은");                      // 이 점 오영
  CHECK(with_particle("사과 3", Particle::subject) == "사과 3이");                // 삼
  CHECK(with_particle("서기 2025", Particle::object) == "서기 2025를");           // 이천이십오
  CHECK_THROWS_WITH(final_sound("100000000000000000000"), Catch::Contains("20 zeros"));
}

TEST_CASE("words ending in Latin letters use the Korean reading of the letter name", "[korean]") {
  // Only L 엘, M 엠, N 엔, R 알 end in a consonant (L and R in ㄹ).
  for (char letter = 'A'; letter <= 'Z'; ++letter) {
    for (const char c : {letter, static_cast<char>(letter + 32)}) {
      const std::string word(1, c);
      INFO(word);
      const bool consonant = letter == 'L' || letter == 'M' || letter == 'N' || letter == 'R';
      const bool rieul = letter == 'L' || letter == 'R';
      CHECK(has_final_consonant(word) == consonant);
      CHECK(ends_in_rieul(word) == rieul);
    }
  }
  CHECK(with_particle("CPU", Particle::subject) == "CPU가");
  CHECK(with_particle("URL", Particle::subject) == "URL이");
  CHECK(with_particle("URL", Particle::directional) == "URL로");
  CHECK(with_particle("PDF", Particle::object) == "PDF를");
  CHECK(with_particle("HTML", Particle::topic) == "HTML은");
  CHECK(with_particle("RAM", Particle::directional) == "RAM으로");
  CHECK(with_particle("ViT", Particle::conjunctive) == "ViT와");
}

TEST_CASE("words without a readable last character are refused with the word named", "[korean]") {
  CHECK_THROWS_AS(final_sound(""), std::invalid_argument);
  CHECK_THROWS_WITH(particle("", Particle::subject), "no Korean particle for an empty word");
  CHECK_THROWS_WITH(
      particle("사과!", Particle::subject),
      "no Korean particle for \"사과!\": it ends in U+0021, not a Hangul syllable, digit or Latin letter");
  CHECK_THROWS_WITH(with_particle("사과 ", Particle::topic), Catch::Contains("\"사과 \": it ends in U+0020"));
  CHECK_THROWS_WITH(particle("ㅋㅋ", Particle::subject), Catch::Contains("U+314B"));  // a lone jamo
  CHECK_THROWS_WITH(particle("東京", Particle::subject), Catch::Contains("U+4EAC"));  // Han
  CHECK_THROWS_WITH(particle("café", Particle::subject), Catch::Contains("U+00E9"));
  CHECK_THROWS_AS(particle("사과\xff", Particle::subject), std::invalid_argument);
  CHECK_THROWS_WITH(particle("\xea\xb0", Particle::subject), Catch::Contains("not valid UTF-8 (byte 0)"));
}
