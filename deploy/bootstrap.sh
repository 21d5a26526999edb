#!/usr/bin/env bash
# The project's two set-up commands (README.md), for a fresh Debian 12 machine, run as root:
#
#   bash deploy/bootstrap.sh run [whistle-city flags]  install, build, run the main job
#   bash deploy/bootstrap.sh test                      install, build, run the whole test suite
#
# `test` builds three times: GCC optimised with warnings as errors (every test); Clang with
# AddressSanitizer and UndefinedBehaviorSanitizer (every test again, plus the fuzz targets'
# corpora and a brief fuzz of each); ThreadSanitizer (the multi-threaded parts' tests).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: bash deploy/bootstrap.sh run [whistle-city flags] | test" >&2; exit 2; }
[ $# -ge 1 ] || usage
what=$1; shift

bash deploy/install-deps.sh

jobs=${WHISTLE_JOBS:-2}
# Tests run twice as many at once as there are build jobs: most of them wait on processes,
# sockets and fsyncs (the GCC suite kept 2 cores 47% busy at ctest -j2; at -j4 it took 72 s
# instead of 113 s, the sanitizer suite 212 s instead of 249 s).
test_jobs=${WHISTLE_TEST_JOBS:-$((jobs * 2))}
configure_and_build() {  # dir, cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

# The sanitizer runtimes of this toolchain (clang 14's ASan, GCC 12's TSan) place their shadow
# memory at fixed addresses, which a kernel that randomises mmap with more than 28 bits (the
# default of some newer kernels) may already have handed out: TSan then stops at once ("unexpected
# memory mapping") and ASan crashes now and then (both seen here at 32 bits). Such a kernel is
# turned down to 28 bits until the next boot. It is not set back when the run ends: another test
# run on the same machine may still need it.
limit_mmap_randomisation() {
  local knob=/proc/sys/vm/mmap_rnd_bits
  [ -r "$knob" ] || return 0
  local bits
  bits=$(cat "$knob")
  [ "$bits" -le 28 ] && return 0
  if ! { echo 28 > "$knob"; } 2>/dev/null; then
    echo "bootstrap: vm.mmap_rnd_bits is $bits and cannot be lowered here (not root, or a" \
      "container): the sanitizer runs would crash. On the host: sysctl -w vm.mmap_rnd_bits=28" >&2
    exit 1
  fi
  echo "bootstrap: vm.mmap_rnd_bits lowered from $bits to 28 for the sanitizers, until the next" \
    "boot (echo $bits > $knob sets it back)" >&2
}

case "$what" in
  run)
    configure_and_build build/release -DCMAKE_BUILD_TYPE=Release
    exec ./build/release/tools/whistle-city "$@"
    ;;
  test)
    [ $# -eq 0 ] || usage
    limit_mmap_randomisation
    # -g1: line tables and function names, enough for backtraces and sanitizer reports, and
    # compiles about a quarter faster than full debug information.
    # 1. GCC, optimised, warnings as errors: every test.
    configure_and_build build/ci -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWHISTLE_WERROR=ON \
      "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
    ctest --test-dir build/ci -j "$test_jobs" --output-on-failure
    # 2. Clang with AddressSanitizer and UndefinedBehaviorSanitizer: every test again, and the
    #    libFuzzer targets (tests/fuzz): each replays its seeds and regressions, then fuzzes for
    #    10 s (long runs are by hand: tests/fuzz/README.md).
    configure_and_build build/asan -DCMAKE_BUILD_TYPE=Debug -DWHISTLE_WERROR=ON \
      -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
      -DWHISTLE_SANITIZE=ON -DWHISTLE_FUZZ=ON -DWHISTLE_FUZZ_SECONDS=10 "-DCMAKE_CXX_FLAGS_DEBUG=-O0 -g1"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --test-dir build/asan -j "$test_jobs" --output-on-failure
    # 3. ThreadSanitizer on the multi-threaded parts: the store's batch writer, the dispatcher's
    #    writer and ZAP handler threads (in the dispatchers the gateway tests start), the
    #    gateway's HTTP threads, client pool, follower and callback senders. At -O0: it compiles
    #    a third faster and these tests are not CPU-bound.
    cmake -S . -B build/tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWHISTLE_WERROR=ON \
      -DWHISTLE_TSAN=ON "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O0 -g1" >/dev/null
    cmake --build build/tsan -j "$jobs" --target storage_tests hotline_tests gateway_http_tests
    # Reports go to files, so that a race in a child process (a dispatcher or gateway the tests
    # started) fails the run even when the test itself passed.
    tsan_logs=build/tsan/reports
    rm -rf "$tsan_logs" && mkdir -p "$tsan_logs"
    TSAN_OPTIONS="halt_on_error=1 log_path=$PWD/$tsan_logs/report suppressions=$PWD/tests/tsan.supp" \
      ctest --test-dir build/tsan -j "$test_jobs" --output-on-failure -R "^(storage: ?batch writer|gateway(/hotline)?):"
    if compgen -G "$tsan_logs/report.*" >/dev/null; then
      cat "$tsan_logs"/report.*
      echo "ThreadSanitizer reported the races above" >&2
      exit 1
    fi
    ;;
  *) usage ;;
esac
