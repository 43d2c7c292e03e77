// Tests of the SentencePiece tokenizer: a model trained from the committed Korean corpus, round trips,
// special tokens, NFD input, invalid input, and ids identical to the Python sentencepiece package.
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "datasets/text/utf8.h"
#include "language/tokenizer/sentencepiece_tokenizer.h"
#include "language/tokenizer/tokenizer_trainer.h"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using hanvit::language::SentencePieceTokenizer;
using hanvit::language::SpecialDecode;
using hanvit::language::SpecialText;
using hanvit::language::SpecialToken;

namespace {

const fs::path kData = fs::path(HANVIT_TEST_DATA) / "tokenizer";

std::vector<std::string> corpus_lines() {
  std::ifstream in(kData / "corpus.txt");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// One unigram model trained from the corpus, shared by the tests of this file.
const SentencePieceTokenizer& trained() {
  static const SentencePieceTokenizer tokenizer = SentencePieceTokenizer::from_serialized(
      hanvit::language::train_sentencepiece(corpus_lines(), {.vocab_size = 900}), "trained in test");
  return tokenizer;
}

// `text` as UTF-8 with its Hangul syllables decomposed into conjoining jamo (Unicode ch. 3.12), written out here
// so that the NFD input does not come from the code under test.
std::string hangul_nfd(const std::u32string& text) {
  std::string out;
  auto append = [&out](char32_t c) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  };
  for (char32_t c : text) {
    if (c >= 0xAC00 && c <= 0xD7A3) {
      const char32_t s = c - 0xAC00;
      append(0x1100 + s / 588);
      append(0x1161 + (s % 588) / 28);
      if (s % 28 != 0) append(0x11A7 + s % 28);
    } else {
      out += static_cast<char>(c);  // ASCII only in the callers
    }
  }
  return out;
}

bool is_byte_piece(const SentencePieceTokenizer& tokenizer, int32_t id) {
  const std::string piece = tokenizer.id_to_piece(id);
  return piece.size() == 6 && piece.rfind("<0x", 0) == 0;
}

}  // namespace

TEST_CASE("trained tokenizer has Hanvit's special ids", "[tokenizer]") {
  const auto& tokenizer = trained();
  CHECK(tokenizer.vocab_size() == 900);
  const auto& special = tokenizer.special();
  CHECK(special[SpecialToken::pad] == 0);
  CHECK(special[SpecialToken::unk] == 1);
  CHECK(special[SpecialToken::bos] == 2);
  CHECK(special[SpecialToken::eos] == 3);
  for (SpecialToken token : {SpecialToken::pad, SpecialToken::unk, SpecialToken::bos, SpecialToken::eos,
                             SpecialToken::image, SpecialToken::system, SpecialToken::user, SpecialToken::assistant}) {
    const std::string spelling(hanvit::language::special_token_spelling(token));
    INFO(spelling);
    REQUIRE(special[token] >= 0);
    CHECK(tokenizer.id_to_piece(special[token]) == spelling);
    CHECK(tokenizer.piece_to_id(spelling) == special[token]);
  }
  CHECK(tokenizer.piece_to_id("<no such piece>") == -1);
  CHECK(tokenizer.piece_to_id("<0xEA>") >= 0);
}

TEST_CASE("a model without Hanvit's specials reports -1 for the absent ones", "[tokenizer]") {
  // SentencePiece's own defaults: unk=0 bos=1 eos=2, no pad, no user-defined pieces, no byte fallback.
  const auto lines = corpus_lines();
  struct Lines : sentencepiece::SentenceIterator {
    explicit Lines(const std::vector<std::string>& lines) : lines_(lines) {}
    bool done() const override { return next_ >= lines_.size(); }
    void Next() override { ++next_; }
    const std::string& value() const override { return lines_[next_]; }
    sentencepiece::util::Status status() const override { return {}; }
    const std::vector<std::string>& lines_;
    size_t next_ = 0;
  } iterator(lines);
  std::string model;
  REQUIRE(sentencepiece::SentencePieceTrainer::Train({{"vocab_size", "600"}, {"minloglevel", "2"}}, &iterator, &model)
              .ok());
  const auto tokenizer = SentencePieceTokenizer::from_serialized(model, "plain");
  const auto& special = tokenizer.special();
  CHECK(special[SpecialToken::unk] == 0);
  CHECK(special[SpecialToken::bos] == 1);
  CHECK(special[SpecialToken::eos] == 2);
  for (SpecialToken token :
       {SpecialToken::pad, SpecialToken::image, SpecialToken::system, SpecialToken::user, SpecialToken::assistant}) {
    CHECK(special[token] == -1);
  }
  CHECK(tokenizer.piece_to_id("<image>") == -1);
  CHECK(tokenizer.decode(tokenizer.encode("빨간 원이 있다.")) == "빨간 원이 있다.");
}

