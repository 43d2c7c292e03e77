// VQAv2 answer normalisation.
#include "datasets/metrics/vqa_normalize.h"

#include <array>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "datasets/metrics/metric_tokens.h"
#include "datasets/text/utf8.h"

namespace hanvit::data {
namespace {

constexpr std::array<char, 21> kPunctuation = {';',  '/', '[', ']', '"', '{', '}', '(', ')', '=', '+',
                                               '\\', '_', '-', '>', '<', '@', '`', ',', '?', '!'};
// The official script passes re.UNICODE (= 32) where re.sub expects its count.
constexpr int kMaxPeriodsStripped = 32;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

const std::unordered_map<std::string, std::string>& number_words() {
  static const std::unordered_map<std::string, std::string> table = {
      {"none", "0"}, {"zero", "0"}, {"one", "1"},   {"two", "2"},   {"three", "3"}, {"four", "4"},
      {"five", "5"}, {"six", "6"},  {"seven", "7"}, {"eight", "8"}, {"nine", "9"},  {"ten", "10"}};
  return table;
}

// The official table, entries with capitals included (they never match a lower-cased word).
const std::unordered_map<std::string, std::string>& contractions() {
  static const std::unordered_map<std::string, std::string> table = {{"aint", "ain't"},
                                                                     {"arent", "aren't"},
                                                                     {"cant", "can't"},
                                                                     {"couldve", "could've"},
                                                                     {"couldnt", "couldn't"},
                                                                     {"couldn'tve", "couldn't've"},
                                                                     {"couldnt've", "couldn't've"},
                                                                     {"didnt", "didn't"},
                                                                     {"doesnt", "doesn't"},
                                                                     {"dont", "don't"},
                                                                     {"hadnt", "hadn't"},
                                                                     {"hadnt've", "hadn't've"},
                                                                     {"hadn'tve", "hadn't've"},
                                                                     {"hasnt", "hasn't"},
                                                                     {"havent", "haven't"},
                                                                     {"hed", "he'd"},
                                                                     {"hed've", "he'd've"},
                                                                     {"he'dve", "he'd've"},
                                                                     {"hes", "he's"},
                                                                     {"howd", "how'd"},
                                                                     {"howll", "how'll"},
                                                                     {"hows", "how's"},
                                                                     {"Id've", "I'd've"},
                                                                     {"I'dve", "I'd've"},
                                                                     {"Im", "I'm"},
                                                                     {"Ive", "I've"},
                                                                     {"isnt", "isn't"},
                                                                     {"itd", "it'd"},
                                                                     {"itd've", "it'd've"},
                                                                     {"it'dve", "it'd've"},
                                                                     {"itll", "it'll"},
                                                                     {"let's", "let's"},
                                                                     {"maam", "ma'am"},
                                                                     {"mightnt", "mightn't"},
                                                                     {"mightnt've", "mightn't've"},
                                                                     {"mightn'tve", "mightn't've"},
                                                                     {"mightve", "might've"},
                                                                     {"mustnt", "mustn't"},
                                                                     {"mustve", "must've"},
                                                                     {"neednt", "needn't"},
                                                                     {"notve", "not've"},
                                                                     {"oclock", "o'clock"},
                                                                     {"oughtnt", "oughtn't"},
                                                                     {"ow's'at", "'ow's'at"},
                                                                     {"'ows'at", "'ow's'at"},
                                                                     {"'ow'sat", "'ow's'at"},
                                                                     {"shant", "shan't"},
                                                                     {"shed've", "she'd've"},
                                                                     {"she'dve", "she'd've"},
                                                                     {"she's", "she's"},
                                                                     {"shouldve", "should've"},
                                                                     {"shouldnt", "shouldn't"},
                                                                     {"shouldnt've", "shouldn't've"},
                                                                     {"shouldn'tve", "shouldn't've"},
                                                                     {"somebody'd", "somebodyd"},
                                                                     {"somebodyd've", "somebody'd've"},
                                                                     {"somebody'dve", "somebody'd've"},
                                                                     {"somebodyll", "somebody'll"},
                                                                     {"somebodys", "somebody's"},
                                                                     {"someoned", "someone'd"},
                                                                     {"someoned've", "someone'd've"},
                                                                     {"someone'dve", "someone'd've"},
                                                                     {"someonell", "someone'll"},
                                                                     {"someones", "someone's"},
                                                                     {"somethingd", "something'd"},
                                                                     {"somethingd've", "something'd've"},
                                                                     {"something'dve", "something'd've"},
                                                                     {"somethingll", "something'll"},
                                                                     {"thats", "that's"},
                                                                     {"thered", "there'd"},
                                                                     {"thered've", "there'd've"},
                                                                     {"there'dve", "there'd've"},
                                                                     {"therere", "there're"},
                                                                     {"theres", "there's"},
                                                                     {"theyd", "they'd"},
                                                                     {"theyd've", "they'd've"},
                                                                     {"they'dve", "they'd've"},
                                                                     {"theyll", "they'll"},
                                                                     {"theyre", "they're"},
                                                                     {"theyve", "they've"},
                                                                     {"twas", "'twas"},
                                                                     {"wasnt", "wasn't"},
                                                                     {"wed've", "we'd've"},
                                                                     {"we'dve", "we'd've"},
                                                                     {"weve", "we've"},
                                                                     {"werent", "weren't"},
                                                                     {"whatll", "what'll"},
                                                                     {"whatre", "what're"},
                                                                     {"whats", "what's"},
                                                                     {"whatve", "what've"},
                                                                     {"whens", "when's"},
                                                                     {"whered", "where'd"},
                                                                     {"wheres", "where's"},
                                                                     {"whereve", "where've"},
                                                                     {"whod", "who'd"},
                                                                     {"whod've", "who'd've"},
                                                                     {"who'dve", "who'd've"},
                                                                     {"wholl", "who'll"},
                                                                     {"whos", "who's"},
                                                                     {"whove", "who've"},
                                                                     {"whyll", "why'll"},
                                                                     {"whyre", "why're"},
                                                                     {"whys", "why's"},
                                                                     {"wont", "won't"},
                                                                     {"wouldve", "would've"},
                                                                     {"wouldnt", "wouldn't"},
                                                                     {"wouldnt've", "wouldn't've"},
                                                                     {"wouldn'tve", "wouldn't've"},
                                                                     {"yall", "y'all"},
                                                                     {"yall'll", "y'all'll"},
                                                                     {"y'allll", "y'all'll"},
                                                                     {"yall'd've", "y'all'd've"},
                                                                     {"y'alld've", "y'all'd've"},
                                                                     {"y'all'dve", "y'all'd've"},
                                                                     {"youd", "you'd"},
                                                                     {"youd've", "you'd've"},
                                                                     {"you'dve", "you'd've"},
                                                                     {"youll", "you'll"},
                                                                     {"youre", "you're"},
                                                                     {"youve", "you've"}};
  return table;
}

bool has_digit_comma_digit(const std::string& text) {
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    if (text[i] == ',' && is_digit(text[i - 1]) && is_digit(text[i + 1])) return true;
  }
  return false;
}

// The official processPunctuation: every test looks at the input, every replacement at the output.
std::string process_punctuation(const std::string& input) {
  const bool delete_all = has_digit_comma_digit(input);
  std::string output = input;
  for (const char mark : kPunctuation) {
    const bool next_to_space = input.find(std::string{mark, ' '}) != std::string::npos ||
                               input.find(std::string{' ', mark}) != std::string::npos;
    std::string replaced;
    for (const char c : output) {
      if (c != mark) {
        replaced += c;
      } else if (!(next_to_space || delete_all)) {
        replaced += ' ';
      }
    }
    output = std::move(replaced);
  }
  std::string stripped;
  int removed = 0;
  for (size_t i = 0; i < output.size(); ++i) {
    const bool before_digit = i + 1 < output.size() && is_digit(output[i + 1]);
    if (output[i] == '.' && !before_digit && removed < kMaxPeriodsStripped) {
      ++removed;
      continue;
    }
    stripped += output[i];
  }
  return stripped;
}

std::string process_digit_article(const std::string& input) {
  std::string lowered = input;
  for (char& c : lowered) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  std::string output;
  for (std::string word : metric_tokens(lowered, TokenMode::whitespace, "answer")) {
    if (const auto number = number_words().find(word); number != number_words().end()) word = number->second;
    if (word == "a" || word == "an" || word == "the") continue;
    if (const auto full = contractions().find(word); full != contractions().end()) word = full->second;
    if (!output.empty()) output += ' ';
    output += word;
  }
  return output;
}

}  // namespace

std::string normalize_vqa_answer(std::string_view answer) {
  if (const auto bad = text::first_invalid_utf8(answer)) {
    throw std::invalid_argument("answer: invalid UTF-8 at byte " + std::to_string(*bad));
  }
  std::string text(answer);
  for (char& c : text) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  return process_digit_article(process_punctuation(trim_metric_space(text)));
}

}  // namespace hanvit::data
