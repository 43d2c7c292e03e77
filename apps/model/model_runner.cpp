// ModelRunner: model folder + tokenizer + image processor, batched image encoding and generation.
#include "apps/model/model_runner.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "datasets/image/decode.h"
#include "datasets/image/processor_config.h"
#include "fusion/encode_images.h"
#include "fusion/vlm_step_model.h"
#include "language/generation/generate.h"
#include "language/tokenizer/load_tokenizer.h"

namespace hanvit::app {
namespace fs = std::filesystem;
using language::SpecialToken;

std::vector<int32_t> prompt_ids(const language::Tokenizer& tokenizer, const fusion::ModelConfig& config,
                                const std::string& question) {
  std::vector<int32_t> ids;
  const language::SpecialTokenIds& special = tokenizer.special();
  int64_t start = config.fusion.style == fusion::FusionStyle::encoder_decoder ? config.decoder_start_token_id
                                                                              : special[SpecialToken::bos];
  if (start < 0) start = config.language.bos_token_id;
  if (start >= 0) ids.push_back(static_cast<int32_t>(start));
  if (question.empty()) return ids;
  if (special[SpecialToken::user] >= 0) ids.push_back(special[SpecialToken::user]);
  for (int32_t id : tokenizer.encode(question)) ids.push_back(id);
  if (special[SpecialToken::assistant] >= 0) ids.push_back(special[SpecialToken::assistant]);
  return ids;
}

std::vector<WordAttention> words_of(const language::Tokenizer& tokenizer, const std::vector<int32_t>& tokens,
                                    const std::vector<std::vector<float>>& attention) {
  std::vector<WordAttention> words;
  std::vector<int> counts;
  std::string text;
  for (size_t i = 0; i < tokens.size() && i < attention.size(); ++i) {
    const std::string grown = tokenizer.decode(std::span<const int32_t>(tokens.data(), i + 1));
    std::string added = grown.size() >= text.size() && grown.compare(0, text.size(), text) == 0
                            ? grown.substr(text.size())
                            : grown;
    text = grown;
    if (added.empty()) continue;  // a special token, or bytes of a character not yet complete
    const bool starts_word = words.empty() || added.front() == ' ';
    const size_t first = added.find_first_not_of(' ');
    added = first == std::string::npos ? std::string() : added.substr(first);
    if (starts_word) {
      words.push_back({added, attention[i]});
      counts.push_back(1);
    } else {
      words.back().word += added;
      for (size_t p = 0; p < attention[i].size(); ++p) words.back().patches[p] += attention[i][p];
      ++counts.back();
    }
  }
  for (size_t w = 0; w < words.size(); ++w)
    for (float& value : words[w].patches) value /= static_cast<float>(counts[w]);
  words.erase(std::remove_if(words.begin(), words.end(), [](const WordAttention& w) { return w.word.empty(); }),
              words.end());
  return words;
}

struct ModelRunner::Impl {
  std::string dir;
  ParameterStore store;
  fusion::LoadedModel loaded;
  std::unique_ptr<language::Tokenizer> tokenizer;
  data::PreprocessOptions preprocess;
  std::vector<int32_t> stop_ids;