TEST_CASE("special spellings become special ids only when asked", "[tokenizer]") {
  const auto& tokenizer = trained();
  const auto& special = tokenizer.special();
  const std::string prompt = "<|user|>사진을 설명해 줘<image><|assistant|>빨간 원이 있다.";

  const auto parsed = tokenizer.encode(prompt, SpecialText::parse);
  CHECK(std::count(parsed.begin(), parsed.end(), special[SpecialToken::user]) == 1);
  CHECK(std::count(parsed.begin(), parsed.end(), special[SpecialToken::image]) == 1);
  CHECK(std::count(parsed.begin(), parsed.end(), special[SpecialToken::assistant]) == 1);
  // As in SentencePiece itself, a text that starts with a special gets the word-start piece "▁" first.
  CHECK(tokenizer.encode("<image>", SpecialText::parse) ==
        std::vector<int32_t>{tokenizer.piece_to_id("▁"), special[SpecialToken::image]});
  CHECK(tokenizer.encode("사진<image>", SpecialText::parse).back() == special[SpecialToken::image]);
  CHECK(tokenizer.decode(parsed) == "사진을 설명해 줘빨간 원이 있다.");
  CHECK(tokenizer.decode(parsed, SpecialDecode::keep) == prompt);

  const auto literal = tokenizer.encode(prompt);
  for (int32_t id : literal) CHECK_FALSE(special.is_special(id));
  CHECK(tokenizer.decode(literal) == prompt);
  // "<image>" spelled as its 7 byte pieces.
  const auto image_literal = tokenizer.encode("사진<image>");
  REQUIRE(image_literal.size() > 7);
  for (size_t i = image_literal.size() - 7; i < image_literal.size(); ++i)
    CHECK(is_byte_piece(tokenizer, image_literal[i]));
  CHECK(tokenizer.decode(image_literal) == "사진<image>");
  CHECK(tokenizer.decode(std::vector<int32_t>{2, special[SpecialToken::image], 3}, SpecialDecode::keep) ==
        "<s><image></s>");
  CHECK(tokenizer.decode(std::vector<int32_t>{2, 0, 3}).empty());
}

// The fixture's texts with what they decode to: the text itself, or its NFKC form where Python says so.
std::vector<std::pair<std::string, std::string>> fixture_texts() {
  std::ifstream in(kData / "fixture_ids.json");
  const auto fixture = nlohmann::json::parse(in);
  std::vector<std::pair<std::string, std::string>> texts;
  for (const auto& item : fixture.at("cases")) {
    const auto text = item.at("text").get<std::string>();
    texts.emplace_back(text, item.contains("decoded") ? item.at("decoded").get<std::string>() : text);
  }
  return texts;
}

TEST_CASE("decode(encode(x)) == x for Korean, mixed text and emoji", "[tokenizer]") {
  const auto& tokenizer = trained();
  auto texts = fixture_texts();
  for (const std::string text :
       {"빨간 원이 왼쪽 위에 있다.", "한빛 v0.1은 2026년에 나왔다 🦄🦀", " 앞 공백"}) {
    texts.emplace_back(text, text);
  }
  for (const auto& [text, decoded] : texts) {
    INFO(text);
    const auto ids = tokenizer.encode(text);
    CHECK(tokenizer.decode(ids) == decoded);
    CHECK(tokenizer.decode(ids, SpecialDecode::keep) == decoded);
    for (int32_t id : ids) CHECK(id != tokenizer.special()[SpecialToken::unk]);
  }
  // Emoji absent from the training text are spelled with byte pieces: 🦄 is F0 9F A6 84.
  const auto unicorn = tokenizer.encode_pieces("🦄", SpecialText::literal);
  CHECK(std::vector<std::string>(unicorn.end() - 4, unicorn.end()) ==
        std::vector<std::string>{"<0xF0>", "<0x9F>", "<0xA6>", "<0x84>"});
}

TEST_CASE("digits are split into single pieces", "[tokenizer]") {
  const auto& tokenizer = trained();
  std::string digits;
  for (const std::string& piece : tokenizer.encode_pieces("2024년 3,650원", SpecialText::literal)) {
    const auto count = std::count_if(piece.begin(), piece.end(), [](char c) { return c >= '0' && c <= '9'; });
    INFO(piece);
    CHECK(count <= 1);
    if (count == 1) digits += piece.back();
  }
  CHECK(digits == "20243650");
}

