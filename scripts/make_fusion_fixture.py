"""Writes the fusion fixtures under tests/data/fusion/ with torch + transformers (never used at run time).

gated/  A tiny gated vision-language model in Hanvit's folder layout: a CLIPVisionModel tower, a
        LlamaForCausalLM decoder (GQA) and two gated cross-attention blocks (before decoder layers 0
        and 2, GQA cross-attention, MLP projector) with non-zero gates. The blocks are written out
        here in plain torch, from the block's definition:
            h = x + tanh(attn_gate) * o_proj(softmax(q k^T / sqrt(Dh)) v),  q = q_proj(rms_norm(x)),
                k = k_proj(visual), v = v_proj(visual), visual = fc2(gelu(fc1(clip(pixels))))
            y = h + tanh(mlp_gate) * down_proj(silu(gate_proj(n)) * up_proj(n)),  n = rms_norm(h)
        and run before their decoder layers through forward pre-hooks on transformers' own Llama.
ved/    A tiny Hugging Face VisionEncoderDecoderModel (ViTModel encoder, GPT-2 decoder with
        add_cross_attention, different widths so enc_to_dec_proj exists), saved by save_pretrained.
Each folder's expected.safetensors holds the inputs (pixel_values f32, input_ids i32) and the
reference outputs: logits (f32) and, for ved, greedy and 3-beam generate() token ids (i32).

Usage: $(scripts/make_venv.sh) scripts/make_fusion_fixture.py
"""
import json
import pathlib

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import (CLIPVisionConfig, CLIPVisionModel, GPT2Config, LlamaConfig, LlamaForCausalLM,
                          VisionEncoderDecoderModel, ViTConfig, ViTModel, GPT2LMHeadModel)

DATA = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "fusion"
torch.manual_seed(0)


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


class GatedBlock(torch.nn.Module):
    def __init__(self, dim, heads, kv_heads, hidden, eps):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim, self.eps = heads, kv_heads, dim // heads, eps
        self.norm_attn = torch.nn.Parameter(1 + 0.1 * torch.randn(dim))
        self.q_proj = torch.nn.Linear(dim, dim, bias=False)
        self.k_proj = torch.nn.Linear(dim, kv_heads * self.head_dim, bias=False)
        self.v_proj = torch.nn.Linear(dim, kv_heads * self.head_dim, bias=False)
        self.o_proj = torch.nn.Linear(dim, dim, bias=False)
        self.attn_gate = torch.nn.Parameter(torch.tensor([0.0]))
        self.norm_mlp = torch.nn.Parameter(1 + 0.1 * torch.randn(dim))
        self.gate_proj = torch.nn.Linear(dim, hidden, bias=False)
        self.up_proj = torch.nn.Linear(dim, hidden, bias=False)
        self.down_proj = torch.nn.Linear(hidden, dim, bias=False)
        self.mlp_gate = torch.nn.Parameter(torch.tensor([0.0]))

    def heads_of(self, x, count):
        b, t, _ = x.shape
        return x.view(b, t, count, self.head_dim).transpose(1, 2)

    def forward(self, x, visual):
        q = self.heads_of(self.q_proj(rms_norm(x, self.norm_attn, self.eps)), self.heads)
        group = self.heads // self.kv_heads
        k = self.heads_of(self.k_proj(visual), self.kv_heads).repeat_interleave(group, dim=1)
        v = self.heads_of(self.v_proj(visual), self.kv_heads).repeat_interleave(group, dim=1)
        probs = torch.softmax(q @ k.transpose(-1, -2) / self.head_dim ** 0.5, dim=-1)
        attended = (probs @ v).transpose(1, 2).reshape(x.shape)
        h = x + torch.tanh(self.attn_gate) * self.o_proj(attended)
        n = rms_norm(h, self.norm_mlp, self.eps)
        return h + torch.tanh(self.mlp_gate) * self.down_proj(F.silu(self.gate_proj(n)) * self.up_proj(n))

    def state(self, prefix):
        return {prefix + "norm_attn.weight": self.norm_attn, prefix + "q_proj.weight": self.q_proj.weight,
                prefix + "k_proj.weight": self.k_proj.weight, prefix + "v_proj.weight": self.v_proj.weight,
                prefix + "o_proj.weight": self.o_proj.weight, prefix + "attn_gate": self.attn_gate,
                prefix + "norm_mlp.weight": self.norm_mlp, prefix + "mlp.gate_proj.weight": self.gate_proj.weight,
                prefix + "mlp.up_proj.weight": self.up_proj.weight, prefix + "mlp.down_proj.weight": self.down_proj.weight,
                prefix + "mlp_gate": self.mlp_gate}


