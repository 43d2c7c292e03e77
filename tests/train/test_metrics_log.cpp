// MetricsLog and read_metrics: line format, appends across reopenings, torn last lines, and FILE:LINE errors.
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "apps/train/metrics_log.h"

namespace fs = std::filesystem;
using hanvit::app::MetricsLog;
using hanvit::app::MetricsRecord;
using hanvit::app::read_metrics;

namespace {

// A fresh run folder under the system temp folder, removed with everything in it.
class TempRunDir {
 public:
  TempRunDir() {
    std::string pattern = (fs::temp_directory_path() / "hanvit-metrics-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  TempRunDir(const TempRunDir&) = delete;
  TempRunDir& operator=(const TempRunDir&) = delete;
  ~TempRunDir() {
    std::error_code error;
    fs::remove_all(path_, error);
  }
  std::string folder() const { return path_.string(); }
  std::string log() const { return (path_ / "metrics.jsonl").string(); }

 private:
  fs::path path_;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string read_error(const std::string& path) {
  try {
    read_metrics(path);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("train/metrics_log writes one object per line with step and split first", "[train]") {
  TempRunDir run;
  {
    MetricsLog log(run.folder());
    CHECK(log.path() == run.log());
    log.append({10, "train", {{"loss", 2.5}, {"lr", 0.0003}, {"tokens_per_s", 1200.0}}});
    log.append({10, "val", {{"loss", 2.75}, {"vqa_accuracy", 0.5}}});
  }
  CHECK(read_text(run.log()) ==
        "{\"step\":10,\"split\":\"train\",\"loss\":2.5,\"lr\":0.0003,\"tokens_per_s\":1200.0}\n"
        "{\"step\":10,\"split\":\"val\",\"loss\":2.75,\"vqa_accuracy\":0.5}\n");
}

TEST_CASE("train/metrics_log reads back what it wrote, appending across reopenings", "[train]") {
  TempRunDir run;
  MetricsLog(run.folder()).append({1, "train", {{"loss", 3.0}, {"lr", 1e-4}}});
  MetricsLog(run.folder()).append({2, "val", {{"cider_d", 0.125}}});
  const auto records = read_metrics(run.log());
  REQUIRE(records.size() == 2);
  CHECK(records[0].step == 1);
  CHECK(records[0].split == "train");
  CHECK(records[0].values == std::map<std::string, double>{{"loss", 3.0}, {"lr", 1e-4}});
  CHECK(records[1].step == 2);
  CHECK(records[1].split == "val");
  CHECK(records[1].values == std::map<std::string, double>{{"cider_d", 0.125}});
}

TEST_CASE("train/metrics_log writes a value that is not finite as null and reads it as NaN", "[train]") {
  TempRunDir run;
  MetricsLog(run.folder()).append({5, "train", {{"loss", std::nan("")}, {"grad_norm", INFINITY}}});
  CHECK(read_text(run.log()) == "{\"step\":5,\"split\":\"train\",\"grad_norm\":null,\"loss\":null}\n");
  const auto records = read_metrics(run.log());
  REQUIRE(records.size() == 1);
  CHECK(std::isnan(records[0].values.at("loss")));
}

TEST_CASE("train/metrics_log refuses records it could not read back", "[train]") {
  TempRunDir run;
  MetricsLog log(run.folder());
  CHECK_THROWS_WITH(log.append({-1, "train", {{"loss", 1.0}}}), Catch::Contains("step -1: the step is negative"));
  CHECK_THROWS_WITH(log.append({1, "test", {{"loss", 1.0}}}), Catch::Contains("split 'test' is not train or val"));
  CHECK_THROWS_WITH(log.append({1, "train", {}}), Catch::Contains("no metric values"));
  CHECK_THROWS_WITH(log.append({1, "train", {{"val/loss", 1.0}}}), Catch::Contains("metric name 'val/loss' has"));
  CHECK_THROWS_WITH(log.append({1, "train", {{"step", 1.0}}}), Catch::Contains("metric name 'step' is reserved"));
  CHECK(read_text(run.log()).empty());
}

TEST_CASE("train/metrics_log ignores a torn last line", "[train]") {
  TempRunDir run;
  write_text(run.log(), "{\"step\":1,\"split\":\"train\",\"loss\":2.0}\n{\"step\":2,\"split\":\"tr");
  const auto records = read_metrics(run.log());
  REQUIRE(records.size() == 1);
  CHECK(records[0].step == 1);

  // A complete last record without its newline still counts.
  write_text(run.log(), "{\"step\":1,\"split\":\"train\",\"loss\":2.0}\n{\"step\":2,\"split\":\"val\",\"loss\":1.0}");
  CHECK(read_metrics(run.log()).size() == 2);
}

TEST_CASE("train/metrics_log cuts a torn last line off before appending", "[train]") {
  TempRunDir run;
  write_text(run.log(), "{\"step\":1,\"split\":\"train\",\"loss\":2.0}\n{\"step\":2,\"spl");
  MetricsLog(run.folder()).append({2, "train", {{"loss", 1.5}}});
  CHECK(read_text(run.log()) ==
        "{\"step\":1,\"split\":\"train\",\"loss\":2.0}\n{\"step\":2,\"split\":\"train\",\"loss\":1.5}\n");

  write_text(run.log(), "{\"step\":1,");
  MetricsLog(run.folder()).append({1, "val", {{"loss", 1.25}}});
  CHECK(read_text(run.log()) == "{\"step\":1,\"split\":\"val\",\"loss\":1.25}\n");
}

TEST_CASE("train/metrics_log names the file and line of a malformed line", "[train]") {
  TempRunDir run;
  const std::string good = "{\"step\":1,\"split\":\"train\",\"loss\":2.0}\n";
  const std::string at_line_2 = run.log() + ":2: ";
  auto error_with_line_2 = [&](const std::string& line) {
    write_text(run.log(), good + line + "\n" + good);
    return read_error(run.log());
  };
  CHECK_THAT(error_with_line_2("{\"step\":2,\"split\":"), Catch::StartsWith(at_line_2 + "line is not valid JSON"));
  CHECK_THAT(error_with_line_2(""), Catch::StartsWith(at_line_2 + "line is not valid JSON"));
  CHECK(error_with_line_2("[1,2]") == at_line_2 + "line is not a JSON object");
  CHECK(error_with_line_2("{\"split\":\"train\",\"loss\":1}") == at_line_2 + "'step' is missing");
  CHECK(error_with_line_2("{\"step\":1.5,\"split\":\"train\",\"loss\":1}") ==
        at_line_2 + "'step' is not a non-negative integer: 1.5");
  CHECK(error_with_line_2("{\"step\":-3,\"split\":\"train\",\"loss\":1}") ==
        at_line_2 + "'step' is not a non-negative integer: -3");
  CHECK(error_with_line_2("{\"step\":1,\"loss\":1}") == at_line_2 + "'split' is missing");
  CHECK(error_with_line_2("{\"step\":1,\"split\":\"dev\",\"loss\":1}") ==
        at_line_2 + "'split' is not \"train\" or \"val\": \"dev\"");
  CHECK(error_with_line_2("{\"step\":1,\"split\":\"train\",\"loss\":\"low\"}") ==
        at_line_2 + "metric 'loss' is not a number: \"low\"");
  CHECK(error_with_line_2("{\"step\":1,\"split\":\"train\",\"ok\":true}") ==
        at_line_2 + "metric 'ok' is not a number: true");
  CHECK(error_with_line_2("{\"step\":1,\"split\":\"train\",\"loss\":1,\"loss\":2}") ==
        at_line_2 + "line has duplicate key 'loss'");

  // A malformed last line that ends with its newline was written whole: it is an error, not a torn write.
  write_text(run.log(), good + "{\"step\":2}\n");
  CHECK(read_error(run.log()) == at_line_2 + "'split' is missing");
}

TEST_CASE("train/metrics_log refuses a missing file", "[train]") {
  TempRunDir run;
  CHECK(read_error(run.log()) == "metrics file '" + run.log() + "' is missing");
  CHECK_THROWS_WITH(MetricsLog(run.folder() + "/absent"), Catch::Contains("absent/metrics.jsonl' cannot be opened"));
}
