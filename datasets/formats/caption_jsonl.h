// caption-jsonl: one {"image": "...", "caption": "..."} or {"image": "...", "captions": [...]} object per line.
#pragma once

#include "datasets/formats/dataset_format.h"

namespace hanvit::data {

// One caption sample per line (all of its captions in references, the first in turns[0]);
// "captions" wins when a line has both keys. Source: "file:line".
std::vector<Sample> read_caption_jsonl(const std::filesystem::path& path, const FormatOptions& options, RecordLog& log);

}  // namespace hanvit::data
