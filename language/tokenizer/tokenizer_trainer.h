// Training of a SentencePiece tokenizer with Hanvit's special tokens and Korean-friendly settings.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hanvit::language {

enum class SentencePieceModelType { unigram, bpe };

struct TokenizerTrainOptions {
  int32_t vocab_size = 0;  // pieces in all, the 8 special tokens and 256 byte pieces included
  SentencePieceModelType model_type = SentencePieceModelType::unigram;
  // Share of the training characters that get a piece of their own; the rarest rest is spelled with byte
  // pieces (lossless, 3 pieces per Hangul syllable). 0.9995 keeps every common syllable and frees the slots
  // that one-off hanja, emoji and typos would take at 1.0.
  double character_coverage = 0.9995;
  uint32_t seed = 0;
};

// Trains on `sentences` (held in memory: nothing is written to disk) and returns the serialized model:
// pad=0 unk=1 bos=2 eos=3 with the spellings of special_tokens.h, <image> and the role tokens as
// user-defined pieces, byte fallback, NFKC (nmt_nfkc) normalisation with whitespace kept as it is,
// digits split, one training thread (so a seed gives the same model bytes every time).
// Throws std::invalid_argument for a non-positive vocab size, a coverage outside (0, 1] or no sentences, and
// std::runtime_error with one line for what SentencePiece refuses (a vocab size too large for the text says
// the largest that works, one too small says how many pieces the characters need).
std::string train_sentencepiece(const std::vector<std::string>& sentences, const TokenizerTrainOptions& options);

}  // namespace hanvit::language
