#!/usr/bin/env bash
# The main job: installs what is missing, builds the hanvit tool and runs `hanvit demo` (synthetic Korean data,
# tokenizer, a small captioner trained on the CPU, test metrics, gallery) into hanvit-demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh release hanvit
build/release/bin/hanvit demo --out hanvit-demo "$@"