  // The images of `requests` [begin, end) decoded and preprocessed: pixels (B, 3, H, W) and the
  // 8-bit views. Errors name the image.
  Tensor load_images(const std::vector<Request>& requests, size_t begin, size_t end, std::vector<cv::Mat>* views) const {
    const int side = preprocess.mode == data::ResizeMode::shortest_edge_crop ? preprocess.crop : preprocess.size;
    const int64_t batch = static_cast<int64_t>(end - begin);
    Tensor pixels = Tensor::zeros({batch, 3, side, side});
    for (size_t i = begin; i < end; ++i) {
      cv::Mat rgb;
      try {
        rgb = data::decode_image_file(requests[i].image);
      } catch (const std::exception& e) {
        throw std::invalid_argument("image '" + requests[i].image + "': " + e.what());
      }
      Tensor one = data::preprocess(rgb, preprocess);
      std::copy(one.data<float>(), one.data<float>() + one.numel(),
                pixels.data<float>() + static_cast<int64_t>(i - begin) * one.numel());
      if (views) views->push_back(data::resize_for_model(rgb, preprocess));
    }
    return pixels;
  }
};

ModelRunner::ModelRunner(const std::string& model_dir) : impl_(std::make_unique<Impl>()) {
  impl_->loaded = fusion::load_model(model_dir, impl_->store);
  load_side_files(model_dir);
}

ModelRunner::ModelRunner(const std::string& model_dir, fusion::LoadedModel loaded, const ParameterStore& store)
    : impl_(std::make_unique<Impl>()) {
  impl_->loaded = std::move(loaded);
  impl_->store = store;
  load_side_files(model_dir);
}

void ModelRunner::load_side_files(const std::string& model_dir) {
  impl_->dir = model_dir;
  impl_->tokenizer = language::load_tokenizer(model_dir);
  const fusion::ModelConfig& config = impl_->loaded.config;
  if (impl_->tokenizer->vocab_size() > config.language.vocab_size)
    throw std::invalid_argument("model '" + model_dir + "': the tokenizer has " +
                                std::to_string(impl_->tokenizer->vocab_size()) + " tokens but the decoder only " +
                                std::to_string(config.language.vocab_size));
  impl_->preprocess = data::load_processor_options(model_dir);
  const int side =
      impl_->preprocess.mode == data::ResizeMode::shortest_edge_crop ? impl_->preprocess.crop : impl_->preprocess.size;
  if (side != config.vision.image_size)
    throw std::invalid_argument("model '" + model_dir + "': preprocessor_config.json makes " + std::to_string(side) +
                                " px images but the vision tower takes " + std::to_string(config.vision.image_size));
  const int32_t eos = impl_->tokenizer->special()[SpecialToken::eos];
  if (eos >= 0) impl_->stop_ids.push_back(eos);
  for (int64_t id : config.language.eos_token_ids)
    if (std::find(impl_->stop_ids.begin(), impl_->stop_ids.end(), id) == impl_->stop_ids.end())
      impl_->stop_ids.push_back(static_cast<int32_t>(id));
}

ModelRunner::~ModelRunner() = default;

std::vector<Answer> ModelRunner::run(const std::vector<Request>& requests, const DecodeSettings& settings) {
  const fusion::ModelConfig& config = impl_->loaded.config;
  const int64_t context = config.language.max_positions;
  std::vector<Answer> answers(requests.size());
  const size_t batch = static_cast<size_t>(std::max(1, settings.batch));
  for (size_t begin = 0; begin < requests.size(); begin += batch) {
    const size_t end = std::min(requests.size(), begin + batch);
    std::vector<std::vector<int32_t>> prompts;
    size_t longest = 0;
    for (size_t i = begin; i < end; ++i) {
      prompts.push_back(prompt_ids(*impl_->tokenizer, config, requests[i].question));
      if (static_cast<int64_t>(prompts.back().size()) >= context)
        throw std::invalid_argument("the prompt of " + requests[i].image + " is " +
                                    std::to_string(prompts.back().size()) + " tokens; the model's context is " +
                                    std::to_string(context));
      longest = std::max(longest, prompts.back().size());
    }
    std::vector<cv::Mat> views;
    const Tensor pixels = impl_->load_images(requests, begin, end, settings.attention ? &views : nullptr);
    fusion::VlmStepModel step(*impl_->loaded.model, fusion::encode_images(*impl_->loaded.model, impl_->store, cpu_backend(), pixels), settings.attention);
    language::GenerationOptions options;
    options.max_new_tokens = static_cast<int>(std::min<int64_t>(settings.max_tokens, context - static_cast<int64_t>(longest)));
    options.stop_ids = impl_->stop_ids;
    options.temperature = settings.temperature;
    options.top_k = settings.top_k;
    options.top_p = settings.top_p;
    options.repetition_penalty = settings.repetition_penalty;
    options.seed = settings.seed + begin;
    options.num_beams = settings.beams;
    options.length_penalty = settings.length_penalty;
    options.vocab_limit = impl_->tokenizer->vocab_size();
    std::vector<language::GenerationResult> results =
        language::generate(step, impl_->store, cpu_backend(), prompts, options);
    const int grid = static_cast<int>(config.vision.grid());
    for (size_t i = begin; i < end; ++i) {
      language::GenerationResult& result = results[i - begin];
      std::vector<int32_t> tokens = result.tokens;
      if (result.stopped && !tokens.empty()) tokens.pop_back();
      std::string text = impl_->tokenizer->decode(tokens);
      const size_t first = text.find_first_not_of(' '), last = text.find_last_not_of(' ');
      answers[i].text = first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
      if (!settings.attention) continue;
      // Attention rows cover every visual token; the class token (first, when there is one) has no place.
      std::vector<std::vector<float>> patches;
      for (const std::vector<float>& row : result.extras["cross_attention"])
        patches.emplace_back(row.end() - grid * grid, row.end());
      answers[i].words = words_of(*impl_->tokenizer, tokens, patches);
      answers[i].model_view = views[i - begin];
      answers[i].grid = grid;
    }
  }
  return answers;
}

}  // namespace hanvit::app
