// Reading a tokenizer.json (and the tokenizer_config.json beside it) into an HfTokenizer, refusing what it
// cannot reproduce with errors that name the file and the field.
#include <array>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "datasets/text/utf8.h"
#include "language/tokenizer/hf_tokenizer.h"

namespace hanvit::language {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

[[noreturn]] void fail(const std::string& where, const std::string& problem) {
  throw std::invalid_argument(where + ": " + problem);
}

json parse_json(std::string_view text, const std::string& name) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& error) {
    fail(name, std::string("malformed JSON (") + error.what() + ")");
  }
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(file.string(), "cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) fail(file.string(), "read error");
  return text.str();
}

const json& field(const json& object, const char* key, const std::string& where) {
  if (!object.is_object()) fail(where, "expected an object");
  const auto found = object.find(key);
  if (found == object.end()) fail(where, std::string("missing field '") + key + "'");
  return *found;
}

std::string string_field(const json& object, const char* key, const std::string& where) {
  const json& value = field(object, key, where);
  if (!value.is_string()) fail(where + "." + key, "expected a string");
  return value.get<std::string>();
}

bool bool_field(const json& object, const char* key, bool absent, const std::string& where) {
  const auto found = object.find(key);
  if (found == object.end() || found->is_null()) return absent;
  if (!found->is_boolean()) fail(where + "." + key, "expected true or false");
  return found->get<bool>();
}

// A string field that may be absent or null (as "").
std::string optional_string(const json& object, const char* key, const std::string& where) {
  const auto found = object.find(key);
  if (found == object.end() || found->is_null()) return "";
  if (!found->is_string()) fail(where + "." + key, "expected a string or null");
  return found->get<std::string>();
}

std::string type_of(const json& node, const std::string& where) { return string_field(node, "type", where); }

BpeModel read_model(const json& model, const std::string& where) {
  if (!model.is_object()) fail(where, "expected an object");
  if (model.contains("type") && type_of(model, where) != "BPE") {
    fail(where, "unsupported model type '" + type_of(model, where) + "' (supported: BPE)");
  }
  if (model.contains("dropout") && !model["dropout"].is_null())
    fail(where + ".dropout", "BPE dropout is not supported");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (!optional_string(model, key, where).empty()) fail(where + "." + key, "is not supported");
  }
  const json& vocab_node = field(model, "vocab", where);
  if (!vocab_node.is_object()) fail(where + ".vocab", "expected an object of token: id");
  std::unordered_map<std::string, int32_t> vocab;
  for (const auto& [token, id] : vocab_node.items()) {
    if (!id.is_number_integer()) fail(where + ".vocab", "the id of '" + token + "' is not an integer");
    vocab.emplace(token, id.get<int32_t>());
  }
  const json& merges_node = field(model, "merges", where);
  if (!merges_node.is_array()) fail(where + ".merges", "expected an array");
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(merges_node.size());
  for (const json& merge : merges_node) {
    const std::string at = where + ".merges[" + std::to_string(merges.size()) + "]";
    if (merge.is_string()) {
      const std::string pair = merge.get<std::string>();
      const size_t space = pair.find(' ');
      if (space == std::string::npos || pair.find(' ', space + 1) != std::string::npos) {
        fail(at, "'" + pair + "' is not two tokens separated by one space");
      }
      merges.emplace_back(pair.substr(0, space), pair.substr(space + 1));
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
      merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
    } else {
      fail(at, "expected \"a b\" or [\"a\", \"b\"]");
    }
  }
  BpeOptions options{.ignore_merges = bool_field(model, "ignore_merges", false, where),
                     .unk_token = optional_string(model, "unk_token", where),
                     .fuse_unk = bool_field(model, "fuse_unk", false, where),
                     .byte_fallback = bool_field(model, "byte_fallback", false, where)};
  return BpeModel(std::move(vocab), merges, std::move(options), where);
}

