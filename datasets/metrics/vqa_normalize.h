// The VQAv2 answer normalisation of the official evaluation script (vqaEval.py): punctuation, number words, articles,
// contractions.
#pragma once

#include <string>
#include <string_view>

namespace hanvit::data {

// Applies, in order: newlines and tabs to spaces and whitespace trimmed; punctuation
// (; / [ ] " { } ( ) = + \ _ - > < @ ` , ? !) deleted when the answer has that mark next to a
// space or has a digit-comma-digit anywhere, else replaced by a space; periods not followed by a
// digit deleted (the first 32, as the official script's re.sub(..., re.UNICODE) passes 32 as the
// count); then lower-cased, split on whitespace, number words zero..ten (and "none") to digits,
// articles a/an/the dropped, contractions spelled with their apostrophe ("dont" -> "don't"), and
// the words joined by single spaces. Korean and other non-Latin text passes through except for
// whitespace and those punctuation marks. Digits are ASCII 0-9 and lower-casing is ASCII only.
// Throws std::invalid_argument "answer: invalid UTF-8 at byte N" for ill-formed text.
std::string normalize_vqa_answer(std::string_view answer);

}  // namespace hanvit::data
