// Running a model folder on images: loading (model, tokenizer, image processor), prompts, batched
// image encoding and generation, attention maps. Shared by `hanvit caption` and `hanvit vqa`.
#pragma once

#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "apps/model/attention_map.h"
#include "datasets/image/preprocess.h"
#include "fusion/model_folder.h"
#include "language/tokenizer/tokenizer.h"

namespace hanvit::app {

struct DecodeSettings {
  int beams = 1;             // > 1: beam search
  int max_tokens = 32;       // new tokens per answer
  double temperature = 0.0;  // 0: greedy; > 0: sampling
  int top_k = 0;
  double top_p = 1.0;
  double repetition_penalty = 1.0;
  double length_penalty = 1.0;
  uint64_t seed = 0;
  int batch = 8;             // images per forward
  bool attention = false;    // collect per-word cross-attention maps
};

struct Request {
  std::string image;     // path
  std::string question;  // empty: a caption
};

struct Answer {
  std::string text;
  std::vector<WordAttention> words;  // with DecodeSettings::attention
  cv::Mat model_view;                // the 8-bit RGB image the model saw (with attention)
  int grid = 0;                      // patches per side
};

class ModelRunner {
 public:
  // Throws std::invalid_argument naming the folder and what is missing or malformed.
  explicit ModelRunner(const std::string& model_dir);
  // A model already in memory (e.g. while it trains): its parameters are read from `store` at each
  // run, so in-place updates are seen; the tokenizer and image processor come from `model_dir`.
  ModelRunner(const std::string& model_dir, fusion::LoadedModel loaded, const ParameterStore& store);
  ~ModelRunner();

  // Answers in request order. Throws naming an unreadable image or a prompt longer than the context.
  std::vector<Answer> run(const std::vector<Request>& requests, const DecodeSettings& settings);

 private:
  void load_side_files(const std::string& model_dir);  // tokenizer, image processor, stop ids

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The prompt layout the models are trained with (datasets/loader/token_layout.h):
//   caption: [bos]                         then the caption and [eos]
//   vqa:     [bos] [user] question [assistant]  then the answer and [eos]
// Encoder-decoder models start from their decoder_start_token_id instead of [bos].
std::vector<int32_t> prompt_ids(const language::Tokenizer& tokenizer, const fusion::ModelConfig& config,
                                const std::string& question);

// Groups generated tokens into words (a word starts where the decoded text gains a space) and
// averages each word's per-token attention rows.
std::vector<WordAttention> words_of(const language::Tokenizer& tokenizer, const std::vector<int32_t>& tokens,
                                    const std::vector<std::vector<float>>& attention);

}  // namespace hanvit::app
