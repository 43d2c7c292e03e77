#!/usr/bin/env python3
"""Writes the image-pipeline parity fixture: tests/data/image/*.{png,jpg,webp,bmp} and expected.safetensors.

Run with the venv of scripts/make_venv.sh:  $(scripts/make_venv.sh) scripts/make_image_fixture.py

Each image is loaded the way Hugging Face pipelines load it (transformers.image_utils.load_image:
EXIF transpose, then PIL convert("RGB"), which drops alpha and clips 16-bit gray) and run through
the slow PIL-backed CLIP / SigLIP / ViT image processors. Stored per image NAME:
  NAME/rgb             u8 (H, W, 3)    the decoded RGB image
  NAME/PROC/pixels     u8 (3, 224, 224) the processor's resized (and cropped) image before rescaling
  NAME/PROC/window     f32 (3, 32, 32)  pixel_values[:, 96:128, 96:128], to pin the normalisation bits
and exif6_320x240/rgb_raw, the JPEG's pixels without the EXIF transpose (what PIL.Image.open gives).
The processor's pixel_values are checked here to be exactly normalise(pixels), so the u8 form is lossless.
"""
import struct
import zlib
from pathlib import Path

import numpy as np
import PIL
import transformers
from PIL import Image, ImageDraw
from safetensors.numpy import save_file
from transformers.image_utils import load_image
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil
from transformers.models.vit.image_processing_pil_vit import ViTImageProcessorPil

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "image"
RNG = np.random.default_rng(20261124)


def scene(width, height):
    """Gradients, shapes and a patch of noise: content where resampling errors would show."""
    x = np.linspace(0, 1, width)[None, :]
    y = np.linspace(0, 1, height)[:, None]
    rgb = np.stack([255 * x * np.ones_like(y), 255 * y * np.ones_like(x), 255 * (0.5 + 0.5 * np.sin(9 * x + 5 * y))], -1)
    image = Image.fromarray(rgb.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.rectangle([width // 10, height // 10, width // 3, height // 3], fill=(230, 20, 20))  # top-left marker
    draw.ellipse([width // 2, height // 2, width * 9 // 10, height * 9 // 10], fill=(20, 40, 200), outline=(0, 0, 0), width=3)
    draw.line([0, height - 1, width - 1, 0], fill=(255, 255, 255), width=2)
    noise = RNG.integers(0, 256, size=(height // 6, width // 6, 3), dtype=np.uint8)
    image.paste(Image.fromarray(noise), (width * 2 // 3, height // 12))
    return image


def write_png_rgb16(path, rgb16):
    """PIL cannot write 48-bit PNGs, so this one is assembled by hand (8-bit depth 16, colour type 2)."""
    height, width, _ = rgb16.shape
    rows = b"".join(b"\x00" + rgb16[r].astype(">u2").tobytes() for r in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def write_images():
    OUT.mkdir(parents=True, exist_ok=True)
    files = {}
    scene(300, 199).save(OUT / "rgb_300x199.png", optimize=True)
    files["rgb_300x199"] = "rgb_300x199.png"
    scene(120, 333).save(OUT / "tall_120x333.png", optimize=True)
    files["tall_120x333"] = "tall_120x333.png"
    scene(257, 181).convert("L").save(OUT / "gray_257x181.png", optimize=True)
    files["gray_257x181"] = "gray_257x181.png"
    rgba = scene(211, 173).convert("RGBA")
    alpha = np.tile(np.linspace(0, 255, 211).astype(np.uint8)[None, :], (173, 1))
    rgba.putalpha(Image.fromarray(alpha))
    rgba.save(OUT / "rgba_211x173.png", optimize=True)
    files["rgba_211x173"] = "rgba_211x173.png"
    gray16 = np.array(scene(190, 150).convert("L"), dtype=np.uint16) * 2  # values up to 510: PIL clips to 255
    Image.fromarray(gray16).save(OUT / "gray16_190x150.png")
    files["gray16_190x150"] = "gray16_190x150.png"
    low = (np.arange(120)[None, :, None] * 37 + np.arange(100)[:, None, None] * 11 + np.arange(3) * 101) % 256
    rgb16 = np.array(scene(120, 100), dtype=np.uint16) * 256 + low.astype(np.uint16)  # PIL keeps the high byte
    write_png_rgb16(OUT / "rgb16_120x100.png", rgb16)
    files["rgb16_120x100"] = "rgb16_120x100.png"
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    scene(320, 240).save(OUT / "exif6_320x240.jpg", quality=85, exif=exif.tobytes())
    files["exif6_320x240"] = "exif6_320x240.jpg"
    scene(250, 190).save(OUT / "lossy_250x190.webp", quality=80)
    files["lossy_250x190"] = "lossy_250x190.webp"
    scene(121, 81).save(OUT / "bgr_121x81.bmp")
    files["bgr_121x81"] = "bgr_121x81.bmp"
    return files


def normalised(pixels, processor):
    """What the PIL backend does after resize/crop: float64 * 1/255 -> float32, then (x - mean) / std in float32."""
    scaled = (pixels.astype(np.float64) * processor.rescale_factor).astype(np.float32)
    mean = np.array(processor.image_mean, dtype=np.float32)[:, None, None]
    std = np.array(processor.image_std, dtype=np.float32)[:, None, None]
    return (scaled - mean) / std


def main():
    files = write_images()
    processors = {"clip": CLIPImageProcessorPil(), "siglip": SiglipImageProcessorPil(), "vit": ViTImageProcessorPil()}
    tensors = {}
    for name, file_name in files.items():
        image = load_image(str(OUT / file_name))
        tensors[f"{name}/rgb"] = np.array(image)
        for proc_name, processor in processors.items():
            # The pixels before rescaling: the same pipeline with rescale and normalise off.
            pixels = processor(images=image, do_rescale=False, do_normalize=False, return_tensors="np")["pixel_values"][0]
            values = processor(images=image, return_tensors="np")["pixel_values"][0]
            assert pixels.shape == (3, 224, 224) and values.dtype == np.float32, (name, proc_name, pixels.shape)
            assert np.array_equal(pixels, np.round(pixels)) and pixels.min() >= 0 and pixels.max() <= 255
            pixels = pixels.astype(np.uint8)
            assert np.array_equal(normalised(pixels, processor), values), (name, proc_name)
            tensors[f"{name}/{proc_name}/pixels"] = pixels
            tensors[f"{name}/{proc_name}/window"] = np.ascontiguousarray(values[:, 96:128, 96:128])
    tensors["exif6_320x240/rgb_raw"] = np.array(Image.open(OUT / files["exif6_320x240"]).convert("RGB"))
    metadata = {"transformers": transformers.__version__, "pillow": PIL.__version__, "processors": "PIL backend (slow path)"}
    save_file(tensors, str(OUT / "expected.safetensors"), metadata=metadata)
    for path in sorted(OUT.iterdir()):
        print(f"{path.name}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
