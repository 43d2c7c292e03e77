// The special tokens every Hanvit tokenizer knows: their fixed spellings and their ids in one vocabulary.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace hanvit::language {

// Roles of the special tokens; ids are looked up per vocabulary (-1 when a vocabulary lacks one).
enum class SpecialToken : int { pad, unk, bos, eos, image, system, user, assistant };
inline constexpr int kSpecialTokenCount = 8;

// Spellings used when Hanvit trains a tokenizer (and looked for when it loads one).
inline constexpr std::array<std::string_view, kSpecialTokenCount> kSpecialTokenSpellings = {
    "<pad>", "<unk>", "<s>", "</s>", "<image>", "<|system|>", "<|user|>", "<|assistant|>"};

std::string_view special_token_spelling(SpecialToken token);

// Id of each special token in one vocabulary.
struct SpecialTokenIds {
  std::array<int32_t, kSpecialTokenCount> ids{-1, -1, -1, -1, -1, -1, -1, -1};

  int32_t operator[](SpecialToken token) const { return ids[static_cast<int>(token)]; }
  int32_t& operator[](SpecialToken token) { return ids[static_cast<int>(token)]; }
  bool is_special(int32_t id) const;
};

}  // namespace hanvit::language
