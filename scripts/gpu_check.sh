#!/usr/bin/env bash
# On the GPU machine (CUDA, CMake, ninja; no Debian dev packages, no network): builds Hanvit with
# the CUDA backend against the headers scripts/gpu_bundle.sh gathered into .gpu-deps, then runs
# the requested stages. Logs go to $OUT (or build/gpu-logs) when set.
# Usage: scripts/gpu_check.sh [build] [test] [sanitize] [bench] [bench-quick]
set -uo pipefail
cd "$(dirname "$0")/.."
logs=${OUT:-build/gpu-logs}
mkdir -p "$logs"
build=build/gpu
stages=("$@")
[[ ${#stages[@]} -eq 0 ]] && stages=(build test)
status=0

run_stage() {  # name command...: runs, logs, remembers failure
  local name=$1
  shift
  echo "=== $name: $*"
  if ! "$@" 2>&1 | tee "$logs/$name.log"; then
    echo "=== $name FAILED"
    status=1
  fi
}

for stage in "${stages[@]}"; do
  case $stage in
    build)
      nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv || true
      nvcc --version | tail -2
      cmake --version | head -1
      run_stage configure cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHANVIT_CUDA=ON \
        -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_PREFIX_PATH="$PWD/.gpu-deps/usr" -DHANVIT_NATIVE=ON
      run_stage compile cmake --build "$build" -j "$(nproc)"
      ;;
    test)
      "$build/bin/hanvit" info || status=1
      run_stage ctest ctest --test-dir "$build" -j 4 --output-on-failure --timeout 600
      ;;
    sanitize)
      # memcheck and racecheck over the cross-backend op cases and the CUDA backend tests (less the
      # allocator case, whose deliberate out-of-memory request memcheck reports as an API error).
      tests=$build/tests/hanvit_tests
      run_stage memcheck compute-sanitizer --tool memcheck --error-exitcode 1 "$tests" \
        "ops/*,cuda/*,~cuda/allocator caches freed blocks and tracks the peak"
      run_stage racecheck compute-sanitizer --tool racecheck --error-exitcode 1 "$tests" "ops/*"
      ;;
    bench)
      for b in "$build"/bin/bench_cuda_*; do run_stage "$(basename "$b")" "$b"; done
      ;;
    bench-quick)
      for b in "$build"/bin/bench_cuda_*; do run_stage "$(basename "$b")" "$b" --quick; done
      ;;
    *)
      echo "unknown stage $stage (build, test, sanitize, bench, bench-quick)" >&2
      exit 2
      ;;
  esac
done
exit $status
