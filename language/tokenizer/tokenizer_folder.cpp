// write_tokenizer_folder: model and vocab files written into a temp folder, fsynced, renamed into place.
#include "language/tokenizer/tokenizer_folder.h"

#include <sstream>
#include <stdexcept>

#include "language/tokenizer/sentencepiece_tokenizer.h"
#include "modules/io/atomic_file.h"
#include "modules/io/atomic_folder.h"

namespace hanvit::language {
namespace fs = std::filesystem;
namespace {

std::string vocab_text(const SentencePieceTokenizer& tokenizer) {
  std::ostringstream out;
  for (int32_t id = 0; id < tokenizer.vocab_size(); ++id) {
    out << tokenizer.id_to_piece(id) << '\t' << tokenizer.score(id) << '\n';
  }
  return out.str();
}

}  // namespace

void check_tokenizer_folder(const fs::path& dir, bool overwrite) { check_output_folder(dir, overwrite); }

void write_tokenizer_folder(const fs::path& dir, const std::string& model_bytes, bool overwrite) {
  check_output_folder(dir, overwrite);
  const fs::path model_path = dir.lexically_normal() / "tokenizer.model";
  const auto tokenizer = SentencePieceTokenizer::from_serialized(model_bytes, model_path.string());
  write_folder_atomically(dir, overwrite, [&](const fs::path& temp) {
    write_text_atomically((temp / "tokenizer.model").string(), model_bytes);
    write_text_atomically((temp / "tokenizer.vocab").string(), vocab_text(tokenizer));
  });
}

}  // namespace hanvit::language
