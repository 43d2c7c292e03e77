// load_tokenizer: tokenizer.json first (the Hugging Face format), then SentencePiece's tokenizer.model.
#include "language/tokenizer/load_tokenizer.h"

#include <stdexcept>

#include "language/tokenizer/hf_tokenizer.h"
#include "language/tokenizer/sentencepiece_tokenizer.h"

namespace hanvit::language {
namespace fs = std::filesystem;

std::unique_ptr<Tokenizer> load_tokenizer(const fs::path& path) {
  if (fs::is_directory(path)) {
    if (fs::exists(path / "tokenizer.json")) return std::make_unique<HfTokenizer>(path / "tokenizer.json");
    if (fs::exists(path / "tokenizer.model")) return std::make_unique<SentencePieceTokenizer>(path / "tokenizer.model");
    throw std::invalid_argument(path.string() + ": folder has neither tokenizer.json nor tokenizer.model");
  }
  if (path.extension() == ".json") return std::make_unique<HfTokenizer>(path);
  return std::make_unique<SentencePieceTokenizer>(path);
}

}  // namespace hanvit::language
