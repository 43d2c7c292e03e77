// prepare_demo_inputs and demo_train_config: data, tokenizer, model folder and run config of the demo.
#include "apps/train/demo_setup.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "datasets/formats/record_log.h"
#include "datasets/image/processor_config.h"
#include "datasets/synth/writer.h"
#include "fusion/compose.h"
#include "language/tokenizer/tokenizer_folder.h"
#include "language/tokenizer/tokenizer_trainer.h"
#include "language/tokenizer/training_text.h"
#include "modules/io/atomic_file.h"

namespace hanvit::app {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void write_json(const fs::path& path, const json& value) { write_text_atomically(path.string(), value.dump(2) + "\n"); }

void write_model_configs(const fs::path& dir, const DemoOptions& o) {
  fs::create_directories(dir);
  // Patches tile the cells of the canvas's 3 x 3 grid exactly (a 64 px canvas is seen at 63 px: one 21 px
  // patch per cell by default).
  const int cell = o.image_size / 3, patch = cell / o.patch_cells;
  const int64_t heads = std::max<int64_t>(1, o.width / 32);
  const int64_t vision_width = o.vision_width > 0 ? o.vision_width : o.width;
  write_json(dir / "vision.json", {{"model_type", "vit"},
                                   {"hidden_size", vision_width},
                                   {"num_hidden_layers", o.vision_layers},
                                   {"num_attention_heads", std::max<int64_t>(1, vision_width / 32)},
                                   {"intermediate_size", vision_width * 2},
                                   {"image_size", cell * 3},
                                   {"patch_size", patch},
                                   {"hidden_act", "gelu_pytorch_tanh"}});
  write_json(dir / "language.json", {{"model_type", "llama"},
                                     {"vocab_size", o.vocab},
                                     {"hidden_size", o.width},
                                     {"intermediate_size", o.width * 2},
                                     {"num_hidden_layers", o.layers},
                                     {"num_attention_heads", heads},
                                     {"num_key_value_heads", heads},
                                     {"max_position_embeddings", 96},
                                     {"pad_token_id", 0},
                                     {"bos_token_id", 2},
                                     {"eos_token_id", 3},
                                     // Fan-in scale (std 1 / sqrt(width)): Hugging Face's default 0.02 suits
                                     // widths in the thousands and slows a width-128 decoder's first steps.
                                     {"initializer_range", 1.0 / std::sqrt(static_cast<double>(o.width))},
                                     {"tie_word_embeddings", true}});
}

}  // namespace

fusion::ComposedModel compose_demo_model(const DemoOptions& o, const fs::path& tokenizer_dir, ParameterStore& store) {
  const fs::path out = o.out;
  write_model_configs(out / "configs", o);
  fusion::ComposeOptions compose;
  compose.vision = (out / "configs" / "vision.json").string();
  compose.language = (out / "configs" / "language.json").string();
  compose.fusion_spec = o.fusion;
  compose.tokenizer = tokenizer_dir.string();
  compose.seed = o.seed;
  fusion::ComposedModel composed = fusion::compose_model(compose, store);
  // The gates start open: nothing here is pretrained, so there is no language model to keep intact, and a
  // closed gate would pass the vision tower no gradient until the gate itself has grown.
  for (const std::string& name : store.names())
    if (name.ends_with("attn_gate") || name.ends_with("mlp_gate")) store.set(name, Tensor::full({1}, 1.0));
  // Strong position embeddings (unit scale, not 0.02): the keys of the visual tokens then tell the cells apart
  // from the start, so cross-attention can learn to pick a cell before the tower has learnt the shapes.
  store.initialize("vision.embeddings.position_embeddings", store.get("vision.embeddings.position_embeddings").shape(),
                   Init::normal(1.0));
  // Unit-scale visual tokens, queries and keys (LeCun-normal projector, q_proj, k_proj): attention scores of
  // order one, so the cross-attention is selective, and learns to select, from the first steps.
  for (const std::string& name : store.names()) {
    const bool unit = name == "fusion.projector.linear.weight" ||
                      (name.rfind("fusion.blocks.", 0) == 0 &&
                       (name.ends_with(".q_proj.weight") || name.ends_with(".k_proj.weight")));
    if (!unit) continue;
    const Shape shape = store.get(name).shape();
    store.initialize(name, shape, Init::normal(1.0 / std::sqrt(static_cast<double>(shape[1]))));
  }
  return composed;
}

