// `hanvit tokenizer`: train a SentencePiece tokenizer; encode / decode with one or a tokenizer.json, for debugging.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "datasets/formats/record_log.h"
#include "language/tokenizer/load_tokenizer.h"
#include "language/tokenizer/tokenizer_folder.h"
#include "language/tokenizer/tokenizer_trainer.h"
#include "language/tokenizer/training_text.h"

namespace hanvit::app {
namespace {

using language::SentencePieceModelType;

struct TrainArguments {
  std::vector<std::filesystem::path> inputs;
  std::filesystem::path out;
  language::TokenizerTrainOptions options;
  std::string model_type = "unigram";
  bool skip_bad = false;
  bool overwrite = false;
};

void run_train(TrainArguments& args) {
  args.options.model_type = args.model_type == "bpe" ? SentencePieceModelType::bpe : SentencePieceModelType::unigram;
  language::check_tokenizer_folder(args.out, args.overwrite);
  data::RecordLog log(/*strict=*/!args.skip_bad);
  const std::vector<std::string> sentences = language::read_training_text(args.inputs, log);
  std::printf("training text: %s\n", log.summary().c_str());
  const std::string model = language::train_sentencepiece(sentences, args.options);
  language::write_tokenizer_folder(args.out, model, args.overwrite);
  std::printf("wrote %s (%d pieces)\n", (args.out / "tokenizer.model").string().c_str(), args.options.vocab_size);
}

void add_train(CLI::App& tokenizer) {
  auto args = std::make_shared<TrainArguments>();
  CLI::App* train = tokenizer.add_subcommand("train", "Train a SentencePiece tokenizer on Korean text");
  train->add_option("--input", args->inputs, "Plain text (one sentence a line) or .jsonl caption / VQA files")
      ->required()
      ->check(CLI::ExistingFile);
  train->add_option("--vocab-size", args->options.vocab_size, "Pieces in all (8 special + 256 byte pieces included)")
      ->required()
      ->check(CLI::PositiveNumber);
  train->add_option("--out", args->out, "Folder to write tokenizer.model and tokenizer.vocab into")->required();
  train->add_option("--model-type", args->model_type, "unigram or bpe")
      ->check(CLI::IsMember({"unigram", "bpe"}))
      ->capture_default_str();
  train
      ->add_option("--character-coverage", args->options.character_coverage,
                   "Share of characters with a piece of their own (the rest use byte pieces)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  train->add_option("--seed", args->options.seed, "Random seed of the trainer")->capture_default_str();
  train->add_flag("--skip-bad", args->skip_bad,
                  "Skip bad lines and records (counted) instead of stopping at the first");
  train->add_flag("--overwrite", args->overwrite, "Replace a non-empty --out folder");
  train->callback([args] { run_train(*args); });
}

void print_joined(const std::vector<std::string>& items) {
  std::string line;
  for (const std::string& item : items) line += (line.empty() ? "" : " ") + item;
  std::printf("%s\n", line.c_str());
}

void add_encode(CLI::App& tokenizer) {
  struct Arguments {
    std::filesystem::path model;
    std::string text;
    bool pieces = false;
    bool parse_special = false;
  };
  auto args = std::make_shared<Arguments>();
  CLI::App* encode = tokenizer.add_subcommand("encode", "Print the ids (or pieces) of a text");
  encode->add_option("--model", args->model, "tokenizer.json, tokenizer.model, or the folder holding one")->required();
  encode->add_option("text", args->text, "UTF-8 text")->required();
  encode->add_flag("--pieces", args->pieces, "Print pieces instead of ids");
  encode->add_flag("--parse-special", args->parse_special,
                   "Encode special-token spellings (<image>, roles, tokenizer.json specials) as their ids");
  encode->callback([args] {
    const auto tokenizer = language::load_tokenizer(args->model);
    const auto specials = args->parse_special ? language::SpecialText::parse : language::SpecialText::literal;
    std::vector<std::string> items;
    for (int32_t id : tokenizer->encode(args->text, specials)) {
      items.push_back(args->pieces ? tokenizer->id_to_piece(id) : std::to_string(id));
    }
    print_joined(items);
  });
}

void add_decode(CLI::App& tokenizer) {
  struct Arguments {
    std::filesystem::path model;
    std::vector<int32_t> ids;
    bool keep_special = false;
  };
  auto args = std::make_shared<Arguments>();
  CLI::App* decode = tokenizer.add_subcommand("decode", "Print the text of token ids");
  decode->add_option("--model", args->model, "tokenizer.json, tokenizer.model, or the folder holding one")->required();
  decode->add_option("ids", args->ids, "Token ids")->required();
  decode->add_flag("--keep-special", args->keep_special, "Write special tokens as their spellings");
  decode->callback([args] {
    const auto tokenizer = language::load_tokenizer(args->model);
    const auto specials = args->keep_special ? language::SpecialDecode::keep : language::SpecialDecode::skip;
    std::printf("%s\n", tokenizer->decode(args->ids, specials).c_str());
  });
}

}  // namespace

void add_tokenizer_command(CLI::App& app) {
  CLI::App* tokenizer = app.add_subcommand("tokenizer", "Train and try SentencePiece tokenizers");
  tokenizer->require_subcommand(1);
  add_train(*tokenizer);
  add_encode(*tokenizer);
  add_decode(*tokenizer);
}

}  // namespace hanvit::app
