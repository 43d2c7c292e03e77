// Opens the tokenizer of a model folder, whichever kind it ships: tokenizer.json or tokenizer.model.
#pragma once

#include <filesystem>
#include <memory>

#include "language/tokenizer/tokenizer.h"

namespace hanvit::language {

// `path` is a folder (its tokenizer.json, read as an HfTokenizer, else its tokenizer.model, read as a
// SentencePieceTokenizer) or a file (*.json read as tokenizer.json, anything else as a SentencePiece model).
// Throws naming `path` when a folder holds neither, and as the tokenizer's own loader does for a bad or
// missing file.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& path);

}  // namespace hanvit::language
