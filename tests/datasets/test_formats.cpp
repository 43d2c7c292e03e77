// Dataset formats on the committed fixtures: samples, Korean/English COCO, LLaVA placeholders, the registry and
// detection.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "datasets/formats/dataset_format.h"
#include "datasets/formats/vqa_jsonl.h"

using namespace hanvit::data;
namespace fs = std::filesystem;

namespace {

const fs::path kDir = fs::path(HANVIT_TEST_DATA) / "formats";

std::string image(const std::string& name) { return (kDir / "images" / name).lexically_normal().string(); }

std::vector<Sample> read(const std::string& file, std::string_view format, RecordLog& log, FormatOptions options = {}) {
  return read_samples(kDir / file, format, options, log);
}

}  // namespace

TEST_CASE("caption-jsonl reads caption and captions records with absolute image paths", "[formats]") {
  RecordLog log;
  const std::vector<Sample> s = read("captions.jsonl", "caption-jsonl", log);
  REQUIRE(s.size() == 3);
  CHECK(log.accepted() == 3);
  CHECK(log.skipped() == 0);
  CHECK(s[0].kind == SampleKind::caption);
  CHECK(s[0].image.string() == image("red.png"));
  CHECK(s[0].image.is_absolute());
  REQUIRE(s[0].turns.size() == 1);
  CHECK(s[0].turns[0].user.empty());
  CHECK(s[0].turns[0].assistant == "빨간 사각형이 가운데에 있다.");
  CHECK(s[0].source == (kDir / "captions.jsonl").string() + ":1");
  CHECK(s[1].references == std::vector<std::string>{"초록 사각형이 있다.", "초록색 그림이다."});
  CHECK(s[1].turns[0].assistant == "초록 사각형이 있다.");
  CHECK(s[1].source == (kDir / "captions.jsonl").string() + ":3");  // line 2 is blank
  CHECK(s[2].image.string() == image("blue.png"));
}

TEST_CASE("vqa-jsonl takes the answer, or the most frequent of the answers, and keeps them all", "[formats]") {
  RecordLog log;
  const std::vector<Sample> s = read("vqa.jsonl", "vqa-jsonl", log);
  REQUIRE(s.size() == 3);
  CHECK(s[0].kind == SampleKind::vqa);
  CHECK(s[0].turns[0].user == "무슨 색인가요?");
  CHECK(s[0].turns[0].assistant == "빨간색");
  CHECK(s[0].references == std::vector<std::string>{"빨간색"});
  // "두 개" and "한 개" both appear twice: the tie goes to the one seen first.
  CHECK(s[1].turns[0].assistant == "두 개");
  CHECK(s[1].references.size() == 5);
  // VQAv2 answer objects.
  CHECK(s[2].turns[0].assistant == "남색");
  CHECK(s[2].references == std::vector<std::string>{"파란색", "남색", "남색"});
  CHECK(majority_answer({"a", "b", "b", "a", "c", "c", "c"}) == "c");
  CHECK(majority_answer({"x"}) == "x");
}

TEST_CASE("coco-captions groups annotations per image in image order", "[formats]") {
  RecordLog log;
  FormatOptions options;
  options.image_root = kDir / "images";  // coco.json names bare files, as COCO does
  const std::vector<Sample> s = read("coco.json", "coco-captions", log, options);
  REQUIRE(s.size() == 2);  // blue.png (id 11) has no caption
  CHECK(log.skipped() == 1);
  CHECK(log.messages()[0] == (kDir / "coco.json").string() + ": images[2]: no caption");
  CHECK(s[0].image.string() == image("red.png"));
  CHECK(s[0].references == std::vector<std::string>{"A red square."});
  CHECK(s[0].source == (kDir / "coco.json").string() + ": images[0] (id 7)");
  CHECK(s[1].references == std::vector<std::string>{"A green square.", "Something green."});
  CHECK(s[1].turns[0].assistant == "A green square.");
}

TEST_CASE("coco-captions reads caption_ko on images and annotations, Korean by default", "[formats]") {
  RecordLog ko_log, en_log;
  const std::vector<Sample> ko = read("coco_ko.json", "", ko_log);
  FormatOptions english;
  english.language = CaptionLanguage::english;
  const std::vector<Sample> en = read("coco_ko.json", "", en_log, english);
  REQUIRE(ko.size() == 3);
  REQUIRE(en.size() == 3);
  CHECK(ko[0].references == std::vector<std::string>{"빨간 사각형이다."});
  CHECK(ko[1].references == std::vector<std::string>{"초록 사각형이다.", "초록색.", "녹색 사각형."});
  CHECK(ko[2].references == std::vector<std::string>{"Only English here."});  // no Korean: English it is
  CHECK(en[0].references == std::vector<std::string>{"A red square."});
  CHECK(en[1].references == std::vector<std::string>{"A green square.", "Green."});
  CHECK(en[2].references == std::vector<std::string>{"Only English here."});
}

