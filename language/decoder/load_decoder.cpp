// load_decoder: config.json and the weights of a Llama/Mistral/Qwen2ForCausalLM or GPT2LMHeadModel folder.
#include <filesystem>
#include <stdexcept>

#include "language/decoder/decoder_lm.h"
#include "modules/io/json_strict.h"
#include "modules/io/safetensors.h"
#include "modules/nn/load_parameters.h"

namespace hanvit::language {

LoadedDecoder load_decoder(const std::string& dir, ParameterStore& store, const std::string& store_prefix) {
  const std::string subject = "decoder '" + dir + "'";
  if (!std::filesystem::is_directory(dir)) throw std::invalid_argument(subject + ": not a folder");
  LoadedDecoder loaded;
  loaded.config = DecoderConfig::from_json(
      read_json_file_strict((std::filesystem::path(dir) / "config.json").string(), subject + " config.json"),
      subject + " config.json");
  loaded.model = std::make_shared<DecoderLM>(loaded.config);
  const SafetensorsFolder folder(dir);
  LoadOptions options;
  options.store_prefix = store_prefix;
  // A bare GPT2Model checkpoint ("h.0...", "wte") holds the transformer without its prefix.
  if (loaded.config.family == DecoderFamily::gpt2 && !folder.contains("transformer.wte.weight") &&
      folder.contains("wte.weight"))
    throw std::invalid_argument(subject + ": a GPT2Model checkpoint (no LM head); save it as GPT2LMHeadModel");
  options.ignored_suffixes = {".attn.bias", ".attn.masked_bias", ".crossattention.bias", ".crossattention.masked_bias",
                              "rotary_emb.inv_freq", "lm_head.weight"};
  options.reject_unexpected = true;
  load_parameters(folder, *loaded.model, store, options);
  return loaded;
}

}  // namespace hanvit::language
