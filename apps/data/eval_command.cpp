// `hanvit eval`: caption metrics (BLEU-4, CIDEr-D, ROUGE-L) or VQA metrics (accuracy, exact match) of predictions.
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "apps/commands.h"
#include "datasets/formats/record_log.h"
#include "datasets/metrics/eval_report.h"
#include "datasets/metrics/eval_set.h"
#include "modules/io/atomic_file.h"

namespace hanvit::app {
namespace {

// How many unmatched records are listed on stderr before only their count is given.
constexpr size_t kListedUnmatched = 5;

struct EvalOptions {
  std::string predictions, references, out, task;
  bool characters = false, json = false, strict = false;
};

void report_unmatched(const char* what, const std::vector<std::string>& messages) {
  for (size_t i = 0; i < messages.size() && i < kListedUnmatched; ++i) {
    std::fprintf(stderr, "hanvit eval: %s\n", messages[i].c_str());
  }
  if (!messages.empty()) std::fprintf(stderr, "hanvit eval: %zu %s not scored\n", messages.size(), what);
}

void report_logs(const EvalOptions& options, const data::RecordLog& prediction_log,
                 const data::RecordLog& reference_log) {
  for (const auto* log : {&prediction_log, &reference_log}) {
    for (const std::string& message : log->messages()) {
      std::fprintf(stderr, "hanvit eval: skipped %s\n", message.c_str());
    }
  }
  std::fprintf(stderr, "hanvit eval: predictions %s: %s\n", options.predictions.c_str(),
               prediction_log.summary().c_str());
  std::fprintf(stderr, "hanvit eval: references %s: %s\n", options.references.c_str(), reference_log.summary().c_str());
}

void print_table(const nlohmann::json& report) {
  std::printf("%-10s %s\n", "task", report["task"].get<std::string>().c_str());
  if (report["task"] == "caption") std::printf("%-10s %s\n", "tokens", report["tokens"].get<std::string>().c_str());
  std::printf("%-10s %zu\n", "count", report["count"].get<size_t>());
  const std::pair<const char*, const char*> rows[] = {{"BLEU-4", "bleu4"},
                                                      {"CIDEr-D", "cider_d"},
                                                      {"ROUGE-L", "rouge_l"},
                                                      {"VQA acc", "vqa_accuracy"},
                                                      {"exact", "exact_match"}};
  for (const auto& [label, key] : rows) {
    if (report.contains(key)) std::printf("%-10s %.4f\n", label, report[key].get<double>());
  }
}

void run_eval(const EvalOptions& options) {
  std::optional<data::EvalTask> task;
  if (!options.task.empty()) task = data::parse_eval_task(options.task);
  data::RecordLog prediction_log(options.strict), reference_log(options.strict);
  data::EvalSet set;
  try {
    set = data::load_eval_set(options.predictions, options.references, task, prediction_log, reference_log);
  } catch (const std::exception&) {
    report_logs(options, prediction_log, reference_log);  // what was skipped explains what did not match
    throw;
  }
  report_logs(options, prediction_log, reference_log);
  if (options.characters && set.task != data::EvalTask::caption) {
    throw std::invalid_argument("--char applies to caption metrics only, but " + options.predictions +
                                " holds VQA predictions");
  }
  const nlohmann::json report =
      data::eval_report(set, options.characters ? data::TokenMode::character : data::TokenMode::whitespace);
  report_unmatched("predictions without a reference", set.unmatched_predictions);
  report_unmatched("references without a prediction", set.unmatched_references);

  const std::string text = report.dump();
  if (!options.out.empty()) {
    write_file_atomically(options.out, [&](const WriteBytes& write) {
      write(text.data(), text.size());
      write("\n", 1);
    });
  }
  if (options.json) {
    std::printf("%s\n", text.c_str());
  } else {
    print_table(report);
  }
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto options = std::make_shared<EvalOptions>();
  CLI::App* eval = app.add_subcommand("eval", "Score caption or VQA predictions against references");
  eval->add_option("--pred", options->predictions, "Predictions JSONL: {image, caption} or {image, question, answer}")
      ->required();
  eval->add_option("--ref", options->references,
                   "References JSONL: {image, caption | captions} or {image, question, answer | answers}")
      ->required();
  eval->add_option("--task", options->task, "caption or vqa (default: from the prediction fields)")
      ->check(CLI::IsMember({"caption", "vqa"}));
  eval->add_flag("--char", options->characters, "Caption metrics over characters instead of whitespace tokens");
  eval->add_flag("--json", options->json, "Print the scores as one JSON object");
  eval->add_option("--out", options->out, "Also write the JSON scores to this file (atomically)");
  eval->add_flag("--strict", options->strict, "Fail on the first bad or unmatched record instead of skipping it");
  eval->callback([options] { run_eval(*options); });
}

}  // namespace hanvit::app
