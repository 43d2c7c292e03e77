// coco-captions: COCO caption JSON, English or Korean (caption_ko), one caption sample per image.
#pragma once

#include "datasets/formats/dataset_format.h"

namespace hanvit::data {

// Accepted layouts (image paths relative to options.image_root, default the JSON file's folder):
//  1. COCO: {"images": [{"id": int, "file_name": str, ["caption_ko": str|[str], "captions": [str]]}],
//            "annotations": [{"image_id": int, "caption": str and/or "caption_ko": str|[str]}]}
//     ("annotations" may be absent when the image entries carry their captions).
//  2. AI Hub "MSCOCO Korean" (MSCOCO_train_val_Korean.json): an array of
//     {"file_path": str, "captions": [English str], "caption_ko": [Korean str], ...}.
// "caption_ko" is Korean; "caption"/"captions" are English when the same image also has Korean
// ones, and simply its captions otherwise. options.language picks the language of an image that
// has both (Korean by default); an image with only one language yields that one.
// Bad entries are skipped as "file: images[i]", "file: annotations[j]" or "file: [i]" (missing or
// wrong-typed fields, empty captions, duplicate or unknown image ids, missing image files, images
// left without a caption); a file that is not valid UTF-8 JSON throws naming it.
// Samples come in image order with source "file: images[i] (id N)" or "file: [i]".
std::vector<Sample> read_coco_captions(const std::filesystem::path& path, const FormatOptions& options, RecordLog& log);

}  // namespace hanvit::data
