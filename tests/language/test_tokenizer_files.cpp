// Tests of the tokenizer's files: model loading errors, training text reading (plain text, JSON Lines, bad
// lines) and the output folder (refusal of an existing one, replacement, nothing left behind).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "datasets/formats/record_log.h"
#include "language/tokenizer/sentencepiece_tokenizer.h"
#include "language/tokenizer/tokenizer_folder.h"
#include "language/tokenizer/tokenizer_trainer.h"
#include "language/tokenizer/training_text.h"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using hanvit::data::RecordLog;
using hanvit::language::read_training_text;
using hanvit::language::SentencePieceTokenizer;

namespace {

const fs::path kData = fs::path(HANVIT_TEST_DATA) / "tokenizer";

// A fresh folder under the system temp folder, removed with everything in it.
class TempDir {
 public:
  TempDir()
      : path_(fs::temp_directory_path() /
              ("hanvit_tok_" + std::to_string(::getpid()) + "_" + std::to_string(next_++))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  fs::path write(const std::string& name, const std::string& bytes) const {
    std::ofstream(path_ / name, std::ios::binary) << bytes;
    return path_ / name;
  }

 private:
  static inline int next_ = 0;
  fs::path path_;
};

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> folder_names(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("a missing or corrupt tokenizer model is one error naming the file", "[tokenizer]") {
  TempDir dir;
  CHECK_THROWS_WITH(SentencePieceTokenizer(dir.path() / "absent.model"),
                    (dir.path() / "absent.model").string() + ": no such tokenizer model");
  CHECK_THROWS_WITH(SentencePieceTokenizer(dir.path()), dir.path().string() + ": folder has no tokenizer.model");
  for (const std::string& bytes :
       {std::string("this is not a model\n"), std::string(), std::string("\x0a\xff\xff", 3)}) {
    const fs::path corrupt = dir.write("corrupt.model", bytes);
    try {
      SentencePieceTokenizer tokenizer(corrupt);
      FAIL("loaded a corrupt model");
    } catch (const std::runtime_error& e) {
      const std::string message = e.what();
      CHECK_THAT(message, StartsWith(corrupt.string() + ": not a valid SentencePiece model"));
      CHECK(message.find('\n') == std::string::npos);
    }
  }
}

TEST_CASE("a tokenizer loads from a folder holding tokenizer.model", "[tokenizer]") {
  TempDir dir;
  fs::copy_file(kData / "fixture.model", dir.path() / "tokenizer.model");
  const SentencePieceTokenizer from_folder(dir.path());
  const SentencePieceTokenizer from_file(kData / "fixture.model");
  CHECK(from_folder.vocab_size() == from_file.vocab_size());
  CHECK(from_folder.encode("노란 별이 가운데에 있다.") == from_file.encode("노란 별이 가운데에 있다."));
}

TEST_CASE("training text comes from plain lines and JSONL text fields", "[tokenizer]") {
  TempDir dir;
  const fs::path plain = dir.write("a.txt", "첫 줄\r\n\n  \n둘째 줄\n");
  const fs::path jsonl =
      dir.write("b.jsonl",
                "{\"image\": \"1.png\", \"caption\": \"빨간 원이 위에 있다.\"}\n"
                "{\"image\": \"2.png\", \"captions\": [\"하나\", \"둘\"]}\n"
                "{\"image\": \"3.png\", \"question\": \"무슨 색인가요?\", \"answer\": \"파란색\"}\n"
                "{\"image\": \"4.png\", \"question\": \"몇 개인가요?\", \"answers\": [\"두 개\", \"2개\"]}\n");
  RecordLog log(/*strict=*/true);
  const auto sentences = read_training_text({plain, jsonl}, log);
  CHECK(sentences == std::vector<std::string>{"첫 줄", "둘째 줄", "빨간 원이 위에 있다.", "하나", "둘",
                                              "무슨 색인가요?", "파란색", "몇 개인가요?", "두 개", "2개"});
  CHECK(log.accepted() == 6);
  CHECK(log.skipped() == 0);
}

TEST_CASE("bad training lines stop the run with file:line, or are skipped and counted", "[tokenizer]") {
  TempDir dir;
  const fs::path plain = dir.write("bad.txt", "좋은 줄\n나쁜 \xc3\x28 줄\n또 좋은 줄\n");
  const fs::path jsonl = dir.write("bad.jsonl",
                                   "{\"caption\": \"좋다\"}\n"
                                   "{\"caption\": 5}\n"
                                   "{\"image\": \"x.png\"}\n"
                                   "{\"captions\": [\"a\", 1]}\n"
                                   "not json\n");
  {
    RecordLog strict(true);
    CHECK_THROWS_WITH(read_training_text({plain}, strict), plain.string() + ":2: invalid UTF-8 at byte 7");
  }
  {
    RecordLog strict(true);
    CHECK_THROWS_WITH(read_training_text({jsonl}, strict), jsonl.string() + ":2: field 'caption' is not a string");
  }
  RecordLog lenient(false);
  const auto sentences = read_training_text({plain, jsonl}, lenient);
  CHECK(sentences == std::vector<std::string>{"좋은 줄", "또 좋은 줄", "좋다"});
  CHECK(lenient.skipped() == 5);
  CHECK(lenient.accepted() == 3);
  CHECK_THAT(lenient.messages().at(2), Contains(":3: no caption, captions, question, answer or answers text"));
  CHECK_THROWS_WITH(read_training_text({dir.path() / "absent.txt"}, lenient),
                    (dir.path() / "absent.txt").string() + ": cannot open");
}

TEST_CASE("the output folder is written whole, refused when not empty, replaced with overwrite", "[tokenizer]") {
  TempDir dir;
  const std::string model = read_bytes(kData / "fixture.model");
  const fs::path out = dir.path() / "nested" / "tok";
  hanvit::language::write_tokenizer_folder(out, model, /*overwrite=*/false);
  CHECK(folder_names(out) == std::vector<std::string>{"tokenizer.model", "tokenizer.vocab"});
  CHECK(folder_names(out.parent_path()) == std::vector<std::string>{"tok"});
  CHECK(read_bytes(out / "tokenizer.model") == model);

  // tokenizer.vocab: one "piece<TAB>score" line per id, specials first with score 0.
  const SentencePieceTokenizer tokenizer(out);
  std::ifstream vocab(out / "tokenizer.vocab");
  std::vector<std::string> lines;
  for (std::string line; std::getline(vocab, line);) lines.push_back(line);
  REQUIRE(lines.size() == static_cast<size_t>(tokenizer.vocab_size()));
  CHECK(lines[0] == "<pad>\t0");
  CHECK(lines[4] == "<image>\t0");
  CHECK(lines[tokenizer.piece_to_id("<0x41>")] == "<0x41>\t0");

  CHECK_THROWS_WITH(hanvit::language::write_tokenizer_folder(out, model, false),
                    out.string() + ": folder exists and is not empty (pass --overwrite to replace it)");
  CHECK_THROWS_WITH(hanvit::language::check_tokenizer_folder(out / "tokenizer.model", true),
                    (out / "tokenizer.model").string() + ": exists and is not a folder");
  // A model that does not load never replaces the old folder.
  CHECK_THROWS_AS(hanvit::language::write_tokenizer_folder(out, "garbage", true), std::runtime_error);
  CHECK(read_bytes(out / "tokenizer.model") == model);

  dir.write("nested/tok/stale.txt", "old");
  hanvit::language::write_tokenizer_folder(out, model, /*overwrite=*/true);
  CHECK(folder_names(out) == std::vector<std::string>{"tokenizer.model", "tokenizer.vocab"});
  CHECK(folder_names(out.parent_path()) == std::vector<std::string>{"tok"});

  const fs::path empty = dir.path() / "empty";
  fs::create_directory(empty);
  hanvit::language::write_tokenizer_folder(empty, model, false);
  CHECK(folder_names(empty) == std::vector<std::string>{"tokenizer.model", "tokenizer.vocab"});
}
