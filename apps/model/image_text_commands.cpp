// `hanvit caption` and `hanvit vqa`: generate Korean captions or answers for images with a model folder.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "apps/model/model_runner.h"
#include "datasets/formats/dataset_format.h"
#include "datasets/formats/record_log.h"

namespace hanvit::app {
namespace {

struct ImageTextOptions {
  std::string model, input, attention_map;
  std::vector<std::string> positional;
  DecodeSettings decode;
  bool json = false, strict = false;
};

void add_decode_options(CLI::App* command, ImageTextOptions& options) {
  command->add_option("--model", options.model, "Model folder (hanvit init, a trained run, or a Hugging Face "
                                                "VisionEncoderDecoderModel)")
      ->required();
  command->add_option("--input", options.input, "Run a whole set: caption JSONL or VQA JSONL (paths relative to it)");
  command->add_option("--beam", options.decode.beams, "Beam width (1: greedy or sampling)")->default_val(1)
      ->check(CLI::Range(1, 16));
  command->add_option("--max-tokens", options.decode.max_tokens, "Most new tokens per answer")->default_val(32)
      ->check(CLI::Range(1, 4096));
  command->add_option("--temperature", options.decode.temperature, "0: greedy; above 0: sample at this temperature")
      ->default_val(0.0)->check(CLI::Range(0.0, 100.0));
  command->add_option("--top-k", options.decode.top_k, "Sample from the k most likely tokens (0: all)")->default_val(0);
  command->add_option("--top-p", options.decode.top_p, "Sample from the smallest set of probability >= p")
      ->default_val(1.0)->check(CLI::Range(0.0, 1.0));
  command->add_option("--repetition-penalty", options.decode.repetition_penalty, "Penalty of tokens already present")
      ->default_val(1.0);
  command->add_option("--length-penalty", options.decode.length_penalty, "Beam search: score / length^penalty")
      ->default_val(1.0);
  command->add_option("--seed", options.decode.seed, "Seed of sampling")->default_val(0);
  command->add_option("--batch", options.decode.batch, "Images per forward pass")->default_val(8)
      ->check(CLI::Range(1, 256));
  command->add_option("--attention-map", options.attention_map,
                      "Write OUT.png: per generated word, where the cross-attention looked (several images: OUT-N.png)");
  command->add_flag("--json", options.json, "One JSON object per result");
  command->add_flag("--strict", options.strict, "--input: stop at the first bad record instead of skipping it");
}

std::vector<Request> requests_from_file(const ImageTextOptions& options, bool vqa) {
  data::RecordLog log(options.strict);
  std::vector<data::Sample> samples = data::read_samples(options.input, "", {}, log);
  for (const std::string& message : log.messages()) std::fprintf(stderr, "hanvit: skipped %s\n", message.c_str());
  std::vector<Request> requests;
  std::set<std::string> seen;
  for (const data::Sample& sample : samples) {
    const std::string image = sample.image.string();
    if (vqa) {
      if (sample.kind != data::SampleKind::vqa)
        throw std::invalid_argument(options.input + ": " + sample.source + " is not a VQA record (image, question)");
      requests.push_back({image, sample.turns.at(0).user});
    } else if (seen.insert(image).second) {
      requests.push_back({image, ""});
    }
  }
  if (requests.empty()) throw std::invalid_argument(options.input + ": no usable records");
  return requests;
}

std::string map_path(const std::string& path, size_t index, size_t count) {
  if (count == 1) return path;
  std::filesystem::path p(path);
  return (p.parent_path() / (p.stem().string() + "-" + std::to_string(index) + p.extension().string())).string();
}

void run_image_text(ImageTextOptions options, bool vqa) {
  std::vector<Request> requests;
  if (!options.input.empty()) {
    if (!options.positional.empty())
      throw std::invalid_argument("give images on the command line or --input FILE, not both");
    requests = requests_from_file(options, vqa);
  } else if (vqa) {
    if (options.positional.size() != 2)
      throw std::invalid_argument("hanvit vqa takes IMAGE \"QUESTION\" (or --input FILE)");
    requests.push_back({options.positional[0], options.positional[1]});
    if (requests[0].question.empty()) throw std::invalid_argument("the question is empty");
  } else {
    if (options.positional.empty()) throw std::invalid_argument("hanvit caption takes IMAGE... (or --input FILE)");
    for (const std::string& image : options.positional) requests.push_back({image, ""});
  }
  options.decode.attention = !options.attention_map.empty();
  ModelRunner runner(options.model);
  std::vector<Answer> answers = runner.run(requests, options.decode);
  for (size_t i = 0; i < requests.size(); ++i) {
    if (options.json) {
      nlohmann::json line = {{"image", requests[i].image}};
      if (vqa) {
        line["question"] = requests[i].question;
        line["answer"] = answers[i].text;
      } else {
        line["caption"] = answers[i].text;
      }
      std::printf("%s\n", line.dump().c_str());
    } else if (vqa) {
      std::printf("%s\t%s\t%s\n", requests[i].image.c_str(), requests[i].question.c_str(), answers[i].text.c_str());
    } else {
      std::printf("%s\t%s\n", requests[i].image.c_str(), answers[i].text.c_str());
    }
    if (options.decode.attention) {
      const std::string path = map_path(options.attention_map, i, requests.size());
      write_attention_map(path, answers[i].model_view, answers[i].grid, answers[i].words);
      std::fprintf(stderr, "hanvit: attention map of %s: %s\n", requests[i].image.c_str(), path.c_str());
    }
  }
}

}  // namespace

void add_caption_command(CLI::App& app) {
  auto options = std::make_shared<ImageTextOptions>();
  CLI::App* caption = app.add_subcommand("caption", "Caption images in Korean with a model folder");
  add_decode_options(caption, *options);
  caption->add_option("images", options->positional, "Image files");
  caption->callback([options] { run_image_text(*options, false); });
}

void add_vqa_command(CLI::App& app) {
  auto options = std::make_shared<ImageTextOptions>();
  CLI::App* vqa = app.add_subcommand("vqa", "Answer a question about an image with a model folder");
  add_decode_options(vqa, *options);
  vqa->add_option("image_and_question", options->positional, "IMAGE \"QUESTION\"");
  vqa->callback([options] { run_image_text(*options, true); });
}

}  // namespace hanvit::app
