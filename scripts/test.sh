#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds release and asan-ubsan, runs CTest on both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
for preset in release asan-ubsan; do
  echo "== $preset: build"
  scripts/build.sh "$preset"
  echo "== $preset: test"
  ctest --preset "$preset"
done
