"""Writes the decoder fixtures under tests/data/decoder/ with torch + transformers (never used at run time).

Tiny random LlamaForCausalLM and GPT2LMHeadModel folders (save_pretrained, safetensors), weights with extra
noise so that outputs vary:
  llama_gqa          GQA (4 query / 2 key-value heads), untied, rope_theta 50000
  llama_tied_linear  tied embeddings, linear RoPE scaling (factor 2)
  llama_dynamic      dynamic NTK RoPE scaling (factor 2) with max_position_embeddings 8 < the 12-token input
  gpt2               GPT2LMHeadModel
  gpt2_cross         GPT2LMHeadModel with add_cross_attention, fed fixed encoder_hidden_states
  qwen2_tied         Qwen2ForCausalLM (q/k/v biases), GQA, tied embeddings, one layer, stored in float16
  mistral_window     MistralForCausalLM with a sliding window (16) longer than the input, one layer, float16
The float16 folders hold weights rounded to float16 before the reference logits are computed in float32.
expected.safetensors: input_ids (2, 12) i32, logits f32, encoder_hidden_states (gpt2_cross), and for
llama_gqa and gpt2 the ids of generate() from the first 5 tokens of each row: greedy_ids (20 new tokens)
and beam_ids (num_beams 3, length_penalty 1.0, 20 new tokens), with no end-of-sequence token so that
every row runs to 20.

Usage: $(scripts/make_venv.sh) scripts/make_decoder_fixture.py
"""
import pathlib

import torch
from safetensors.torch import save_file
from transformers import (GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM, MistralConfig,
                          MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM)

DATA = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "decoder"
LLAMA = dict(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=2,
             pad_token_id=0)
GPT2 = dict(vocab_size=256, n_positions=64, n_embd=32, n_layer=2, n_head=4, bos_token_id=1, eos_token_id=2,
            pad_token_id=0)


def noisy(model, scale):
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(scale * torch.randn_like(parameter))
    return model.eval()


def rounded_to_half(model):
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(parameter.half().float())
    return model


def write(name, model, extra_inputs=None, generation=False, half=False):
    out = DATA / name
    ids = torch.randint(3, model.config.vocab_size, (2, 12))
    tensors = {"input_ids": ids.to(torch.int32)}
    with torch.no_grad():
        tensors["logits"] = model(input_ids=ids, **(extra_inputs or {})).logits
    # Saved after the reference pass (half() also rounds buffers such as RoPE's inverse frequencies) and
    # before generate() edits the generation config.
    (model.half() if half else model).save_pretrained(out, safe_serialization=True)
    with torch.no_grad():
        if generation:
            model.generation_config.eos_token_id = None
            model.generation_config.pad_token_id = 0
            prompt = ids[:, :5]
            mask = torch.ones_like(prompt)
            tensors["greedy_ids"] = model.generate(prompt, attention_mask=mask, max_new_tokens=20, do_sample=False,
                                                   num_beams=1)[:, 5:].to(torch.int32)
            tensors["beam_ids"] = model.generate(prompt, attention_mask=mask, max_new_tokens=20, do_sample=False,
                                                 num_beams=3, length_penalty=1.0)[:, 5:].to(torch.int32)
    for key, value in (extra_inputs or {}).items():
        tensors[key] = value
    save_file({k: v.contiguous() for k, v in tensors.items()}, out / "expected.safetensors")


def main():
    torch.manual_seed(0)
    write("llama_gqa", noisy(LlamaForCausalLM(LlamaConfig(**LLAMA, rope_theta=50000.0, tie_word_embeddings=False)), 0.3),
          generation=True)
    write("llama_tied_linear", noisy(LlamaForCausalLM(LlamaConfig(
        **LLAMA, tie_word_embeddings=True, rope_scaling={"rope_type": "linear", "factor": 2.0})), 0.3))
    dynamic = dict(LLAMA, max_position_embeddings=8)
    write("llama_dynamic", noisy(LlamaForCausalLM(LlamaConfig(
        **dynamic, tie_word_embeddings=False, rope_scaling={"rope_type": "dynamic", "factor": 2.0})), 0.3))
    write("gpt2", noisy(GPT2LMHeadModel(GPT2Config(**GPT2)), 0.3), generation=True)
    cross = GPT2LMHeadModel(GPT2Config(**GPT2, add_cross_attention=True))
    write("gpt2_cross", noisy(cross, 0.3), extra_inputs={"encoder_hidden_states": torch.randn(2, 7, 32)})
    small = dict(LLAMA, vocab_size=128, intermediate_size=48, num_hidden_layers=1)
    write("qwen2_tied", rounded_to_half(noisy(Qwen2ForCausalLM(Qwen2Config(
        **small, tie_word_embeddings=True, rope_parameters={"rope_type": "default", "rope_theta": 20000.0})), 0.3)),
        half=True)
    write("mistral_window", rounded_to_half(noisy(MistralForCausalLM(MistralConfig(
        **small, sliding_window=16, tie_word_embeddings=False)), 0.3)), half=True)


if __name__ == "__main__":
    main()
