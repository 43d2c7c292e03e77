// Writing the synthetic Korean shapes dataset to disk: PNG images plus caption, VQA and object JSONL per split.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string_view>

namespace hanvit::data {

struct SynthOptions {
  std::filesystem::path out;
  size_t train = 20000, val = 1000, test = 1000;  // images per split, at most 10^6; 0: the split is not written
  int size = 64;                                  // canvas side, pixels
  uint64_t seed = 0;
  bool overwrite = false;  // replace the images and JSONL files of non-empty split folders
  unsigned threads = 2;    // the output is the same for any count
  // Called on the calling thread about ten times a second while a split is made, and once at its end.
  std::function<void(std::string_view split, size_t done, size_t total)> progress;
};

struct SynthSummary {
  size_t images = 0, questions = 0;
};

// For each split with images, writes
//   OUT/<split>/images/NNNNNN.png   (index zero-padded to 6 digits; RGB, 8 bits)
//   OUT/<split>/captions.jsonl      {"image":"images/000000.png","caption":"빨간 원이 왼쪽 위에 있다."}
//   OUT/<split>/vqa.jsonl           {"image":...,"question":"원은 무슨 색인가요?","answer":"빨간색"} (2-5 lines per
//   image) OUT/<split>/objects.jsonl       {"image":...,"objects":[{"colour":"빨간","shape":"원","position":"왼쪽 위",
//                                    "box":[x0,y0,x1,y1]}]}  (reading order; x1, y1 exclusive)
// one line per image in index order, keys in that order, compact UTF-8 JSON. Images are made by
// `threads` threads over fixed index ranges and the JSONL files are written by this thread after
// all images of the split exist, each to a temporary name renamed into place, so the bytes
// depend on the seed alone. Throws std::invalid_argument for a bad option (size outside 24..2048,
// more than 10^6 images in a split, no images at all, zero threads) and std::runtime_error, naming
// the folder, for a split folder that is not empty (unless overwrite) or an output that cannot be
// created or written.
SynthSummary write_synth_dataset(const SynthOptions& options);

}  // namespace hanvit::data
