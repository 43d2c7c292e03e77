// Reading and matching of prediction and reference JSONL files for evaluation.
#include "datasets/metrics/eval_set.h"

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>

#include "datasets/formats/jsonl_file.h"
#include "datasets/metrics/metric_tokens.h"

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

bool is_blank(const std::string& text) { return trim_metric_space(text).empty(); }

// The string field `name` of an object record, or nullopt after logging why the record is skipped.
std::optional<std::string> string_field(const JsonlRecord& line, const char* name, RecordLog& log) {
  const auto found = line.value.find(name);
  if (found == line.value.end()) {
    log.skip(line.where, std::string("missing field '") + name + "'");
    return std::nullopt;
  }
  if (!found->is_string()) {
    log.skip(line.where, std::string("field '") + name + "' is not a string");
    return std::nullopt;
  }
  return found->get<std::string>();
}

// The texts of `single` (a string) or `plural` (a non-empty array of strings, or of objects with a
// string "answer"), none blank; nullopt after logging why the record is skipped.
std::optional<std::vector<std::string>> reference_texts(const JsonlRecord& line, const char* single, const char* plural,
                                                        RecordLog& log) {
  std::vector<std::string> texts;
  if (line.value.contains(single)) {
    const auto text = string_field(line, single, log);
    if (!text) return std::nullopt;
    texts.push_back(*text);
  } else if (const auto list = line.value.find(plural); list != line.value.end()) {
    if (!list->is_array() || list->empty()) {
      log.skip(line.where, std::string("field '") + plural + "' is not a non-empty array");
      return std::nullopt;
    }
    for (size_t i = 0; i < list->size(); ++i) {
      const json& item = (*list)[i];
      const json* text = item.is_object() && item.contains("answer") ? &item["answer"] : &item;
      if (!text->is_string()) {
        log.skip(line.where, std::string(plural) + "[" + std::to_string(i) + "] is not a string");
        return std::nullopt;
      }
      texts.push_back(text->get<std::string>());
    }
  } else {
    log.skip(line.where, std::string("missing field '") + single + "' or '" + plural + "'");
    return std::nullopt;
  }
  for (size_t i = 0; i < texts.size(); ++i) {
    if (is_blank(texts[i])) {
      log.skip(line.where, std::string("blank ") +
                               (texts.size() == 1 ? single : plural + std::string("[") + std::to_string(i) + "]"));
      return std::nullopt;
    }
  }
  return texts;
}

// Calls on_object for each JSON object line of `path`; other lines are skipped with a reason.
void read_objects(const std::filesystem::path& path, RecordLog& log,
                  const std::function<void(const JsonlRecord&)>& on_object) {
  read_jsonl(path, log, [&](const JsonlRecord& record) {
    if (!record.value.is_object()) {
      log.skip(record.where, "not a JSON object");
      return;
    }
    on_object(record);
  });
}

// "vqa" when the first JSON object of the predictions has a "question" field, else "caption".
EvalTask detect_task(const std::filesystem::path& predictions) {
  std::optional<EvalTask> task;
  RecordLog scratch;
  read_objects(predictions, scratch, [&](const JsonlRecord& line) {
    if (!task) task = line.value.contains("question") ? EvalTask::vqa : EvalTask::caption;
  });
  return task.value_or(EvalTask::caption);
}

std::optional<Key> record_key(const JsonlRecord& line, EvalTask task, RecordLog& log) {
  const auto image = string_field(line, "image", log);
  if (!image) return std::nullopt;
  if (task == EvalTask::caption) return Key{*image, ""};
  const auto question = string_field(line, "question", log);
  if (!question) return std::nullopt;
  return Key{*image, *question};
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
  const char* plural = set.task == EvalTask::caption ? "captions" : "answers";

  std::map<Key, ReferenceEntry> by_key;
  std::vector<Key> reference_order;
  read_objects(references, reference_log, [&](const JsonlRecord& line) {
    const auto key = record_key(line, set.task, reference_log);
    if (!key) return;
    auto texts = reference_texts(line, single, plural, reference_log);
    if (!texts) return;
    auto [entry, inserted] = by_key.try_emplace(*key);
    if (!inserted && set.task == EvalTask::vqa) {
      reference_log.skip(
          line.where, "repeated reference for " + describe(*key, set.task) + " (first at " + entry->second.where + ")");
      return;
    }
    if (inserted) {
      entry->second.where = line.where;
      reference_order.push_back(*key);
    }
    for (std::string& text : *texts) entry->second.texts.push_back(std::move(text));
    reference_log.accept();
  });

  std::vector<Prediction> predicted;
  std::map<Key, std::string> predicted_at;
  read_objects(predictions, prediction_log, [&](const JsonlRecord& line) {
    const auto key = record_key(line, set.task, prediction_log);
    if (!key) return;
    const auto text = string_field(line, single, prediction_log);
    if (!text) return;
    if (const auto [first, inserted] = predicted_at.try_emplace(*key, line.where); !inserted) {
      prediction_log.skip(line.where,
                          "repeated prediction for " + describe(*key, set.task) + " (first at " + first->second + ")");
      return;
    }
    prediction_log.accept();
    predicted.push_back({*key, *text, line.where});
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
