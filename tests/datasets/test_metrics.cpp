// Caption and VQA metrics: hand-checked cases and parity with sacrebleu, pycocoevalcap and the official VQAv2 rule
// (fixture).
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "datasets/formats/jsonl_file.h"
#include "datasets/metrics/bleu.h"
#include "datasets/metrics/cider_d.h"
#include "datasets/metrics/eval_report.h"
#include "datasets/metrics/eval_set.h"
#include "datasets/metrics/rouge_l.h"
#include "datasets/metrics/vqa_accuracy.h"
#include "datasets/metrics/vqa_normalize.h"

using namespace hanvit::data;

namespace {

const std::string kFixtures = std::string(HANVIT_TEST_DATA) + "/metrics/";
constexpr double kTolerance = 1e-9;

Tokens words(const std::string& text) { return metric_tokens(text, TokenMode::whitespace); }

void check_near(double actual, double expected, const std::string& what) {
  INFO(what << ": " << actual << " vs expected " << expected);
  CHECK(std::abs(actual - expected) <= kTolerance * std::max(1.0, std::abs(expected)));
}

}  // namespace

TEST_CASE("metric tokens: whitespace words as str.split(), characters as sacrebleu's char tokenizer", "[metrics]") {
  CHECK(words("  빨간 원이\t왼쪽\u3000위에\n있다. ") == Tokens{"빨간", "원이", "왼쪽", "위에", "있다."});
  CHECK(words(" \u00a0 ").empty());
  CHECK(metric_tokens("빨간 원 .", TokenMode::character) == Tokens{"빨", "간", "원", "."});
  CHECK(trim_metric_space("\u3000 가운데 \t") == "가운데");
  CHECK_THROWS_WITH(metric_tokens("원\xff", TokenMode::whitespace, "prediction for image 'a.png'"),
                    "prediction for image 'a.png': invalid UTF-8 at byte 3");
  CHECK_THROWS_WITH(normalize_vqa_answer("\xc0\x80"), "answer: invalid UTF-8 at byte 0");
}

TEST_CASE("BLEU-4 hand-checked: identical, disjoint, brevity penalty, smoothing, closest length", "[metrics]") {
  CHECK(corpus_bleu({words("빨간 원이 왼쪽 위에 있다.")}, {{words("빨간 원이 왼쪽 위에 있다.")}}).score ==
        Approx(100.0));
  CHECK(corpus_bleu({words("a b c d")}, {{words("e f g h")}}).score == 0.0);
  // All n-grams match, 4 tokens against 6: BP = exp(1 - 6/4).
  const BleuScore short_hyp = corpus_bleu({words("a b c d")}, {{words("a b c d e f")}});
  CHECK(short_hyp.brevity_penalty == Approx(std::exp(-0.5)));
  CHECK(short_hyp.score == Approx(100.0 * std::exp(-0.5)));
  // 3/4, 2/3, 1/2 and no 4-gram match: the first zero order gets 100 / (2 * 1).
  const BleuScore smoothed = corpus_bleu({words("a b c x")}, {{words("a b c d")}});
  CHECK(smoothed.precisions[3] == Approx(50.0));
  CHECK(smoothed.score ==
        Approx(std::exp((std::log(75.0) + std::log(200.0 / 3) + std::log(50.0) + std::log(50.0)) / 4)));
  // References of 4 and 6 tokens are equally close to 5: the shorter one counts, so no penalty.
  const BleuScore tie = corpus_bleu({words("a b c d e")}, {{words("a b c d"), words("a b c d e f")}});
  CHECK(tie.reference_length == 4);
  CHECK(tie.score == Approx(100.0));
  // Fewer than four hypothesis tokens in the whole corpus: no 4-gram at all, BLEU 0.
  CHECK(corpus_bleu({words("a b c")}, {{words("a b c")}}).score == 0.0);
  CHECK_THROWS_AS(corpus_bleu({words("a")}, {}), std::invalid_argument);
}

TEST_CASE("CIDEr-D and ROUGE-L hand-checked", "[metrics]") {
  // Two segments, idf = log 2 for every n-gram: segment 1 has cosine 1 at orders 1 and 2 and
  // nothing at 3 and 4 -> (1 + 1 + 0 + 0) / 4 * 10 = 5; segment 2 shares nothing -> 0.
  const CiderDScore cider = cider_d({words("a b"), words("c d")}, {{words("a b")}, {words("e f")}});
  CHECK(cider.per_segment[0] == Approx(5.0));
  CHECK(cider.per_segment[1] == 0.0);
  CHECK(cider.score == Approx(2.5));
  // One segment: every n-gram is in every reference set, idf 0, score 0.
  CHECK(cider_d({words("a b c d")}, {{words("a b c d")}}).score == 0.0);

  CHECK(longest_common_subsequence(words("a b c d e"), words("a x c y e z")) == 3);
  const double p = 3.0 / 5, r = 3.0 / 6;
  CHECK(rouge_l(words("a b c d e"), {words("a x c y e z")}) == Approx(2.44 * p * r / (r + 1.44 * p)));
  CHECK(rouge_l(words("빨간 원이 있다."), {words("파란 하트"), words("빨간 원이 있다.")}) == Approx(1.0));
  CHECK(rouge_l(words("a b"), {words("c d")}) == 0.0);
  CHECK(rouge_l({}, {words("c d")}) == 0.0);
  CHECK_THROWS_AS(rouge_l(words("a"), {Tokens{}}), std::invalid_argument);
}

