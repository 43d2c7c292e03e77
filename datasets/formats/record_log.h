// Accounting of bad records: each is skipped with "file:line: reason" and counted, or stops the run when strict.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace hanvit::data {

class RecordLog {
 public:
  explicit RecordLog(bool strict = false, size_t kept_messages = 100) : strict_(strict), kept_messages_(kept_messages) {}

  // Records one bad record; throws std::runtime_error("<where>: <reason>") when strict.
  void skip(const std::string& where, const std::string& reason);
  void accept() { ++accepted_; }

  bool strict() const { return strict_; }
  size_t accepted() const { return accepted_; }
  size_t skipped() const { return skipped_; }
  // The first kept_messages "file:line: reason" lines (the count goes on past them).
  const std::vector<std::string>& messages() const { return messages_; }
  // "N records read, M skipped" (plus ", first: <message>" when something was skipped).
  std::string summary() const;

 private:
  bool strict_;
  size_t kept_messages_;
  size_t accepted_ = 0, skipped_ = 0;
  std::vector<std::string> messages_;
};

}  // namespace hanvit::data
