// Evaluation sets: predictions matched to references, bad and unmatched records reported with file:line.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "datasets/metrics/eval_report.h"
#include "datasets/metrics/eval_set.h"

using namespace hanvit::data;
namespace fs = std::filesystem;

namespace {

fs::path write_temp(const std::string& name, const std::string& bytes) {
  const fs::path path = fs::temp_directory_path() / name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

}  // namespace

TEST_CASE("eval set: unmatched predictions and references are listed and not scored", "[metrics]") {
  const fs::path pred = write_temp("hanvit_metrics_unmatched_pred.jsonl",
                                   "{\"image\": \"a.png\", \"caption\": \"빨간 원이 있다.\"}\n"
                                   "{\"image\": \"b.png\", \"caption\": \"파란 하트가 있다.\"}\n");
  const fs::path ref = write_temp("hanvit_metrics_unmatched_ref.jsonl",
                                  "{\"image\": \"a.png\", \"captions\": [\"빨간 원이 있다.\"]}\n"
                                  "{\"image\": \"./b.png\", \"caption\": \"파란 하트가 있다.\"}\n");
  RecordLog prediction_log, reference_log;
  const EvalSet set = load_eval_set(pred, ref, std::nullopt, prediction_log, reference_log);
  REQUIRE(set.captions.size() == 1);
  CHECK(set.captions[0].image == "a.png");
  REQUIRE(set.unmatched_predictions.size() == 1);
  CHECK(set.unmatched_predictions[0] == pred.string() + ":2: no reference for image 'b.png' in " + ref.string());
  REQUIRE(set.unmatched_references.size() == 1);
  CHECK(set.unmatched_references[0] == ref.string() + ":2: no prediction for image './b.png' in " + pred.string());
  const nlohmann::json report = eval_report(set, TokenMode::whitespace);
  CHECK(report.at("count") == 1);
  CHECK(report.at("unmatched_predictions") == 1);
  CHECK(report.at("unmatched_references") == 1);
  CHECK(report.at("rouge_l") == Approx(1.0));

  RecordLog strict_predictions(true), strict_references(true);
  CHECK_THROWS_WITH(load_eval_set(pred, ref, std::nullopt, strict_predictions, strict_references),
                    pred.string() + ":2: no reference for image 'b.png' in " + ref.string());
  fs::remove(pred);
  fs::remove(ref);
}

TEST_CASE("eval set: invalid UTF-8, bad fields and repeats are skipped with file:line", "[metrics]") {
  const fs::path pred = write_temp("hanvit_metrics_bad_pred.jsonl",
                                   "{\"image\": \"a.png\", \"question\": \"몇 개?\", \"answer\": \"two\"}\n"
                                   "{\"image\": \"b.png\", \"question\": \"색?\", \"answer\": \"\xed\xa0\x80\"}\n"
                                   "{\"image\": \"c.png\", \"question\": \"색?\"}\n"
                                   "{\"image\": \"a.png\", \"question\": \"몇 개?\", \"answer\": \"3\"}\n"
                                   "[1, 2]\n");
  const fs::path ref =
      write_temp("hanvit_metrics_bad_ref.jsonl",
                 "{\"image\": \"a.png\", \"question\": \"몇 개?\", \"answers\": [{\"answer\": \"2\"}]}\n"
                 "{\"image\": \"c.png\", \"question\": \"색?\", \"answers\": [\"red\", \" \"]}\n"
                 "{\"image\": \"a.png\", \"question\": \"몇 개?\", \"answer\": \"3\"}\n"
                 "{\"image\": \"d.png\", \"question\": \"색?\", \"answers\": []}\n");
  RecordLog prediction_log, reference_log;
  const EvalSet set = load_eval_set(pred, ref, std::nullopt, prediction_log, reference_log);
  CHECK(set.task == EvalTask::vqa);
  REQUIRE(set.questions.size() == 1);
  CHECK(set.questions[0].prediction == "two");
  CHECK(set.questions[0].answers == std::vector<std::string>{"2"});
  CHECK(prediction_log.accepted() == 1);
  CHECK(prediction_log.messages() ==
        std::vector<std::string>{
            pred.string() + ":2: invalid UTF-8 at byte 50", pred.string() + ":3: missing field 'answer'",
            pred.string() + ":4: repeated prediction for image 'a.png', question '몇 개?' (first at " + pred.string() +
                ":1)",
            pred.string() + ":5: record is not a JSON object"});
  CHECK(reference_log.messages() ==
        std::vector<std::string>{ref.string() + ":2: 'answers[1]' is empty",
                                 ref.string() +
                                     ":3: repeated reference for image 'a.png', question '몇 개?' (first at " +
                                     ref.string() + ":1)",
                                 ref.string() + ":4: 'answers' is empty"});
  CHECK(eval_report(set, TokenMode::whitespace).at("vqa_accuracy") == Approx(100.0));

  RecordLog strict_predictions(true), references_again;
  CHECK_THROWS_WITH(load_eval_set(pred, ref, std::nullopt, strict_predictions, references_again),
                    pred.string() + ":2: invalid UTF-8 at byte 50");
  fs::remove(pred);
  fs::remove(ref);
}

TEST_CASE("eval set: forced task, nothing matched, missing file", "[metrics]") {
  const fs::path pred = write_temp("hanvit_metrics_task_pred.jsonl", "{\"image\": \"a.png\", \"caption\": \"원\"}\n");
  const fs::path ref = write_temp("hanvit_metrics_task_ref.jsonl", "{\"image\": \"a.png\", \"caption\": \"원\"}\n");
  RecordLog p1, r1;
  CHECK_THROWS_WITH(load_eval_set(pred, ref, EvalTask::vqa, p1, r1),
                    Catch::StartsWith("no prediction in " + pred.string() + " matches a reference in " + ref.string()));
  CHECK(p1.messages() == std::vector<std::string>{pred.string() + ":1: missing field 'question'"});
  RecordLog p2, r2;
  CHECK(load_eval_set(pred, ref, EvalTask::caption, p2, r2).captions.size() == 1);
  RecordLog p3, r3;
  CHECK_THROWS_WITH(load_eval_set(pred, "/nonexistent/ref.jsonl", std::nullopt, p3, r3),
                    "/nonexistent/ref.jsonl: cannot open");
  CHECK_THROWS_WITH(parse_eval_task("captions"), "unknown task 'captions' (expected caption or vqa)");
  fs::remove(pred);
  fs::remove(ref);
}
