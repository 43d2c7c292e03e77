// JSON Lines reading: good lines reach the callback, bad ones are skipped with file:line or stop a strict run.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "datasets/formats/jsonl_file.h"

using namespace hanvit::data;
namespace fs = std::filesystem;

namespace {
fs::path write_temp(const std::string& name, const std::string& bytes) {
  const fs::path path = fs::temp_directory_path() / name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}
}  // namespace

TEST_CASE("jsonl skips bad JSON and invalid UTF-8 with file:line and counts them", "[jsonl]") {
  const fs::path path = write_temp("hanvit_jsonl_mixed.jsonl",
                                   "{\"caption\": \"빨간 원\"}\n\n{not json\n{\"caption\": \"\xff\"}\r\n{\"caption\": \"ok\"}\n");
  RecordLog log;
  std::vector<std::string> seen;
  read_jsonl(path, log, [&](const JsonlRecord& r) {
    seen.push_back(r.value.at("caption").get<std::string>() + "@" + r.where.substr(r.where.rfind(':') + 1));
    log.accept();
  });
  CHECK(seen == std::vector<std::string>{"빨간 원@1", "ok@5"});
  CHECK(log.accepted() == 2);
  CHECK(log.skipped() == 2);
  REQUIRE(log.messages().size() == 2);
  CHECK(log.messages()[0] == path.string() + ":3: not valid JSON");
  CHECK(log.messages()[1] == path.string() + ":4: invalid UTF-8 at byte 13");
  CHECK(log.summary().starts_with("4 records read, 2 skipped, first: "));
  fs::remove(path);
}

TEST_CASE("jsonl in strict mode stops at the first bad line; a missing file is named", "[jsonl]") {
  const fs::path path = write_temp("hanvit_jsonl_strict.jsonl", "{\"a\": 1}\n[1,\n");
  RecordLog strict(true);
  CHECK_THROWS_WITH(read_jsonl(path, strict, [&](const JsonlRecord&) { strict.accept(); }),
                    path.string() + ":2: not valid JSON");
  RecordLog log;
  CHECK_THROWS_WITH(read_jsonl("/nonexistent/x.jsonl", log, [](const JsonlRecord&) {}),
                    "/nonexistent/x.jsonl: cannot open");
  const fs::path bad = write_temp("hanvit_bad.json", "{\"images\": [1, 2,]}");
  CHECK_THROWS_WITH(read_json_file(bad), Catch::Contains("hanvit_bad.json: not valid JSON"));
  fs::remove(path);
  fs::remove(bad);
}
