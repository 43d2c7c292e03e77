// write_tokenizer_folder: model and vocab files written into a temp folder, fsynced, renamed into place.
#include "language/tokenizer/tokenizer_folder.h"

#include <unistd.h>

#include <sstream>
#include <stdexcept>
#include <system_error>

#include "language/tokenizer/sentencepiece_tokenizer.h"
#include "modules/io/atomic_file.h"

namespace hanvit::language {
namespace fs = std::filesystem;
namespace {

// `dir` without a trailing separator, so that its name can take a suffix.
fs::path folder_path(const fs::path& dir) {
  fs::path path = dir.lexically_normal();
  return path.has_filename() ? path : path.parent_path();
}

fs::path sibling(const fs::path& folder, const std::string& suffix) {
  return folder.parent_path() / (folder.filename().string() + suffix + std::to_string(::getpid()));
}

void write_text(const fs::path& path, const std::string& bytes) {
  write_file_atomically(path.string(), [&](const WriteBytes& write) { write(bytes.data(), bytes.size()); });
}

std::string vocab_text(const SentencePieceTokenizer& tokenizer) {
  std::ostringstream out;
  for (int32_t id = 0; id < tokenizer.vocab_size(); ++id) {
    out << tokenizer.id_to_piece(id) << '\t' << tokenizer.score(id) << '\n';
  }
  return out.str();
}

// Removes a folder of ours when the write does not complete.
class TempFolder {
 public:
  explicit TempFolder(fs::path path) : path_(std::move(path)) {
    fs::remove_all(path_);
    fs::create_directory(path_);
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  ~TempFolder() {
    std::error_code ignored;
    if (!kept_) fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }
  void keep() { kept_ = true; }

 private:
  fs::path path_;
  bool kept_ = false;
};

}  // namespace

void check_tokenizer_folder(const fs::path& dir, bool overwrite) {
  const fs::path folder = folder_path(dir);
  if (!fs::exists(folder)) return;
  if (!fs::is_directory(folder)) throw std::runtime_error(folder.string() + ": exists and is not a folder");
  if (!overwrite && !fs::is_empty(folder)) {
    throw std::runtime_error(folder.string() + ": folder exists and is not empty (pass --overwrite to replace it)");
  }
}

void write_tokenizer_folder(const fs::path& dir, const std::string& model_bytes, bool overwrite) {
  check_tokenizer_folder(dir, overwrite);
  const fs::path folder = folder_path(dir);
  const auto tokenizer = SentencePieceTokenizer::from_serialized(model_bytes, (folder / "tokenizer.model").string());
  if (!folder.parent_path().empty()) fs::create_directories(folder.parent_path());
  TempFolder temp(sibling(folder, ".tmp."));
  write_text(temp.path() / "tokenizer.model", model_bytes);
  write_text(temp.path() / "tokenizer.vocab", vocab_text(tokenizer));
  if (fs::exists(folder)) {
    const fs::path old = sibling(folder, ".old.");
    fs::rename(folder, old);
    try {
      fs::rename(temp.path(), folder);
    } catch (...) {
      fs::rename(old, folder);
      throw;
    }
    temp.keep();
    fs::remove_all(old);
  } else {
    fs::rename(temp.path(), folder);
    temp.keep();
  }
}

}  // namespace hanvit::language
