#!/usr/bin/env bash
# Gathers the header-only Debian dependencies (Eigen, nlohmann-json, CLI11, Catch2 v2) with their
# CMake package files into .gpu-deps/usr, so a machine with only CUDA, CMake and ninja (the GPU
# machine) can build the runtime, kernels, tests, benchmarks and CLI. Carry .gpu-deps there and
# run scripts/gpu_check.sh. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
out=.gpu-deps/usr
rm -rf .gpu-deps
mkdir -p "$out/include" "$out/share/cmake" "$out/share/eigen3" "$out/lib/cmake"
cp -r /usr/include/eigen3 /usr/include/nlohmann /usr/include/CLI /usr/include/catch2 "$out/include/"
cp -r /usr/share/eigen3/cmake "$out/share/eigen3/"
cp -r /usr/share/cmake/nlohmann_json /usr/share/cmake/CLI11 "$out/share/cmake/"
cp -r /usr/lib/cmake/Catch2 "$out/lib/cmake/"
cp /usr/lib/libCatch2WithMain.a "$out/lib/"
du -sh .gpu-deps
