#!/usr/bin/env bash
# Installs the Debian packages Hanvit builds and tests with; fast when they are already there.
# Usage: scripts/install_deps.sh [--bench]   (--bench adds the benchmarks' references)
set -euo pipefail

packages=(build-essential cmake ninja-build pkg-config libeigen3-dev catch2 libfmt-dev
          nlohmann-json3-dev libcli11-dev libopencv-dev libopencv-contrib-dev libjpeg-dev
          libsentencepiece-dev fonts-nanum libopenmpi-dev openmpi-bin libyaml-cpp-dev)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(libopenblas-dev libdnnl-dev python3-torch)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