TEST_CASE("VQA normalisation and accuracy hand-checked", "[metrics]") {
  CHECK(normalize_vqa_answer(" Two dogs.\n") == "2 dogs");
  CHECK(normalize_vqa_answer("10,000 (won)") == "10000 won");
  CHECK(normalize_vqa_answer("t-shirt") == "t shirt");
  CHECK(normalize_vqa_answer("an apple ; a pear") == "apple pear");
  CHECK(normalize_vqa_answer("Dont") == "don't");
  CHECK(normalize_vqa_answer("1.5") == "1.5");
  CHECK(normalize_vqa_answer("빨간색!") == "빨간색");
  CHECK(normalize_vqa_answer(std::string(34, '.')) == "..");  // the official script strips 32 at most

  const std::vector<std::string> ten_twos(10, "2");
  CHECK(vqa_accuracy("two", ten_twos) == 1.0);
  std::vector<std::string> one_match(10, "3");
  one_match[4] = "2";
  CHECK(vqa_accuracy("2", one_match) == Approx(0.3));  // 9 subsets with the match, 1 without: 9/3/10
  std::vector<std::string> two_matches = one_match;
  two_matches[7] = "2";
  CHECK(vqa_accuracy("2", two_matches) == Approx(0.6));  // (8 * 2/3 + 2 * 1/3) / 10
  CHECK(vqa_accuracy("cat", {"cat", "cat"}) == Approx(1.0 / 3));
  CHECK(vqa_accuracy("The cat.", {"cat"}) == 1.0);
  CHECK(vqa_accuracy("dog", {"cat"}) == 0.0);
  CHECK(exact_match(" 네 ", {"아니요", "네"}) == 1.0);
  CHECK(exact_match("네.", {"네"}) == 0.0);
  CHECK_THROWS_AS(vqa_accuracy("a", {}), std::invalid_argument);
}

TEST_CASE("caption metrics equal sacrebleu and pycocoevalcap on the Korean fixture", "[metrics]") {
  const nlohmann::json expected = read_json_file(kFixtures + "expected.json").at("caption");
  RecordLog prediction_log(true), reference_log(true);
  const EvalSet set = load_eval_set(kFixtures + "caption_pred.jsonl", kFixtures + "caption_ref.jsonl", std::nullopt,
                                    prediction_log, reference_log);
  REQUIRE(set.task == EvalTask::caption);
  const nlohmann::json& segments = expected.at("segments");
  REQUIRE(set.captions.size() == segments.size());
  for (size_t i = 0; i < segments.size(); ++i) {
    CHECK(set.captions[i].prediction == segments[i].at("prediction").get<std::string>());
    CHECK(set.captions[i].references == segments[i].at("references").get<std::vector<std::string>>());
  }
  for (const auto& [mode, name] :
       {std::pair{TokenMode::whitespace, "whitespace"}, std::pair{TokenMode::character, "char"}}) {
    const nlohmann::json& want = expected.at(name);
    const nlohmann::json report = eval_report(set, mode);
    CHECK(report.at("count") == segments.size());
    check_near(report.at("bleu4"), want.at("bleu4"), std::string(name) + " bleu4");
    check_near(report.at("cider_d"), want.at("cider_d"), std::string(name) + " cider_d");
    check_near(report.at("rouge_l"), want.at("rouge_l"), std::string(name) + " rouge_l");

    std::vector<Tokens> hypotheses;
    std::vector<std::vector<Tokens>> references;
    for (const CaptionPair& pair : set.captions) {
      hypotheses.push_back(metric_tokens(pair.prediction, mode));
      references.emplace_back();
      for (const std::string& r : pair.references) references.back().push_back(metric_tokens(r, mode));
    }
    const CiderDScore cider = cider_d(hypotheses, references);
    const RougeLScore rouge = corpus_rouge_l(hypotheses, references);
    const nlohmann::json& per_segment = want.at("per_segment");
    for (size_t i = 0; i < segments.size(); ++i) {
      const std::string where = std::string(name) + " segment " + std::to_string(i);
      check_near(corpus_bleu({hypotheses[i]}, {references[i]}).score, per_segment.at("bleu4")[i], where + " bleu4");
      check_near(cider.per_segment[i], per_segment.at("cider_d")[i], where + " cider_d");
      check_near(rouge.per_segment[i], per_segment.at("rouge_l")[i], where + " rouge_l");
    }
  }
}

TEST_CASE("VQA accuracy and exact match equal the official rule on the fixture", "[metrics]") {
  const nlohmann::json expected = read_json_file(kFixtures + "expected.json").at("vqa");
  RecordLog prediction_log(true), reference_log(true);
  const EvalSet set = load_eval_set(kFixtures + "vqa_pred.jsonl", kFixtures + "vqa_ref.jsonl", std::nullopt,
                                    prediction_log, reference_log);
  REQUIRE(set.task == EvalTask::vqa);
  const nlohmann::json& questions = expected.at("questions");
  REQUIRE(set.questions.size() == questions.size());
  for (size_t i = 0; i < questions.size(); ++i) {
    const VqaPair& pair = set.questions[i];
    INFO("question " << i << ": " << pair.prediction);
    CHECK(pair.answers == questions[i].at("answers").get<std::vector<std::string>>());
    CHECK(normalize_vqa_answer(pair.prediction) == questions[i].at("normalized").get<std::string>());
    check_near(vqa_accuracy(pair.prediction, pair.answers), questions[i].at("vqa_accuracy"), "accuracy");
    CHECK(exact_match(pair.prediction, pair.answers) == questions[i].at("exact_match").get<double>());
  }
  const nlohmann::json report = eval_report(set, TokenMode::whitespace);
  check_near(report.at("vqa_accuracy"), expected.at("vqa_accuracy"), "vqa_accuracy");
  check_near(report.at("exact_match"), expected.at("exact_match"), "exact_match");
}
