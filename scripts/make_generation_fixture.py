"""Writes the generation fixtures under tests/data/generation/ with torch + transformers (never used at run time).

Tiny random LlamaForCausalLM (GQA: 4 query / 2 key-value heads) and GPT2LMHeadModel folders (save_pretrained,
safetensors), weights with extra noise so that outputs vary, and in expected.safetensors the outputs of
generate() for two prompts of different lengths, each generated alone (no padding):
  prompt_<p>                       i32 (L_p) prompt ids
  stop_id                          i32 (1): the end-of-sequence id of the *_stop cases
  <case>_<p>                       i32 (N): generated ids without the prompt
  <case>_score_<p>                 f32 (1): beam cases, the returned sequence score
Cases (max_new_tokens 20; without a stop id every row runs to 20):
  greedy                           do_sample=False
  greedy_penalty                   repetition_penalty 1.5
  greedy_stop                      eos = stop_id
  beam                             num_beams 3, length_penalty 1.0
  beam_stop                        num_beams 3, length_penalty 1.0, eos = stop_id
  beam_stop_long                   num_beams 4, length_penalty 2.0, eos = stop_id
  beam_stop_two                    num_beams 2, length_penalty 1.0, eos = stop_id
  beam_stop_early                  num_beams 3, length_penalty 2.0, early_stopping True, eos = stop_id
  beam_penalty                     num_beams 3, repetition_penalty 1.5

Usage: .venv-data/bin/python scripts/make_generation_fixture.py
"""
import pathlib

import torch
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

DATA = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "generation"
LLAMA = dict(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=2,
             pad_token_id=0, rope_theta=10000.0, tie_word_embeddings=False)
GPT2 = dict(vocab_size=64, n_positions=64, n_embd=32, n_layer=2, n_head=4, bos_token_id=1, eos_token_id=2,
            pad_token_id=0)
NEW_TOKENS = 20
CASES = {
    "greedy": dict(num_beams=1),
    "greedy_penalty": dict(num_beams=1, repetition_penalty=1.5),
    "greedy_stop": dict(num_beams=1, stop=True),
    "beam": dict(num_beams=3, length_penalty=1.0),
    "beam_stop": dict(num_beams=3, length_penalty=1.0, stop=True),
    "beam_stop_long": dict(num_beams=4, length_penalty=2.0, stop=True),
    "beam_stop_two": dict(num_beams=2, length_penalty=1.0, stop=True),
    "beam_stop_early": dict(num_beams=3, length_penalty=2.0, early_stopping=True, stop=True),
    "beam_penalty": dict(num_beams=3, repetition_penalty=1.5),
}


def noisy(model, scale):
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(scale * torch.randn_like(parameter))
    return model.eval()


def generate(model, prompt, stop_id, num_beams, stop=False, **options):
    model.generation_config.eos_token_id = stop_id if stop else None
    model.generation_config.pad_token_id = 0
    ids = prompt[None, :]
    out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=NEW_TOKENS, do_sample=False,
                         num_beams=num_beams, return_dict_in_generate=True, output_scores=num_beams > 1, **options)
    tokens = out.sequences[0, prompt.shape[0]:]
    score = out.sequences_scores[0] if num_beams > 1 else None
    return tokens, score


def write(name, model, prompts):
    out = DATA / name
    model.save_pretrained(out, safe_serialization=True)
    with torch.no_grad():
        # A stop id that greedy decoding of the first prompt meets after a few tokens.
        first, _ = generate(model, prompts[0], 2, 1)
        stop_id = next(int(t) for t in first[4:] if int(t) not in first[:4].tolist())
        tensors = {"stop_id": torch.tensor([stop_id], dtype=torch.int32)}
        for p, prompt in enumerate(prompts):
            tensors[f"prompt_{p}"] = prompt.to(torch.int32)
            for case, options in CASES.items():
                tokens, score = generate(model, prompt, stop_id, **options)
                tensors[f"{case}_{p}"] = tokens.to(torch.int32)
                if score is not None:
                    tensors[f"{case}_score_{p}"] = score.reshape(1).float()
                print(f"{name} prompt {p} {case}: {tokens.shape[0]} tokens")
    save_file({k: v.contiguous() for k, v in tensors.items()}, out / "expected.safetensors")


def main():
    torch.manual_seed(0)
    vocab = LLAMA["vocab_size"]
    prompts = [torch.randint(3, vocab, (4,)), torch.randint(3, vocab, (9,))]
    write("llama_gqa", noisy(LlamaForCausalLM(LlamaConfig(**LLAMA)), 0.3), prompts)
    write("gpt2", noisy(GPT2LMHeadModel(GPT2Config(**GPT2)), 0.3), prompts)


if __name__ == "__main__":
    main()
