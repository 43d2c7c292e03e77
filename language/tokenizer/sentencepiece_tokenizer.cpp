// SentencePieceTokenizer: model loading with named errors, special ids from the model, literal/parse
// handling of the special spellings, decoding with specials skipped or spelled out.
#include "language/tokenizer/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace hanvit::language {
namespace fs = std::filesystem;
namespace {

// SentencePiece's status message on one line.
std::string one_line(const sentencepiece::util::Status& status) {
  std::string message = status.error_message();
  std::replace(message.begin(), message.end(), '\n', ' ');
  while (!message.empty() && message.back() == ' ') message.pop_back();
  return message;
}

// The model file that `path` names: itself, or tokenizer.model inside the folder.
fs::path model_file(const fs::path& path) {
  if (fs::is_directory(path)) {
    fs::path file = path / "tokenizer.model";
    if (!fs::exists(file)) throw std::runtime_error(path.string() + ": folder has no tokenizer.model");
    return file;
  }
  if (!fs::exists(path)) throw std::runtime_error(path.string() + ": no such tokenizer model");
  return path;
}

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(file.string() + ": cannot open tokenizer model");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) throw std::runtime_error(file.string() + ": read error");
  return bytes.str();
}

// The special tokens with fixed spellings that a SentencePiece vocabulary matches inside text.
constexpr std::array<SpecialToken, 4> kTextSpecials = {SpecialToken::image, SpecialToken::system, SpecialToken::user,
                                                       SpecialToken::assistant};

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer(const fs::path& path) : SentencePieceTokenizer(load(model_file(path))) {}

SentencePieceTokenizer SentencePieceTokenizer::load(const fs::path& file) {
  return from_serialized(read_bytes(file), file.string());
}

SentencePieceTokenizer SentencePieceTokenizer::from_serialized(const std::string& model_bytes,
                                                               const std::string& name) {
  auto processor = std::make_unique<sentencepiece::SentencePieceProcessor>();
  const auto status = processor->LoadFromSerializedProto(model_bytes);
  if (!status.ok()) {
    // SentencePiece names only its own source line when the bytes are not a ModelProto at all.
    const std::string reason = one_line(status);
    throw std::runtime_error(
        name + ": not a valid SentencePiece model (" +
        (reason.find("ParseFromArray") != std::string::npos ? "not a serialized ModelProto" : reason) + ")");
  }
  return SentencePieceTokenizer(std::move(processor), name);
}

SentencePieceTokenizer::SentencePieceTokenizer(std::unique_ptr<sentencepiece::SentencePieceProcessor> processor,
                                               const std::string& name)
    : processor_(std::move(processor)), name_(name) {
  special_[SpecialToken::pad] = processor_->pad_id();
  special_[SpecialToken::unk] = processor_->unk_id();
  special_[SpecialToken::bos] = processor_->bos_id();
  special_[SpecialToken::eos] = processor_->eos_id();
  for (SpecialToken token : kTextSpecials) special_[token] = piece_to_id(special_token_spelling(token));
  for (int byte = 0; byte < 256; ++byte) {
    char piece[8];
    std::snprintf(piece, sizeof piece, "<0x%02X>", byte);
    const int32_t id = piece_to_id(piece);
    byte_ids_[byte] = id >= 0 && processor_->IsByte(id) ? id : -1;
  }
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;
SentencePieceTokenizer::SentencePieceTokenizer(SentencePieceTokenizer&&) noexcept = default;

int32_t SentencePieceTokenizer::vocab_size() const { return processor_->GetPieceSize(); }

int32_t SentencePieceTokenizer::piece_to_id(std::string_view piece) const {
  // SentencePiece answers unk_id for an absent piece: tell it apart from the unknown piece itself.
  const int32_t id = processor_->PieceToId(piece);
  return id >= 0 && processor_->IdToPiece(id) == piece ? id : -1;
}

float SentencePieceTokenizer::score(int32_t id) const {
  id_to_piece(id);
  return processor_->GetScore(id);
}

std::string SentencePieceTokenizer::piece_of_valid(int32_t id) const { return processor_->IdToPiece(id); }

std::vector<int32_t> SentencePieceTokenizer::encode_valid(std::string_view text, SpecialText specials) const {
  std::vector<int> parsed;
  const auto status = processor_->Encode(text, &parsed);
  if (!status.ok()) throw std::runtime_error(name_ + ": encode failed (" + one_line(status) + ")");
  std::vector<int32_t> ids;
  ids.reserve(parsed.size());
  for (int id : parsed) {
    // SentencePiece always matches the user-defined specials in text; in literal mode spell them in bytes.
    const auto special = std::find_if(kTextSpecials.begin(), kTextSpecials.end(),
                                      [&](SpecialToken token) { return special_[token] == id; });
    if (specials == SpecialText::parse || special == kTextSpecials.end()) {
      ids.push_back(id);
      continue;
    }
    for (unsigned char byte : special_token_spelling(*special)) {
      if (byte_ids_[byte] < 0) {
        throw std::invalid_argument("text contains '" + std::string(special_token_spelling(*special)) + "', which " +
                                    name_ + " (no byte fallback) can only encode as a special token");
      }
      ids.push_back(byte_ids_[byte]);
    }
  }
  return ids;
}

std::vector<std::string> SentencePieceTokenizer::encode_pieces(std::string_view text, SpecialText specials) const {
  std::vector<std::string> pieces;
  for (int32_t id : encode(text, specials)) pieces.push_back(processor_->IdToPiece(id));
  return pieces;
}

std::string SentencePieceTokenizer::decode_valid(std::span<const int32_t> ids, SpecialDecode specials) const {
  std::string text;
  sentencepiece::util::Status status;
  if (specials == SpecialDecode::skip) {
    std::vector<int> kept;
    for (int32_t id : ids) {
      if (!special_.is_special(id)) kept.push_back(id);
    }
    status = processor_->Decode(kept, &text);
  } else {
    const auto decoded = processor_->DecodeIdsAsImmutableProto(std::vector<int>(ids.begin(), ids.end()));
    for (const auto& piece : decoded.pieces()) {
      text += special_.is_special(static_cast<int32_t>(piece.id())) ? piece.piece() : piece.surface();
    }
  }
  if (!status.ok()) throw std::runtime_error(name_ + ": decode failed (" + one_line(status) + ")");
  return text;
}

}  // namespace hanvit::language
