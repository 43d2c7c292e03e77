// Bad-record accounting.
#include "datasets/formats/record_log.h"

#include <stdexcept>

namespace hanvit::data {

void RecordLog::skip(const std::string& where, const std::string& reason) {
  std::string message = where + ": " + reason;
  if (strict_) throw std::runtime_error(message);
  ++skipped_;
  if (messages_.size() < kept_messages_) messages_.push_back(std::move(message));
}

std::string RecordLog::summary() const {
  std::string s = std::to_string(accepted_ + skipped_) + " records read, " + std::to_string(skipped_) + " skipped";
  if (!messages_.empty()) s += ", first: " + messages_.front();
  return s;
}

}  // namespace hanvit::data