CellPretrainingResult prepare_demo_inputs(const DemoOptions& o) {
  const fs::path out = o.out, data_dir = out / "data";
  fs::create_directories(out);
  data::SynthOptions synth;
  synth.out = data_dir;
  synth.train = o.train_images;
  synth.val = o.val_images;
  synth.test = o.test_images;
  synth.size = o.image_size;
  synth.seed = o.seed;
  synth.overwrite = true;
  data::write_synth_dataset(synth);

  data::RecordLog text_log(true);
  const std::vector<std::string> sentences =
      language::read_training_text({data_dir / "train" / "captions.jsonl", data_dir / "train" / "vqa.jsonl"}, text_log);
  language::TokenizerTrainOptions tokenizer_options;
  tokenizer_options.vocab_size = o.vocab;
  tokenizer_options.seed = static_cast<uint32_t>(o.seed);
  language::write_tokenizer_folder(out / "tokenizer", language::train_sentencepiece(sentences, tokenizer_options),
                                   true);

  ParameterStore store(o.seed);
  fusion::ComposedModel composed = compose_demo_model(o, out / "tokenizer", store);
  CellPretrainingResult pretrained;
  if (o.pretrain_steps > 0) {
    CellPretrainingOptions cells;
    cells.data_dir = data_dir;
    cells.data_seed = o.seed;
    cells.canvas = o.image_size;
    cells.train_images = o.train_images;
    cells.val_images = o.val_images;
    cells.steps = o.pretrain_steps;
    cells.batch = o.batch;
    cells.lr = o.lr;
    cells.seed = o.seed;
    cells.quiet = o.quiet;
    const data::PreprocessOptions preprocess =
        data::processor_options_from_json(json::parse(composed.preprocessor_json), "the demo's preprocessor config");
    pretrained = pretrain_vision_on_cells(*composed.loaded.model, store, preprocess, cells);
  }
  std::map<std::string, std::string> text_files;
  if (!composed.preprocessor_json.empty()) text_files["preprocessor_config.json"] = composed.preprocessor_json;
  fusion::save_model((out / "init").string(), composed.loaded.config, *composed.loaded.model, store,
                     composed.side_files, true, text_files);
  return pretrained;
}

TrainConfig demo_train_config(const DemoOptions& o) {
  const fs::path out = o.out, data_dir = out / "data";
  TrainConfig config;
  config.model = (out / "init").string();
  config.output = out.string();
  config.train_data = {{(data_dir / "train" / "captions.jsonl").string(), "", 2.0},
                       {(data_dir / "train" / "vqa.jsonl").string(), "", o.vqa_weight}};
  if (o.val_images > 0)
    config.val_data = {{(data_dir / "val" / "captions.jsonl").string(), "", 1.0},
                       {(data_dir / "val" / "vqa.jsonl").string(), "", 1.0}};
  config.steps = o.steps;
  config.batch_size = o.batch;
  config.max_tokens = 64;
  config.optimizer.lr = o.lr;
  if (o.vision_lr_scale == 0.0)
    config.freeze = {"vision.*"};  // no backward pass through the tower at all
  else if (o.vision_lr_scale != 1.0)
    config.optimizer.lr_scales = {{"vision.*", o.vision_lr_scale}};
  config.optimizer.weight_decay = 0.01;
  config.optimizer.warmup_steps = std::max<int64_t>(1, o.steps / 20);
  config.optimizer.min_lr_ratio = 0.05;
  config.preset = "full";
  config.eval_every = std::max<int64_t>(1, o.steps / 4);
  config.eval_samples = 60;
  config.checkpoint_every = std::max<int64_t>(1, o.steps / 2);
  config.keep_checkpoints = 1;
  config.log_every = 10;
  config.seed = o.seed;
  config.workers = o.workers;
  return config;
}

}  // namespace hanvit::app
