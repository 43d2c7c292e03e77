#!/usr/bin/env bash
# Creates .venv-data, the Python environment of the fixture and benchmark scripts (never used at
# run time): transformers + torch for model and generation parity, Pillow for image-processor
# parity, sacrebleu and pycocoevalcap for the metrics, sentencepiece and tokenizers for tokenizer
# checks. Idempotent. Prints the venv's python path.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-data
[[ -x $venv/bin/python ]] || python3 -m venv "$venv"
"$venv/bin/python" -c "import transformers, torch, tokenizers, PIL, numpy, sacrebleu, pycocoevalcap, sentencepiece, safetensors" \
  2>/dev/null ||
  "$venv/bin/pip" install -q transformers torch tokenizers pillow numpy sacrebleu pycocoevalcap sentencepiece safetensors
echo "$PWD/$venv/bin/python"
