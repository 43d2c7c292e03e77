// Reading and matching of prediction and reference JSONL files for evaluation.
#include "datasets/metrics/eval_set.h"

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "datasets/formats/jsonl_file.h"
#include "datasets/formats/record_fields.h"

namespace hanvit::data {
namespace {

using nlohmann::json;

// (image, question); the question is empty for captions.
using Key = std::pair<std::string, std::string>;

struct Prediction {
  Key key;
  std::string text;
  std::string where;
};

// The references of one key, where they were first seen, and whether a prediction used them.
struct ReferenceEntry {
  std::vector<std::string> texts;
  std::string where;
  bool matched = false;
};

// A prediction's text: any string, blank included (a blank prediction scores zero, it is not skipped).
std::string require_string(const json& record, std::string_view name) {
  const json& value = require_field(record, name);
  if (!value.is_string()) throw BadRecord("'" + std::string(name) + "' is not a string");
  return value.get<std::string>();
}

// The reference texts of an object record (record_key has checked that): "caption" / "answer" as one
// text, or "captions" / "answers" as a list.
std::vector<std::string> reference_texts(const json& record, EvalTask task) {
  const char* single = task == EvalTask::caption ? "caption" : "answer";
  const char* plural = task == EvalTask::caption ? "captions" : "answers";
  if (record.contains(single)) return {require_text(record[single], single)};
  if (!record.contains(plural)) throw BadRecord(std::string("missing field '") + single + "' or '" + plural + "'");
  return task == EvalTask::caption ? require_text_list(record[plural], plural)
                                   : require_answer_list(record[plural], plural);
}

// Calls on_record for each line of `path` that parses; a BadRecord it throws skips the line with its reason.
void read_records(const std::filesystem::path& path, RecordLog& log,
                  const std::function<void(const JsonlRecord&)>& on_record) {
  read_jsonl(path, log, [&](const JsonlRecord& record) {
    try {
      on_record(record);
    } catch (const BadRecord& e) {
      log.skip(record.where, e.what());
    }
  });
}

// "vqa" when the first JSON object of the predictions has a "question" field, else "caption".
EvalTask detect_task(const std::filesystem::path& predictions) {
  std::optional<EvalTask> task;
  RecordLog scratch;
  read_jsonl(predictions, scratch, [&](const JsonlRecord& line) {
    if (!task && line.value.is_object()) task = line.value.contains("question") ? EvalTask::vqa : EvalTask::caption;
  });
  return task.value_or(EvalTask::caption);
}

Key record_key(const json& record, EvalTask task) {
  std::string image = require_string(record, "image");
  if (task == EvalTask::caption) return Key{std::move(image), ""};
  return Key{std::move(image), require_string(record, "question")};
}

std::string describe(const Key& key, EvalTask task) {
  std::string text = "image '" + key.first + "'";
  if (task == EvalTask::vqa) text += ", question '" + key.second + "'";
  return text;
}

}  // namespace

EvalTask parse_eval_task(const std::string& name) {
  if (name == "caption") return EvalTask::caption;
  if (name == "vqa") return EvalTask::vqa;
  throw std::invalid_argument("unknown task '" + name + "' (expected caption or vqa)");
}

const char* eval_task_name(EvalTask task) { return task == EvalTask::caption ? "caption" : "vqa"; }

EvalSet load_eval_set(const std::filesystem::path& predictions, const std::filesystem::path& references,
                      std::optional<EvalTask> task, RecordLog& prediction_log, RecordLog& reference_log) {
  EvalSet set;
  set.task = task ? *task : detect_task(predictions);
  const char* single = set.task == EvalTask::caption ? "caption" : "answer";

  std::map<Key, ReferenceEntry> by_key;
  std::vector<Key> reference_order;
  read_records(references, reference_log, [&](const JsonlRecord& line) {
    const Key key = record_key(line.value, set.task);
    std::vector<std::string> texts = reference_texts(line.value, set.task);
    auto [entry, inserted] = by_key.try_emplace(key);
    if (!inserted && set.task == EvalTask::vqa) {
      reference_log.skip(
          line.where, "repeated reference for " + describe(key, set.task) + " (first at " + entry->second.where + ")");
      return;
    }
    if (inserted) {
      entry->second.where = line.where;
      reference_order.push_back(key);
    }
    for (std::string& text : texts) entry->second.texts.push_back(std::move(text));
    reference_log.accept();
  });

  std::vector<Prediction> predicted;
  std::map<Key, std::string> predicted_at;
  read_records(predictions, prediction_log, [&](const JsonlRecord& line) {
    const Key key = record_key(line.value, set.task);
    std::string text = require_string(line.value, single);
    if (const auto [first, inserted] = predicted_at.try_emplace(key, line.where); !inserted) {
      prediction_log.skip(line.where,
                          "repeated prediction for " + describe(key, set.task) + " (first at " + first->second + ")");
      return;
    }
    prediction_log.accept();
    predicted.push_back({key, std::move(text), line.where});
  });

  for (Prediction& prediction : predicted) {
    const auto entry = by_key.find(prediction.key);
    if (entry == by_key.end()) {
      std::string message =
          prediction.where + ": no reference for " + describe(prediction.key, set.task) + " in " + references.string();
      if (prediction_log.strict()) throw std::runtime_error(message);
      set.unmatched_predictions.push_back(std::move(message));
      continue;
    }
    entry->second.matched = true;
    if (set.task == EvalTask::caption) {
      set.captions.push_back({prediction.key.first, std::move(prediction.text), entry->second.texts});
    } else {
      set.questions.push_back(
          {prediction.key.first, prediction.key.second, std::move(prediction.text), entry->second.texts});
    }
  }
  for (const Key& key : reference_order) {
    const ReferenceEntry& entry = by_key.at(key);
    if (entry.matched) continue;
    std::string message =
        entry.where + ": no prediction for " + describe(key, set.task) + " in " + predictions.string();
    if (reference_log.strict()) throw std::runtime_error(message);
    set.unmatched_references.push_back(std::move(message));
  }
  if (set.captions.empty() && set.questions.empty()) {
    throw std::runtime_error("no prediction in " + predictions.string() + " matches a reference in " +
                             references.string() + " (task " + eval_task_name(set.task) + ")");
  }
  return set;
}

}  // namespace hanvit::data
