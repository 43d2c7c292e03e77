"""Writes the vision-tower fixtures under tests/data/vision/ with torch + transformers (never used at run time).

Tiny random ViTModel (with pooler), CLIPVisionModel, SiglipVisionModel (with its attention-pooling head),
a full CLIPModel and a full SiglipModel (text tower beside the vision one, names under "vision_model.")
and a ViTForImageClassification (names under "vit.", no pooler, a classifier beside), each saved with
save_pretrained (safetensors). Weights get extra noise so that outputs vary. expected.safetensors holds
pixel_values (2, 3, 32, 32) and the vision tower's last_hidden_state and, where it has one, pooler_output
in f32.

Usage: $(scripts/make_venv.sh) scripts/make_vision_fixture.py
"""
import pathlib

import torch
from safetensors.torch import save_file
from transformers import (CLIPConfig, CLIPModel, CLIPVisionConfig, CLIPVisionModel, SiglipConfig, SiglipModel,
                          SiglipVisionConfig, SiglipVisionModel, ViTConfig, ViTForImageClassification, ViTModel)

DATA = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "vision"
SIZES = dict(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=64)


def noisy(model):
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    return model.eval()


def write(name, model, forward):
    out = DATA / name
    model.save_pretrained(out, safe_serialization=True)
    pixels = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        result = forward(model, pixels)
    expected = {"pixel_values": pixels, "last_hidden_state": result.last_hidden_state.contiguous()}
    if result.pooler_output is not None:
        expected["pooler_output"] = result.pooler_output.contiguous()
    save_file(expected, out / "expected.safetensors")


def main():
    torch.manual_seed(0)
    write("vit", noisy(ViTModel(ViTConfig(**SIZES, qkv_bias=True))), lambda m, p: m(pixel_values=p))
    write("clip", noisy(CLIPVisionModel(CLIPVisionConfig(**SIZES, hidden_act="quick_gelu"))),
          lambda m, p: m(pixel_values=p))
    write("siglip", noisy(SiglipVisionModel(SiglipVisionConfig(**SIZES))), lambda m, p: m(pixel_values=p))
    full = CLIPConfig(text_config=dict(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                       num_attention_heads=2, max_position_embeddings=16, bos_token_id=0,
                                       eos_token_id=1, pad_token_id=1),
                      vision_config=dict(**SIZES), projection_dim=8)
    write("clip_full", noisy(CLIPModel(full)), lambda m, p: m.vision_model(pixel_values=p))
    write("vit_classifier", noisy(ViTForImageClassification(ViTConfig(**SIZES, num_labels=3))),
          lambda m, p: m.vit(pixel_values=p))
    siglip = SiglipConfig(text_config=dict(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                           num_attention_heads=2, max_position_embeddings=16, bos_token_id=0,
                                           eos_token_id=1, pad_token_id=1),
                          vision_config=dict(**SIZES))
    write("siglip_full", noisy(SiglipModel(siglip)), lambda m, p: m.vision_model(pixel_values=p))


if __name__ == "__main__":
    main()
