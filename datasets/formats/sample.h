// Sample: one image and its conversation (caption, VQA or multi-turn chat), as every dataset format yields it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace hanvit::data {

// What a sample was read as; the loader lays out tokens and picks targets per kind.
enum class SampleKind { caption, vqa, conversation };

// One exchange: the user's text (empty for a caption) and the assistant's reply (the training target).
struct Turn {
  std::string user;
  std::string assistant;
};

struct Sample {
  SampleKind kind = SampleKind::caption;
  std::filesystem::path image;  // absolute, resolved against the file that named it (or the image root)
  // caption: one turn with an empty user text; vqa: one turn (question, chosen answer);
  // conversation: the turns in order.
  std::vector<Turn> turns;
  // caption: every caption of the image (turns[0].assistant is references[0]; the loader trains on
  // one of them per epoch); vqa: every answer given (for evaluation); conversation: empty.
  std::vector<std::string> references;
  // conversation (LLaVA): whether the <image> placeholder opened the first user turn (true) or
  // followed its text (false). Always true for the other kinds.
  bool image_first = true;
  std::string source;  // where it came from: "file:line" or "file: images[i] (id N)"
};

}  // namespace hanvit::data