TEST_CASE("NFD (decomposed jamo) input gives the ids of NFC input", "[tokenizer]") {
  const auto& tokenizer = trained();
  for (const std::u32string& text :
       {std::u32string(U"빨간 원이 왼쪽 위에 있다."), std::u32string(U"도형은 모두 몇 개인가요?"),
        std::u32string(U"한국어 문장을 분해해도 같다")}) {
    const std::string nfc = hanvit::text::encode_utf8(text);
    const std::string nfd = hangul_nfd(text);
    INFO(nfc);
    CHECK(nfd.size() > nfc.size());
    CHECK(tokenizer.encode(nfd) == tokenizer.encode(nfc));
    CHECK(tokenizer.decode(tokenizer.encode(nfd)) == nfc);
  }
}

TEST_CASE("invalid UTF-8 and out-of-range ids are refused with the position", "[tokenizer]") {
  const auto& tokenizer = trained();
  CHECK_THROWS_WITH(tokenizer.encode("가나\xff다"), "text: invalid UTF-8 at byte 6");
  CHECK_THROWS_WITH(tokenizer.encode("\xed\xa0\x80"), "text: invalid UTF-8 at byte 0");  // a surrogate
  CHECK_THROWS_AS(tokenizer.encode("가\xea\xb0"), std::invalid_argument);                // truncated
  CHECK_THROWS_WITH(tokenizer.decode(std::vector<int32_t>{5, 900}), "token id 900 is out of range [0, 900)");
  CHECK_THROWS_WITH(tokenizer.id_to_piece(-1), "token id -1 is out of range [0, 900)");
}

// The names in a folder, to see that training leaves no file behind.
std::vector<fs::path> folder_entries(const fs::path& folder) {
  std::vector<fs::path> entries{fs::directory_iterator(folder), fs::directory_iterator()};
  std::sort(entries.begin(), entries.end());
  return entries;
}

TEST_CASE("training is deterministic for a seed and writes no file", "[tokenizer]") {
  const auto lines = corpus_lines();
  const auto cwd_before = folder_entries(fs::current_path());
  const hanvit::language::TokenizerTrainOptions options{.vocab_size = 850, .seed = 7};
  CHECK(hanvit::language::train_sentencepiece(lines, options) == hanvit::language::train_sentencepiece(lines, options));
  CHECK(folder_entries(fs::current_path()) == cwd_before);
}

TEST_CASE("a BPE tokenizer trains and round-trips", "[tokenizer]") {
  const auto model = hanvit::language::train_sentencepiece(
      corpus_lines(), {.vocab_size = 850, .model_type = hanvit::language::SentencePieceModelType::bpe});
  const auto tokenizer = SentencePieceTokenizer::from_serialized(model, "bpe");
  CHECK(tokenizer.special()[SpecialToken::eos] == 3);
  CHECK(tokenizer.special()[SpecialToken::image] >= 0);
  for (const std::string text : {"파란 하트가 위에 있고, 검은 사각형이 가운데에 있다.", "GPU 80GB 🚀"}) {
    CHECK(tokenizer.decode(tokenizer.encode(text)) == text);
  }
}

TEST_CASE("vocab sizes the text cannot satisfy are refused with what to change", "[tokenizer]") {
  const auto lines = corpus_lines();
  CHECK_THROWS_WITH(
      hanvit::language::train_sentencepiece(lines, {.vocab_size = 20000}),
      Contains("vocab size 20000 is too large for the training text") && Contains("lower the vocab size to"));
  CHECK_THROWS_WITH(hanvit::language::train_sentencepiece(lines, {.vocab_size = 300}),
                    Contains("vocab size 300 is too small") && Contains("raise the vocab size"));
  CHECK_THROWS_AS(hanvit::language::train_sentencepiece(lines, {.vocab_size = 0}), std::invalid_argument);
  CHECK_THROWS_AS(hanvit::language::train_sentencepiece({}, {.vocab_size = 500}), std::invalid_argument);
}

TEST_CASE("ids match the Python sentencepiece package on the committed fixture model", "[tokenizer]") {
  const SentencePieceTokenizer tokenizer(kData / "fixture.model");
  std::ifstream in(kData / "fixture_ids.json");
  const auto fixture = nlohmann::json::parse(in);
  REQUIRE(fixture.at("cases").size() > 450);
  REQUIRE(tokenizer.vocab_size() == fixture.at("vocab_size").get<int32_t>());
  const auto pieces = fixture.at("pieces").get<std::vector<std::string>>();
  for (int32_t id = 0; id < tokenizer.vocab_size(); ++id) CHECK(tokenizer.id_to_piece(id) == pieces.at(id));
  for (const auto& item : fixture.at("cases")) {
    const auto text = item.at("text").get<std::string>();
    const auto ids = item.at("ids").get<std::vector<int32_t>>();
    INFO(text);
    // Python's encode matches the user-defined specials in text, as SpecialText::parse does.
    CHECK(tokenizer.encode(text, SpecialText::parse) == ids);
    CHECK(tokenizer.decode(ids, SpecialDecode::keep) == item.value("decoded", text));
  }
}
