// Training sentences from plain-text lines and from the text fields of JSON Lines records.
#include "language/tokenizer/training_text.h"

#include <array>
#include <stdexcept>
#include <string_view>

#include "datasets/formats/jsonl_file.h"

namespace hanvit::language {
namespace fs = std::filesystem;
namespace {

constexpr std::array<std::string_view, 3> kStringFields = {"caption", "question", "answer"};
constexpr std::array<std::string_view, 2> kListFields = {"captions", "answers"};

void read_plain_text(const fs::path& path, data::RecordLog& log, std::vector<std::string>& sentences) {
  data::read_text_lines(path, log, [&](std::string& line, const std::string&) {
    log.accept();
    sentences.push_back(std::move(line));
  });
}

// The sentences of one record, or the reason it is bad (sentences then untouched).
std::string take_record_text(const nlohmann::json& record, std::vector<std::string>& sentences) {
  if (!record.is_object()) return "not a JSON object";
  std::vector<std::string> found;
  for (std::string_view field : kStringFields) {
    const auto it = record.find(field);
    if (it == record.end()) continue;
    if (!it->is_string()) return "field '" + std::string(field) + "' is not a string";
    found.push_back(it->get<std::string>());
  }
  for (std::string_view field : kListFields) {
    const auto it = record.find(field);
    if (it == record.end()) continue;
    if (!it->is_array()) return "field '" + std::string(field) + "' is not a list of strings";
    for (const auto& item : *it) {
      if (!item.is_string()) return "field '" + std::string(field) + "' is not a list of strings";
      found.push_back(item.get<std::string>());
    }
  }
  if (found.empty()) return "no caption, captions, question, answer or answers text";
  for (auto& sentence : found) sentences.push_back(std::move(sentence));
  return {};
}

}  // namespace

std::vector<std::string> read_training_text(const std::vector<fs::path>& inputs, data::RecordLog& log) {
  std::vector<std::string> sentences;
  for (const fs::path& input : inputs) {
    if (input.extension() != ".jsonl") {
      read_plain_text(input, log, sentences);
      continue;
    }
    data::read_jsonl(input, log, [&](const data::JsonlRecord& record) {
      const std::string reason = take_record_text(record.value, sentences);
      if (reason.empty()) {
        log.accept();
      } else {
        log.skip(record.where, reason);
      }
    });
  }
  return sentences;
}

}  // namespace hanvit::language
