#!/usr/bin/env bash
# The project's two set-up commands (README.md), for a fresh Debian 12 machine, run as root:
#
#   bash deploy/bootstrap.sh run [whistle-city flags]  install, build, run the main job
#   bash deploy/bootstrap.sh test                      install, build, run the whole test suite
#
# `test` builds twice: an optimised build with warnings as errors, and a debug build with
# AddressSanitizer and UndefinedBehaviorSanitizer, and runs every test in both.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: bash deploy/bootstrap.sh run [whistle-city flags] | test" >&2; exit 2; }
[ $# -ge 1 ] || usage
what=$1; shift

bash deploy/install-deps.sh

jobs=${WHISTLE_JOBS:-2}
configure_and_build() {  # dir, cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

case "$what" in
  run)
    configure_and_build build/release -DCMAKE_BUILD_TYPE=Release
    exec ./build/release/tools/whistle-city "$@"
    ;;
  test)
    [ $# -eq 0 ] || usage
    # -g1: line tables and function names, enough for backtraces and sanitizer reports, and
    # compiles about a quarter faster than full debug information.
    configure_and_build build/ci -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWHISTLE_WERROR=ON \
      "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
    ctest --test-dir build/ci -j "$jobs" --output-on-failure
    configure_and_build build/asan -DCMAKE_BUILD_TYPE=Debug -DWHISTLE_SANITIZE=ON -DWHISTLE_WERROR=ON \
      "-DCMAKE_CXX_FLAGS_DEBUG=-g1"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --test-dir build/asan -j "$jobs" --output-on-failure
    ;;
  *) usage ;;
esac