void read_normalizer(const json& node, const std::string& where, std::vector<unicode::NormalizationForm>& forms) {
  if (node.is_null()) return;
  const std::string type = type_of(node, where);
  if (type == "Sequence") {
    const json& list = field(node, "normalizers", where);
    if (!list.is_array()) fail(where + ".normalizers", "expected an array");
    for (size_t i = 0; i < list.size(); ++i)
      read_normalizer(list[i], where + ".normalizers[" + std::to_string(i) + "]", forms);
  } else if (type == "NFC") {
    forms.push_back(unicode::NormalizationForm::nfc);
  } else if (type == "NFD") {
    forms.push_back(unicode::NormalizationForm::nfd);
  } else if (type == "NFKC") {
    forms.push_back(unicode::NormalizationForm::nfkc);
  } else if (type == "NFKD") {
    forms.push_back(unicode::NormalizationForm::nfkd);
  } else {
    fail(where, "unsupported normalizer '" + type + "' (supported: NFC, NFD, NFKC, NFKD, Sequence)");
  }
}

// Metaspace's replacement character, one character.
std::string replacement_of(const json& node, const std::string& where) {
  const std::string replacement = string_field(node, "replacement", where);
  if (replacement.empty() || text::decode_utf8(replacement).size() != 1) {
    fail(where + ".replacement", "expected one character");
  }
  return replacement;
}

// Metaspace's prepend_scheme, or its older add_prefix_space (true: always).
HfTokenizer::Prepend prepend_of(const json& node, const std::string& where) {
  if (!node.contains("prepend_scheme")) {
    return bool_field(node, "add_prefix_space", true, where) ? HfTokenizer::Prepend::always
                                                             : HfTokenizer::Prepend::never;
  }
  const std::string scheme = string_field(node, "prepend_scheme", where);
  if (scheme == "always") return HfTokenizer::Prepend::always;
  if (scheme == "first") return HfTokenizer::Prepend::first;
  if (scheme == "never") return HfTokenizer::Prepend::never;
  fail(where + ".prepend_scheme", "unknown scheme '" + scheme + "' (always, first, never)");
}

void read_pre_tokenizer(const json& node, const std::string& where, std::vector<HfTokenizer::PreTokenizerStep>& steps) {
  if (node.is_null()) return;
  const std::string type = type_of(node, where);
  if (type == "Sequence") {
    const json& list = field(node, "pretokenizers", where);
    if (!list.is_array()) fail(where + ".pretokenizers", "expected an array");
    for (size_t i = 0; i < list.size(); ++i) {
      read_pre_tokenizer(list[i], where + ".pretokenizers[" + std::to_string(i) + "]", steps);
    }
  } else if (type == "ByteLevel") {
    HfTokenizer::PreTokenizerStep step;
    step.kind = HfTokenizer::PreTokenizerKind::byte_level;
    step.add_prefix_space = bool_field(node, "add_prefix_space", true, where);
    step.use_regex = bool_field(node, "use_regex", true, where);
    steps.push_back(std::move(step));
  } else if (type == "Metaspace") {
    HfTokenizer::PreTokenizerStep step;
    step.kind = HfTokenizer::PreTokenizerKind::metaspace;
    step.replacement = replacement_of(node, where);
    step.prepend = prepend_of(node, where);
    step.split = bool_field(node, "split", true, where);
    steps.push_back(std::move(step));
  } else if (type == "Split") {
    const json& pattern = field(node, "pattern", where);
    if (!pattern.is_object() || !pattern.contains("Regex")) {
      fail(where + ".pattern", "only a Regex pattern is supported");
    }
    if (string_field(node, "behavior", where) != "Isolated") fail(where + ".behavior", "only Isolated is supported");
    if (bool_field(node, "invert", false, where)) fail(where + ".invert", "an inverted split is not supported");
    HfTokenizer::PreTokenizerStep step;
    step.kind = HfTokenizer::PreTokenizerKind::split;
    step.pattern = split_pattern_of(string_field(pattern, "Regex", where + ".pattern"), where + ".pattern");
    steps.push_back(std::move(step));
  } else {
    fail(where, "unsupported pre-tokenizer '" + type + "' (supported: ByteLevel, Split, Metaspace, Sequence)");
  }
}

// The single-sequence template of TemplateProcessing ($A with the special tokens around it).
void read_post_processor(const json& node, const std::string& where, std::vector<HfTokenizer::TemplatePart>& parts) {
  if (node.is_null()) return;
  const std::string type = type_of(node, where);
  if (type == "Sequence") {
    const json& list = field(node, "processors", where);
    if (!list.is_array()) fail(where + ".processors", "expected an array");
    for (size_t i = 0; i < list.size(); ++i) {
      read_post_processor(list[i], where + ".processors[" + std::to_string(i) + "]", parts);
    }
  } else if (type == "TemplateProcessing") {
    if (!parts.empty()) fail(where, "a second TemplateProcessing is not supported");
    const json& single = field(node, "single", where);
    const json& special_tokens = field(node, "special_tokens", where);
    if (!single.is_array()) fail(where + ".single", "expected an array");
    for (const json& piece : single) {
      if (piece.contains("Sequence")) {
        if (string_field(piece["Sequence"], "id", where + ".single") != "A") fail(where + ".single", "expected $A");
        parts.push_back({.special_ids = {}, .is_sequence = true});
        continue;
      }
      const std::string name = string_field(field(piece, "SpecialToken", where + ".single"), "id", where + ".single");
      const json& special = field(special_tokens, name.c_str(), where + ".special_tokens");
      std::vector<int32_t> ids;
      for (const json& id : field(special, "ids", where + ".special_tokens." + name)) {
        if (!id.is_number_integer()) fail(where + ".special_tokens." + name + ".ids", "expected integers");
        ids.push_back(id.get<int32_t>());
      }
      parts.push_back({.special_ids = std::move(ids)});
    }
  } else if (type != "ByteLevel") {  // ByteLevel only trims offsets, which Hanvit does not keep
    fail(where, "unsupported post-processor '" + type + "' (supported: ByteLevel, TemplateProcessing, Sequence)");
  }
}

HfTokenizer::Decoder read_decoder(const json& node, const std::string& where) {
  if (node.is_null()) fail(where, "a tokenizer without a decoder is not supported (supported: ByteLevel, Metaspace)");
  const std::string type = type_of(node, where);
  if (type == "ByteLevel") return {};
  if (type == "Metaspace") {
    return {.metaspace = true, .replacement = replacement_of(node, where), .prepend = prepend_of(node, where)};
  }
  fail(where, "unsupported decoder '" + type + "' (supported: ByteLevel, Metaspace)");
}

std::vector<AddedToken> read_added_tokens(const json& list, const std::string& where) {
  std::vector<AddedToken> tokens;
  if (list.is_null()) return tokens;
  if (!list.is_array()) fail(where, "expected an array");
  for (const json& node : list) {
    const std::string at = where + "[" + std::to_string(tokens.size()) + "]";
    const json& id = field(node, "id", at);
    if (!id.is_number_integer() || id.get<int64_t>() < 0) fail(at + ".id", "expected a non-negative integer");
    AddedToken token{.id = id.get<int32_t>(),
                     .content = string_field(node, "content", at),
                     .single_word = bool_field(node, "single_word", false, at),
                     .lstrip = bool_field(node, "lstrip", false, at),
                     .rstrip = bool_field(node, "rstrip", false, at),
                     .special = bool_field(node, "special", false, at)};
    token.normalized = bool_field(node, "normalized", !token.special, at);
    if (token.content.empty()) fail(at + ".content", "is empty");
    tokens.push_back(std::move(token));
  }
  return tokens;
}

// The content of a tokenizer_config.json token entry: a string, {"content": ...}, or null ("").
std::string config_token(const json& value, const std::string& where) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object()) return string_field(value, "content", where);
  fail(where, "expected a string, an object with \"content\", or null");
}

struct RoleSpellings {
  SpecialToken role;
  const char* config_key;
  std::array<const char*, 4> usual;  // tried in order when the config does not name the role
};
constexpr std::array<RoleSpellings, 4> kRoles = {{
    {SpecialToken::bos, "bos_token", {"<|begin_of_text|>", "<s>", "<bos>", "<|startoftext|>"}},
    {SpecialToken::eos, "eos_token", {"<|end_of_text|>", "</s>", "<eos>", "<|endoftext|>"}},
    {SpecialToken::pad, "pad_token", {"<pad>", "<|pad|>", "[PAD]", "<|finetune_right_pad_id|>"}},
    {SpecialToken::unk, "unk_token", {"<unk>", "<|unk|>", "[UNK]", "<|unknown|>"}},
}};

}  // namespace

HfTokenizer::HfTokenizer(const fs::path& path)
    : HfTokenizer([&] {
        const fs::path file = fs::is_directory(path) ? path / "tokenizer.json" : path;
        if (!fs::exists(file)) fail(file.string(), "no such tokenizer.json");
        const fs::path config_file = file.parent_path() / "tokenizer_config.json";
        std::optional<std::string> config;
        if (fs::exists(config_file)) config = read_text(config_file);
        return from_json(read_text(file), config, file.string());
      }()) {}

HfTokenizer HfTokenizer::from_json(std::string_view tokenizer_json, const std::optional<std::string>& config_json,
                                   const std::string& name) {
  const json root = parse_json(tokenizer_json, name);
  if (!root.is_object()) fail(name, "expected a JSON object");
  HfTokenizer tokenizer(read_model(field(root, "model", name), name + ": model"), name);
  read_normalizer(root.value("normalizer", json()), name + ": normalizer", tokenizer.normalizers_);
  read_pre_tokenizer(root.value("pre_tokenizer", json()), name + ": pre_tokenizer", tokenizer.pre_tokenizer_);
  read_post_processor(root.value("post_processor", json()), name + ": post_processor", tokenizer.template_);
  tokenizer.decoder_ = read_decoder(root.value("decoder", json()), name + ": decoder");
  std::vector<AddedToken> added = read_added_tokens(root.value("added_tokens", json()), name + ": added_tokens");
  tokenizer.vocab_size_ = tokenizer.model_.id_end();
  for (const AddedToken& token : added) tokenizer.vocab_size_ = std::max(tokenizer.vocab_size_, token.id + 1);
  tokenizer.added_ =
      AddedVocabulary(std::move(added), [&](std::string_view text) { return tokenizer.normalize(text); });
  for (const TemplatePart& part : tokenizer.template_) {
    for (int32_t id : part.special_ids) {
      if (id < 0 || id >= tokenizer.vocab_size_) {
        fail(name + ": post_processor", "special id " + std::to_string(id) + " is outside the vocabulary");
      }
    }
  }

  const std::string config_name = (fs::path(name).parent_path() / "tokenizer_config.json").string();
  const json config = config_json ? parse_json(*config_json, config_name) : json::object();
  if (!config.is_object()) fail(config_name, "expected a JSON object");
  for (const RoleSpellings& role : kRoles) {
    int32_t id = -1;
    if (config.contains(role.config_key)) {
      const std::string content = config_token(config[role.config_key], config_name + ": " + role.config_key);
      if (!content.empty()) {
        id = tokenizer.piece_to_id(content);
        if (id < 0) fail(config_name + ": " + role.config_key, "'" + content + "' is not in the vocabulary");
      }
    } else {
      for (const char* spelling : role.usual) {
        if (id < 0) id = tokenizer.piece_to_id(spelling);
      }
    }
    tokenizer.special_[role.role] = id;
  }
  if (tokenizer.special_[SpecialToken::unk] < 0 && !config.contains("unk_token")) {
    tokenizer.special_[SpecialToken::unk] =
        tokenizer.model_.token_to_id(optional_string(field(root, "model", name), "unk_token", name));
  }
  for (SpecialToken role : {SpecialToken::image, SpecialToken::system, SpecialToken::user, SpecialToken::assistant}) {
    const AddedToken* token = tokenizer.added_.by_content(special_token_spelling(role));
    tokenizer.special_[role] = token != nullptr ? token->id : -1;
  }
  return tokenizer;
}

}  // namespace hanvit::language