TEST_CASE("coco-captions reads the AI Hub MSCOCO Korean array layout", "[formats]") {
  RecordLog log;
  const std::vector<Sample> s = read("coco_aihub.json", "", log);
  REQUIRE(s.size() == 2);
  CHECK(s[0].references == std::vector<std::string>{"빨간 사각형.", "빨강."});
  CHECK(s[0].image.string() == image("red.png"));
  CHECK(s[0].source == (kDir / "coco_aihub.json").string() + ": [0]");
  CHECK(s[1].references == std::vector<std::string>{"A green square."});
  const std::string file = (kDir / "coco_aihub.json").string();
  REQUIRE(log.messages().size() == 3);
  CHECK(log.messages()[0] == file + ": [2]: image not found: " + image("missing.png"));
  CHECK(log.messages()[1] == file + ": [3]: missing field 'file_path'");
  CHECK(log.messages()[2] == file + ": [4]: 'captions' is empty");
}

TEST_CASE("coco-captions resolves file names against the image root, by default the JSON file's folder", "[formats]") {
  RecordLog log;
  const std::vector<Sample> s = read("coco.json", "coco-captions", log);
  CHECK(s.empty());
  CHECK(log.skipped() == 6);  // 3 images not found, then their 3 annotations
  CHECK(log.messages()[0] == (kDir / "coco.json").string() +
                                 ": images[0]: image not found: " + (kDir / "red.png").lexically_normal().string());
  CHECK(log.messages()[3] == (kDir / "coco.json").string() + ": annotations[0]: image_id 9 belongs to a skipped image");
}

TEST_CASE("llava strips the <image> placeholder and records where it was", "[formats]") {
  RecordLog log;
  const std::vector<Sample> s = read("llava.json", "llava", log);
  REQUIRE(s.size() == 2);
  CHECK(s[0].kind == SampleKind::conversation);
  REQUIRE(s[0].turns.size() == 2);
  CHECK(s[0].turns[0].user == "무슨 색인가요?");
  CHECK(s[0].turns[0].assistant == "빨간색입니다.");
  CHECK(s[0].turns[1].user == "모양은요?");
  CHECK(s[0].turns[1].assistant == "사각형입니다.");
  CHECK(s[0].image_first);
  CHECK(s[0].source == (kDir / "llava.json").string() + ": [0] (id 000001)");
  REQUIRE(s[1].turns.size() == 1);
  CHECK(s[1].turns[0].user == "이 그림을 설명해 주세요.");
  CHECK_FALSE(s[1].image_first);
  CHECK(s[1].source == (kDir / "llava.json").string() + ": [1] (id 2)");
}

TEST_CASE("the registry lists and finds formats; detection reads extension and content", "[formats]") {
  CHECK(list_formats() == std::vector<std::string>{"caption-jsonl", "coco-captions", "vqa-jsonl", "llava"});
  CHECK(find_format("llava").name == "llava");
  CHECK_THROWS_WITH(find_format("csv"),
                    "unknown dataset format 'csv' (known: caption-jsonl, coco-captions, vqa-jsonl, llava)");
  CHECK(detect_format(kDir / "captions.jsonl").name == "caption-jsonl");
  CHECK(detect_format(kDir / "captions_bad.jsonl").name == "caption-jsonl");
  CHECK(detect_format(kDir / "vqa.jsonl").name == "vqa-jsonl");
  CHECK(detect_format(kDir / "coco.json").name == "coco-captions");
  CHECK(detect_format(kDir / "coco_ko.json").name == "coco-captions");
  CHECK(detect_format(kDir / "coco_aihub.json").name == "coco-captions");
  CHECK(detect_format(kDir / "llava.json").name == "llava");

  const fs::path tmp = fs::temp_directory_path();
  std::ofstream(tmp / "hanvit_detect.csv") << "image,caption\n";
  std::ofstream(tmp / "hanvit_detect.jsonl") << "\n{\"image\": \"a.png\", \"text\": \"x\"}\n";
  std::ofstream(tmp / "hanvit_detect.json") << "{\"data\": []}";
  CHECK_THROWS_WITH(detect_format(tmp / "hanvit_detect.csv"),
                    Catch::StartsWith((tmp / "hanvit_detect.csv").string() +
                                      ": cannot tell the dataset format (the extension is neither .jsonl nor .json)"));
  CHECK_THROWS_WITH(detect_format(tmp / "hanvit_detect.jsonl"),
                    Catch::Contains("hanvit_detect.jsonl: cannot tell the dataset format (its first line has neither"));
  CHECK_THROWS_WITH(detect_format(tmp / "hanvit_detect.json"),
                    Catch::Contains("hanvit_detect.json: cannot tell the dataset format"));
  CHECK_THROWS_WITH(detect_format(tmp / "hanvit_absent.json"), (tmp / "hanvit_absent.json").string() + ": cannot open");
  for (const char* name : {"hanvit_detect.csv", "hanvit_detect.jsonl", "hanvit_detect.json"}) fs::remove(tmp / name);
}
