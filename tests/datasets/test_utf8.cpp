// UTF-8 validation, decoding and encoding against hand-made well- and ill-formed sequences.
#include <catch2/catch.hpp>

#include "datasets/text/utf8.h"

using namespace hanvit::text;

TEST_CASE("utf8 accepts Korean, English, emoji and round-trips them", "[utf8]") {
  const std::string text = "빨간 원이 왼쪽 위에 있다. abc 123 😀 é";
  CHECK(is_valid_utf8(text));
  const std::u32string cps = decode_utf8(text);
  CHECK(cps[0] == U'빨');
  CHECK(cps.find(U'😀') != std::u32string::npos);
  CHECK(encode_utf8(cps) == text);
  const auto chars = utf8_characters("한빛 a😀");
  REQUIRE(chars.size() == 5);
  CHECK(chars[0] == "한");
  CHECK(chars[2] == " ");
  CHECK(chars[4] == "😀");
}

TEST_CASE("utf8 rejects ill-formed sequences at the right byte", "[utf8]") {
  CHECK(first_invalid_utf8("ab\x80") == 2u);                 // stray continuation byte
  CHECK(first_invalid_utf8("\xc0\xaf") == 0u);               // overlong '/'
  CHECK(first_invalid_utf8("x\xe0\x80\xaf") == 1u);          // overlong 3-byte
  CHECK(first_invalid_utf8("\xed\xa0\x80") == 0u);           // surrogate U+D800
  CHECK(first_invalid_utf8("\xf4\x90\x80\x80") == 0u);       // above U+10FFFF
  CHECK(first_invalid_utf8("한\xea\xb8") == 3u);             // truncated at the end
  CHECK(first_invalid_utf8("\xff") == 0u);
  CHECK_FALSE(first_invalid_utf8("\xf0\x9f\x98\x80").has_value());
  CHECK_THROWS_WITH(require_valid_utf8("ok\xfe", "captions.jsonl:3"),
                    "captions.jsonl:3: invalid UTF-8 at byte 2");
  CHECK_THROWS(decode_utf8("\xc3"));
  std::string out;
  CHECK_THROWS(append_utf8(out, 0xd800));
  CHECK_THROWS(append_utf8(out, 0x110000));
}