def write_gated():
    out = DATA / "gated"
    out.mkdir(parents=True, exist_ok=True)
    vision_config = CLIPVisionConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2,
                                     num_attention_heads=4, intermediate_size=64, hidden_act="quick_gelu",
                                     projection_dim=16)
    text_config = LlamaConfig(vocab_size=128, hidden_size=48, num_hidden_layers=3, num_attention_heads=4,
                              num_key_value_heads=2, intermediate_size=96, rope_theta=20000.0, rms_norm_eps=1e-5,
                              max_position_embeddings=64, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2,
                              pad_token_id=0)
    vision = CLIPVisionModel(vision_config).eval()
    text = LlamaForCausalLM(text_config).eval()
    fc1, fc2 = torch.nn.Linear(32, 48), torch.nn.Linear(48, 48)
    layers = [0, 2]
    blocks = [GatedBlock(48, 4, 2, 96, text_config.rms_norm_eps) for _ in layers]
    with torch.no_grad():
        for block, (g_attn, g_mlp) in zip(blocks, [(0.7, -0.4), (-0.5, 0.9)]):
            block.attn_gate.fill_(g_attn)
            block.mlp_gate.fill_(g_mlp)

    pixels = torch.randn(2, 3, 32, 32)
    ids = torch.randint(3, 128, (2, 10))
    with torch.no_grad():
        visual = fc2(F.gelu(fc1(vision(pixel_values=pixels).last_hidden_state)))
        hooks = []
        for block, layer in zip(blocks, layers):
            def pre_hook(module, args, kwargs, block=block):
                if args:
                    return (block(args[0], visual),) + tuple(args[1:]), kwargs
                kwargs = dict(kwargs)
                kwargs["hidden_states"] = block(kwargs["hidden_states"], visual)
                return args, kwargs
            hooks.append(text.model.layers[layer].register_forward_pre_hook(pre_hook, with_kwargs=True))
        logits = text(input_ids=ids).logits
        for hook in hooks:
            hook.remove()
        plain_logits = text(input_ids=ids).logits

    tensors = {"vision." + k: v for k, v in vision.state_dict().items()}
    tensors.update({"language." + k: v for k, v in text.state_dict().items()})
    tensors.update({"fusion.projector.fc1.weight": fc1.weight, "fusion.projector.fc1.bias": fc1.bias,
                    "fusion.projector.fc2.weight": fc2.weight, "fusion.projector.fc2.bias": fc2.bias})
    for i, block in enumerate(blocks):
        tensors.update(block.state(f"fusion.blocks.{i}."))
    save_file({k: v.detach().contiguous() for k, v in tensors.items()}, out / "model.safetensors",
              metadata={"format": "pt"})
    config = {"model_type": "hanvit_vision_language", "architectures": ["HanvitVisionLanguageModel"],
              "vision": vision_config.to_dict(), "language": text_config.to_dict(),
              "fusion": {"style": "gated", "layers": layers, "projector": "mlp", "num_heads": 4, "num_kv_heads": 2,
                         "intermediate_size": 96}}
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    save_file({"pixel_values": pixels, "input_ids": ids.to(torch.int32), "logits": logits,
               "plain_logits": plain_logits}, out / "expected.safetensors")


def write_ved():
    out = DATA / "ved"
    out.mkdir(parents=True, exist_ok=True)
    encoder = ViTModel(ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2,
                                 num_attention_heads=4, intermediate_size=64))
    decoder = GPT2LMHeadModel(GPT2Config(vocab_size=120, n_positions=64, n_embd=48, n_layer=2, n_head=4,
                                         add_cross_attention=True, is_decoder=True, bos_token_id=1, eos_token_id=2,
                                         pad_token_id=0))
    model = VisionEncoderDecoderModel(encoder=encoder, decoder=decoder).eval()
    with torch.no_grad():  # larger weights than the default init, so that outputs vary with the image and tokens
        for parameter in model.parameters():
            parameter.add_(0.6 * torch.randn_like(parameter))
    model.config.decoder_start_token_id = 1
    model.config.pad_token_id = 0
    model.generation_config.decoder_start_token_id = 1
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    model.save_pretrained(out, safe_serialization=True)
    pixels = torch.randn(2, 3, 32, 32)
    ids = torch.randint(3, 120, (2, 9))
    ids[:, 0] = 1
    with torch.no_grad():
        logits = model(pixel_values=pixels, decoder_input_ids=ids).logits
        greedy = model.generate(pixel_values=pixels, max_new_tokens=20, do_sample=False, num_beams=1)
        beam = model.generate(pixel_values=pixels, max_new_tokens=20, do_sample=False, num_beams=3,
                              length_penalty=1.0)
    save_file({"pixel_values": pixels, "input_ids": ids.to(torch.int32), "logits": logits,
               "greedy_ids": greedy.to(torch.int32), "beam_ids": beam.to(torch.int32)}, out / "expected.safetensors")


if __name__ == "__main__":
    write_gated()
    write_ved()
