#!/usr/bin/env bash
# The main job: installs what is missing, builds release, shows `hanvit info` and runs the CPU GEMM benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh --bench
scripts/build.sh release
build/release/bin/hanvit info
build/release/bin/bench_gemm --quick
build/release/bin/bench_block --reps 3
