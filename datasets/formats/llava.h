// llava: a JSON array of {"id", "image", "conversations": [{"from": "human"|"gpt", "value": "..."}]} records.
#pragma once

#include <string_view>

#include "datasets/formats/dataset_format.h"

namespace hanvit::data {

inline constexpr std::string_view kImagePlaceholder = "<image>";

// One conversation sample per record: turns alternate human, gpt (an even count, at least two).
// The first human turn may hold one "<image>" placeholder, at its start ("<image>\ntext") or its
// end ("text\n<image>"); it is removed with its newline and image_first records which it was
// (true when there is none). A placeholder anywhere else, a record without "image", other "from"
// values and empty turns are bad records ("file: [i]"). Source: "file: [i] (id X)" when the
// record has an "id", else "file: [i]". A file that is not valid UTF-8 JSON throws naming it.
std::vector<Sample> read_llava(const std::filesystem::path& path, const FormatOptions& options, RecordLog& log);

}  // namespace hanvit::data
