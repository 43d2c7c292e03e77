// The sentences a tokenizer is trained on, read from plain-text and JSON Lines files with every line UTF-8 checked.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "datasets/formats/record_log.h"

namespace hanvit::language {

// Reads each input in order:
//   *.jsonl      one JSON record per line; its string fields caption, question, answer and the strings of
//                its list fields captions, answers each give one sentence. A record with none of them, or
//                with one of another type, is a bad record.
//   other files  plain text, one sentence per line (blank lines are ignored, a trailing \r is dropped).
// Bad lines ("file:line: invalid UTF-8 at byte N", bad JSON, bad records) go to log.skip, which throws
// when the log is strict. A file that cannot be opened throws std::runtime_error naming it.
std::vector<std::string> read_training_text(const std::vector<std::filesystem::path>& inputs, data::RecordLog& log);

}  // namespace hanvit::language
