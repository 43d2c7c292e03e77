// Bad records of every kind in every format: skipped with file:line (or file: entry) and a reason, counted, or fatal
// when strict.
#include <catch2/catch.hpp>
#include <filesystem>

#include "datasets/formats/dataset_format.h"

using namespace hanvit::data;
namespace fs = std::filesystem;

namespace {

const fs::path kDir = fs::path(HANVIT_TEST_DATA) / "formats";

std::string image(const std::string& name) { return (kDir / "images" / name).lexically_normal().string(); }

// Reads `file` leniently, checks the counts and every message, then strictly: it must stop with the first message.
void check_bad(const std::string& file, std::string_view format, size_t accepted,
               const std::vector<std::string>& expected) {
  RecordLog log;
  const std::vector<Sample> samples = read_samples(kDir / file, format, {}, log);
  CHECK(samples.size() == accepted);
  CHECK(log.accepted() == accepted);
  CHECK(log.skipped() == expected.size());
  std::vector<std::string> want;
  for (const std::string& e : expected) want.push_back((kDir / file).string() + e);
  CHECK(log.messages() == want);
  RecordLog strict(true);
  CHECK_THROWS_WITH(read_samples(kDir / file, format, {}, strict), want.front());
}

}  // namespace

TEST_CASE("caption-jsonl bad records", "[formats]") {
  check_bad("captions_bad.jsonl", "caption-jsonl", 2,
            {":2: not valid JSON", ":3: missing field 'caption'", ":4: 'image' is not a string",
             ":5: 'caption' is empty", ":6: invalid UTF-8 at byte 40", ":7: image not found: " + image("missing.png"),
             ":8: 'captions' is empty", ":9: 'captions[1]' is not a string", ":10: record is not a JSON object"});
}

TEST_CASE("vqa-jsonl bad records", "[formats]") {
  check_bad("vqa_bad.jsonl", "vqa-jsonl", 1,
            {":2: not valid JSON", ":3: missing field 'question'", ":4: missing field 'answer'",
             ":5: 'question' is not a string", ":6: 'answer' is empty", ":7: invalid UTF-8 at byte 41",
             ":8: image not found: " + image("missing.png"), ":9: missing field 'answer'", ":10: 'answers' is empty"});
}

TEST_CASE("coco-captions bad image entries and annotations", "[formats]") {
  check_bad("coco_bad.json", "coco-captions", 1,
            {": images[1]: missing field 'id'", ": images[2]: 'id' is not an integer",
             ": images[3]: image not found: " + image("missing.png"), ": images[4]: duplicate image id 1",
             ": images[5]: 'file_name' is not a string", ": annotations[1]: unknown image_id 99",
             ": annotations[2]: missing field 'image_id'", ": annotations[3]: missing field 'caption'",
             ": annotations[4]: 'caption' is empty", ": annotations[5]: 'caption' is not a string",
             ": annotations[6]: image_id 3 belongs to a skipped image", ": images[6]: no caption"});
}

TEST_CASE("coco-captions and llava files that are not valid UTF-8 JSON fail as a whole", "[formats]") {
  RecordLog log;
  CHECK_THROWS_WITH(read_samples(kDir / "coco_invalid_utf8.json", "coco-captions", {}, log),
                    (kDir / "coco_invalid_utf8.json").string() + ": invalid UTF-8 at byte 36");
  CHECK_THROWS_WITH(read_samples(kDir / "captions.jsonl", "llava", {}, log),
                    Catch::StartsWith((kDir / "captions.jsonl").string() + ": not valid JSON"));
  RecordLog strict(true);
  CHECK_THROWS_WITH(read_samples(kDir / "llava.json", "coco-captions", {}, strict),
                    (kDir / "llava.json").string() + ": [0]: missing field 'file_path'");
  CHECK_THROWS_WITH(read_samples(kDir / "coco.json", "llava", {}, log),
                    (kDir / "coco.json").string() + ": not a LLaVA file (not a JSON array)");
}

TEST_CASE("llava bad records", "[formats]") {
  check_bad("llava_bad.json", "llava", 1,
            {": [1]: missing field 'image'", ": [2]: 'conversations' has 1 turns, expected human/gpt pairs",
             ": [3]: conversations[0].from is 'gpt', expected 'human'", ": [4]: 'conversations[1].value' is empty",
             ": [5]: conversations[2] has an <image> placeholder (only the first may)",
             ": [6]: image not found: " + image("missing.png"), ": [7]: 'conversations' is not an array",
             ": [8]: conversations[0].value is empty without the <image> placeholder"});
}

TEST_CASE("image existence checks can be turned off", "[formats]") {
  RecordLog log;
  FormatOptions options;
  options.check_images = false;
  const std::vector<Sample> s = read_samples(kDir / "coco_aihub.json", "", options, log);
  REQUIRE(s.size() == 3);
  CHECK(s[2].image.string() == image("missing.png"));
}
