// The output folder of a trained tokenizer: tokenizer.model + tokenizer.vocab, put in place whole or not at all.
#pragma once

#include <filesystem>
#include <string>

namespace hanvit::language {

// Throws std::runtime_error naming `dir` when it exists and is not an empty folder, unless `overwrite`
// (a file in its place is refused either way).
void check_tokenizer_folder(const std::filesystem::path& dir, bool overwrite);

// Writes DIR/tokenizer.model (the serialized model, checked to load) and DIR/tokenizer.vocab (one
// "piece<TAB>score" line per id, as SentencePiece writes it) into a temp folder beside DIR, then renames
// it into place (replacing an old DIR only after the new one is complete). On any failure DIR is untouched
// and the temp folder removed.
void write_tokenizer_folder(const std::filesystem::path& dir, const std::string& model_bytes, bool overwrite);

}  // namespace hanvit::language
