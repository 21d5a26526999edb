#!/usr/bin/env bash
# Installs everything whistle needs to build and test, from Debian 12's own packages.
# Safe to run again: apt-get skips what is already there. Run as root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libprotobuf-dev protobuf-compiler
  librocksdb-dev libjemalloc-dev
  libzmq3-dev cppzmq-dev libsodium-dev
  libfmt-dev
  doctest-dev
  libcpp-httplib-dev nlohmann-json3-dev
  clang-14 libclang-rt-14-dev llvm   # the sanitizer and fuzzing build (libFuzzer, llvm-symbolizer)
  chromium nodejs fonts-wqy-microhei  # the console's browser test (tests/console/; playwright-core is vendored)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi
