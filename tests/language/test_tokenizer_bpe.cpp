// Tests of the tokenizer.json reader: ids, template ids and decoded text identical to the Hugging Face
// tokenizers library for GPT-2 and LLaMA-3 style byte-level BPE and KoGPT2 style Metaspace BPE, the split regexes and
// Unicode normalization against their Python counterparts, round trips, special ids, folder loading and errors.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "language/tokenizer/hf_tokenizer.h"
#include "language/tokenizer/load_tokenizer.h"
#include "language/tokenizer/pretokenizer.h"
#include "language/tokenizer/sentencepiece_tokenizer.h"
#include "language/tokenizer/unicode_normalization.h"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using hanvit::language::HfTokenizer;
using hanvit::language::SpecialDecode;
using hanvit::language::SpecialText;
using hanvit::language::SpecialToken;
using nlohmann::json;

namespace {

const fs::path kData = fs::path(HANVIT_TEST_DATA) / "tokenizer";

json read_json(const fs::path& file) {
  std::ifstream in(file);
  REQUIRE(in);
  return json::parse(in);
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<int32_t> ids_of(const json& list) { return list.get<std::vector<int32_t>>(); }

// A tokenizer.json from the GPT-2 fixture with one part replaced.
std::string gpt2_json_with(const json::json_pointer& where, const json& value) {
  json root = read_json(kData / "bpe_gpt2" / "tokenizer.json");
  root[where] = value;
  return root.dump();
}

std::string load_error(const std::string& tokenizer_json) {
  try {
    HfTokenizer::from_json(tokenizer_json, std::nullopt, "test/tokenizer.json");
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "no error";
}

// A folder of our own under the temp directory, removed at the end of the test.
struct TempFolder {
  fs::path path;
  explicit TempFolder(const std::string& name) : path(fs::temp_directory_path() / (name + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempFolder() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("tokenizer/bpe ids and decoded text equal the Hugging Face library", "[tokenizer]") {
  const std::string style = GENERATE("bpe_gpt2", "bpe_llama3", "bpe_kogpt2");
  const HfTokenizer tokenizer(kData / style);
  const json fixture = read_json(kData / style / "cases.json");
  CHECK(tokenizer.vocab_size() == fixture["vocab_size"].get<int32_t>());
  for (const json& item : fixture["cases"]) {
    const std::string text = item["text"];
    INFO(style << ": " << text);
    const std::vector<int32_t> ids = tokenizer.encode(text, SpecialText::parse);
    CHECK(ids == ids_of(item["ids"]));
    CHECK(tokenizer.post_process(ids) == ids_of(item["ids_with_template"]));
    CHECK(tokenizer.encode(text, SpecialText::literal) == ids_of(item["ids_literal"]));
    const std::vector<int32_t> expected = ids_of(item["ids"]);
    CHECK(tokenizer.decode(expected, SpecialDecode::skip) == item["decoded_skip"].get<std::string>());
    CHECK(tokenizer.decode(expected, SpecialDecode::keep) == item["decoded_keep"].get<std::string>());
  }
}

TEST_CASE("tokenizer/bpe decode of the literal ids gives the text back", "[tokenizer]") {
  using hanvit::language::unicode::NormalizationForm;
  using hanvit::language::unicode::normalize;
  const std::string style = GENERATE("bpe_gpt2", "bpe_llama3");
  const HfTokenizer tokenizer(kData / style);
  const json fixture = read_json(kData / style / "cases.json");
  for (const json& item : fixture["cases"]) {
    const std::string text = item["text"];
    // The LLaMA-3 style normalizes to NFC, so a decomposed text comes back composed; the GPT-2 style's
    // <sep> takes the white space before it (lstrip).
    std::string expected = text;
    if (style == "bpe_llama3") expected = normalize(text, NormalizationForm::nfc);
    if (text.find("<sep>") != std::string::npos) expected = item["decoded_keep"];
    INFO(style << ": " << text);
    CHECK(tokenizer.decode(tokenizer.encode(text), SpecialDecode::keep) == expected);
    CHECK(tokenizer.decode(tokenizer.encode(text), SpecialDecode::skip) == expected);
  }
}

TEST_CASE("tokenizer/bpe split regexes cut text as the library's Split does", "[tokenizer]") {
  using hanvit::language::SplitPattern;
  const json units = read_json(kData / "bpe_units.json");
  REQUIRE(units["splits"].size() > 30);
  for (const json& item : units["splits"]) {
    const std::string text = item["text"];
    INFO(text);
    for (const auto& [name, pattern] :
         {std::pair{"gpt2", SplitPattern::gpt2}, std::pair{"cl100k", SplitPattern::cl100k}}) {
      const auto pieces = hanvit::language::split_by_pattern(text, pattern);
      CHECK(std::vector<std::string>(pieces.begin(), pieces.end()) == item[name].get<std::vector<std::string>>());
    }
  }
}

TEST_CASE("tokenizer/bpe Unicode normalization equals Python's unicodedata", "[tokenizer]") {
  using hanvit::language::unicode::NormalizationForm;
  using hanvit::language::unicode::normalize;
  const json units = read_json(kData / "bpe_units.json");
  REQUIRE(units["normalization"].size() > 20);
  for (const json& item : units["normalization"]) {
    const std::string text = item["text"];
    INFO(text);
    CHECK(normalize(text, NormalizationForm::nfc) == item["NFC"].get<std::string>());
    CHECK(normalize(text, NormalizationForm::nfd) == item["NFD"].get<std::string>());
    CHECK(normalize(text, NormalizationForm::nfkc) == item["NFKC"].get<std::string>());
    CHECK(normalize(text, NormalizationForm::nfkd) == item["NFKD"].get<std::string>());
  }
}

TEST_CASE("tokenizer/bpe Metaspace with prepend_scheme first marks only the start of the text", "[tokenizer]") {
  json root = read_json(kData / "bpe_kogpt2" / "tokenizer.json");
  for (const char* part : {"pre_tokenizer", "decoder"}) {
    root[part] = {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "first"}, {"split", true}};
  }
  const auto tokenizer = HfTokenizer::from_json(root.dump(), std::nullopt, "first");
  const json units = read_json(kData / "bpe_units.json");
  REQUIRE(units["metaspace_first"].size() == 5);
  for (const json& item : units["metaspace_first"]) {
    const std::string text = item["text"];
    INFO(text);
    const std::vector<int32_t> ids = tokenizer.encode(text, SpecialText::parse);
    CHECK(ids == ids_of(item["ids"]));
    CHECK(tokenizer.decode(ids, SpecialDecode::keep) == item["decoded"].get<std::string>());
  }
}

TEST_CASE("tokenizer/bpe special ids come from tokenizer_config.json and the added tokens", "[tokenizer]") {
  const HfTokenizer gpt2(kData / "bpe_gpt2" / "tokenizer.json");
  const int32_t endoftext = gpt2.piece_to_id("<|endoftext|>");
  CHECK(endoftext == 0);
  CHECK(gpt2.special()[SpecialToken::bos] == endoftext);
  CHECK(gpt2.special()[SpecialToken::eos] == endoftext);
  CHECK(gpt2.special()[SpecialToken::unk] == endoftext);
  CHECK(gpt2.special()[SpecialToken::pad] == -1);
  CHECK(gpt2.special()[SpecialToken::image] == -1);
  CHECK(gpt2.id_to_piece(1000) == "<sep>");  // a non-special added token
  CHECK(gpt2.post_process(std::vector<int32_t>{5, 6}) == std::vector<int32_t>{5, 6});

  const HfTokenizer llama3(kData / "bpe_llama3");
  const int32_t begin = llama3.piece_to_id("<|begin_of_text|>");
  CHECK(llama3.special()[SpecialToken::bos] == begin);
  CHECK(llama3.special()[SpecialToken::eos] == llama3.piece_to_id("<|eot_id|>"));
  CHECK(llama3.special()[SpecialToken::pad] == -1);
  CHECK(llama3.special()[SpecialToken::unk] == -1);
  CHECK(llama3.special()[SpecialToken::image] == -1);
  CHECK(llama3.post_process(std::vector<int32_t>{5, 6}) == std::vector<int32_t>{begin, 5, 6});
  CHECK(llama3.piece_to_id("no such piece") == -1);

  const HfTokenizer kogpt2(kData / "bpe_kogpt2");
  CHECK(kogpt2.special()[SpecialToken::bos] == 0);
  CHECK(kogpt2.special()[SpecialToken::eos] == 0);
  CHECK(kogpt2.special()[SpecialToken::pad] == 2);
  CHECK(kogpt2.special()[SpecialToken::unk] == 4);
  CHECK(kogpt2.id_to_piece(4) == "<unk>");

  // Without tokenizer_config.json the usual spellings give the roles.
  const auto bare = HfTokenizer::from_json(read_text(kData / "bpe_llama3" / "tokenizer.json"), std::nullopt, "bare");
  CHECK(bare.special()[SpecialToken::bos] == begin);
  CHECK(bare.special()[SpecialToken::eos] == llama3.piece_to_id("<|end_of_text|>"));
}

TEST_CASE("tokenizer/bpe literal mode reads special tokens as text, parse mode as their ids", "[tokenizer]") {
  const HfTokenizer llama3(kData / "bpe_llama3");
  const std::string text = "<|start_header_id|>user<|end_header_id|>";
  const auto parsed = llama3.encode(text, SpecialText::parse);
  REQUIRE(parsed.size() > 2);
  CHECK(parsed.front() == llama3.piece_to_id("<|start_header_id|>"));
  CHECK(parsed.back() == llama3.piece_to_id("<|end_header_id|>"));
  for (int32_t id : llama3.encode(text)) CHECK(id < llama3.piece_to_id("<|begin_of_text|>"));
  CHECK(llama3.decode(parsed, SpecialDecode::skip) == "user");
  CHECK(llama3.decode(parsed, SpecialDecode::keep) == text);
}

TEST_CASE("tokenizer/bpe Hanvit's role spellings are special ids even as non-special added tokens", "[tokenizer]") {
  json root = read_json(kData / "bpe_gpt2" / "tokenizer.json");
  root["added_tokens"].push_back({{"id", 1001},
                                  {"content", "<image>"},
                                  {"single_word", false},
                                  {"lstrip", false},
                                  {"rstrip", false},
                                  {"normalized", true},
                                  {"special", false}});
  const auto tokenizer = HfTokenizer::from_json(root.dump(), std::nullopt, "with_image");
  CHECK(tokenizer.vocab_size() == 1002);
  CHECK(tokenizer.special()[SpecialToken::image] == 1001);
  const std::string text = "<image>사진";
  const auto parsed = tokenizer.encode(text, SpecialText::parse);
  CHECK(parsed.front() == 1001);
  const auto literal = tokenizer.encode(text);
  CHECK(std::find(literal.begin(), literal.end(), 1001) == literal.end());
  CHECK(tokenizer.decode(literal) == text);
  CHECK(tokenizer.decode(parsed, SpecialDecode::skip) == "사진");
  CHECK(tokenizer.decode(parsed, SpecialDecode::keep) == text);
}

TEST_CASE("tokenizer/bpe load_tokenizer opens tokenizer.json or tokenizer.model", "[tokenizer]") {
  const auto hf = hanvit::language::load_tokenizer(kData / "bpe_gpt2");
  CHECK(dynamic_cast<const HfTokenizer*>(hf.get()) != nullptr);
  CHECK(hf->vocab_size() == 1001);
  CHECK(dynamic_cast<const HfTokenizer*>(
      hanvit::language::load_tokenizer(kData / "bpe_llama3" / "tokenizer.json").get()));

  TempFolder folder("hanvit_load_tokenizer_");
  fs::copy_file(kData / "fixture.model", folder.path / "tokenizer.model");
  const auto sentencepiece = hanvit::language::load_tokenizer(folder.path);
  CHECK(dynamic_cast<const hanvit::language::SentencePieceTokenizer*>(sentencepiece.get()) != nullptr);
  CHECK(dynamic_cast<const hanvit::language::SentencePieceTokenizer*>(
      hanvit::language::load_tokenizer(kData / "fixture.model").get()));

  // tokenizer.json wins over tokenizer.model in the same folder.
  fs::copy_file(kData / "bpe_gpt2" / "tokenizer.json", folder.path / "tokenizer.json");
  CHECK(dynamic_cast<const HfTokenizer*>(hanvit::language::load_tokenizer(folder.path).get()) != nullptr);

  TempFolder empty("hanvit_load_tokenizer_empty_");
  CHECK_THROWS_WITH(hanvit::language::load_tokenizer(empty.path),
                    Contains("neither tokenizer.json nor tokenizer.model"));
  CHECK_THROWS_WITH(hanvit::language::load_tokenizer(empty.path / "missing.json"), Contains("missing.json"));
}

TEST_CASE("tokenizer/bpe bad input and unsupported files throw naming the problem", "[tokenizer]") {
  const HfTokenizer gpt2(kData / "bpe_gpt2");
  CHECK_THROWS_WITH(gpt2.encode("ab\xC3"), Contains("invalid UTF-8 at byte 2"));
  CHECK_THROWS_WITH(gpt2.decode(std::vector<int32_t>{1001}), Contains("token id 1001 is out of range [0, 1001)"));
  // A lone byte of a multi-byte character decodes as U+FFFD, as the library's lossy decoding gives.
  const auto unicorn = gpt2.encode("🦄");
  REQUIRE(unicorn.size() > 1);
  CHECK(gpt2.decode(unicorn) == "🦄");
  CHECK(gpt2.decode(std::vector<int32_t>{unicorn.front()}) == "\xEF\xBF\xBD");

  CHECK_THAT(load_error("{\"model\": "), Contains("test/tokenizer.json: malformed JSON"));
  CHECK_THAT(load_error(gpt2_json_with("/model/type"_json_pointer, "WordPiece")),
             Contains("test/tokenizer.json: model: unsupported model type 'WordPiece'"));
  CHECK_THAT(load_error(gpt2_json_with("/model/merges/0"_json_pointer, "Ġ zzz")),
             Contains("merge 0 uses 'zzz', which is not in the vocabulary"));
  CHECK_THAT(load_error(gpt2_json_with("/model/merges/0"_json_pointer, "Ġ Ġ")),
             Contains("merge 0 makes 'ĠĠ', which is not in the vocabulary"));
  CHECK_THAT(load_error(gpt2_json_with("/model/merges/1"_json_pointer, "ab")),
             Contains("model.merges[1]: 'ab' is not two tokens"));
  CHECK_THAT(load_error(gpt2_json_with("/model/dropout"_json_pointer, 0.1)), Contains("dropout is not supported"));
  CHECK_THAT(load_error(gpt2_json_with("/normalizer"_json_pointer, {{"type", "Lowercase"}})),
             Contains("normalizer: unsupported normalizer 'Lowercase'"));
  CHECK_THAT(load_error(gpt2_json_with("/decoder"_json_pointer, {{"type", "WordPiece"}})),
             Contains("decoder: unsupported decoder 'WordPiece'"));
  CHECK_THAT(load_error(gpt2_json_with(
                 "/pre_tokenizer"_json_pointer,
                 {{"type", "Split"}, {"pattern", {{"Regex", "\\w+"}}}, {"behavior", "Isolated"}, {"invert", false}})),
             Contains("pre_tokenizer.pattern: unsupported split regex '\\w+'"));
  CHECK_THAT(load_error(gpt2_json_with("/pre_tokenizer"_json_pointer, {{"type", "Whitespace"}})),
             Contains("unsupported pre-tokenizer 'Whitespace'"));
  CHECK_THAT(load_error(gpt2_json_with("/post_processor"_json_pointer, {{"type", "RobertaProcessing"}})),
             Contains("unsupported post-processor 'RobertaProcessing'"));
  CHECK_THAT(load_error(gpt2_json_with("/model/vocab"_json_pointer, json::array())),
             Contains("model.vocab: expected an object"));
  CHECK_THAT(load_error(json{{"version", "1.0"}}.dump()), Contains("test/tokenizer.json: missing field 'model'"));

  const std::string tokenizer_json = read_text(kData / "bpe_gpt2" / "tokenizer.json");
  CHECK_THROWS_WITH(HfTokenizer::from_json(tokenizer_json, R"({"bos_token": "<nope>"})", "dir/tokenizer.json"),
                    Contains("dir/tokenizer_config.json: bos_token: '<nope>' is not in the vocabulary"));
  CHECK_THROWS_WITH(HfTokenizer::from_json(tokenizer_json, "[1,", "dir/tokenizer.json"),
                    Contains("dir/tokenizer_config.json: malformed JSON"));
  CHECK_THROWS_WITH(HfTokenizer(kData / "no_such_folder"), Contains("no_such_folder: no such tokenizer.json"));
}
