#!/usr/bin/env bash
# Overload at 2x and 10x capacity, a minute each, against one dispatcher (issue 5, "Overload";
# figures in docs/BENCHMARKS.md). The correctness half (every request answered, BUSY only for
# submits, nothing acknowledged lost across kill -9) is a test: tests/integration/bench_test.cc.
#
#   bash tools/overload.sh [BUILD_DIR] [SECONDS] [DRAIN_S] [DISPATCHER_CPUS]
#   (defaults: build, 60, 10, no limit)
#
# DRAIN_S: how long each overload phase's bench waits, once its load has ended, for the answers
# still due (whistle-bench --drain-s) before it counts the rest unanswered.
# DISPATCHER_CPUS (e.g. 0.2): the dispatcher runs in a cgroup of its own with that CPU quota, every
# 10 ms (root, and a cgroup v2 or v1 cpu controller). On one machine the bench cannot offer 10x the
# capacity of a dispatcher that has the same cores (docs/BENCHMARKS.md, "Overload"); with the
# dispatcher's capacity cut to a fraction, the bench offers 10x of that with cores to spare.
#
# DISPATCHER_FLAGS in the environment: more flags for the dispatcher, split on spaces (e.g.
# DISPATCHER_FLAGS=--idle-background-threads=false).
#
# Starts a whistle-dispatcher (--dev-no-auth, the sample city, a fresh store under $TMPDIR), samples
# its resident memory every 0.2 s, and drives it with whistle-bench --front, the lifecycle mix in
# open loop: first closed loop for 10 s to find the capacity C, then C/4 (normal), 2C, C/4, 10C,
# C/4. Each phase prints the bench's report and the dispatcher's peak RSS during it.
set -euo pipefail
build=${1:-build}
seconds=${2:-60}
drain=${3:-10}
cpus=${4:-}
bench=$build/tools/whistle-bench
dir=$(mktemp -d "${TMPDIR:-/tmp}/whistle-overload.XXXXXX")
pid='' sampler='' cgroup=''
cleanup() {  # the dispatcher and the sampler, whichever started, its cgroup, the scratch directory
  for p in $pid $sampler; do { kill -9 "$p" && wait "$p"; } 2>/dev/null || true; done
  if [ -n "$cgroup" ]; then  # empty once its process is gone, which the kernel may see late
    for _ in 1 2 3 4 5; do rmdir "$cgroup" 2>/dev/null && break; sleep 0.2; done
    [ ! -d "$cgroup" ] || echo "overload: could not remove $cgroup" >&2
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

limit_cpu() {  # pid: into a new cgroup with $cpus of CPU every 10 ms
  local quota_us
  [[ "$cpus" =~ ^[0-9]*\.?[0-9]+$ ]] || { echo "overload: DISPATCHER_CPUS '$cpus' is not a number" >&2; exit 2; }
  quota_us=$(python3 -c "print(int(float('$cpus') * 10000))")
  [ "$quota_us" -ge 1000 ] || { echo "overload: DISPATCHER_CPUS must be at least 0.1" >&2; exit 2; }
  if grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null; then  # v2, cpu delegated
    cgroup=/sys/fs/cgroup/whistle-overload-$$
    mkdir "$cgroup"
    echo "$quota_us 10000" >"$cgroup/cpu.max"
  elif [ -w /sys/fs/cgroup/cpu ]; then  # v1
    cgroup=/sys/fs/cgroup/cpu/whistle-overload-$$
    mkdir "$cgroup"
    echo 10000 >"$cgroup/cpu.cfs_period_us"
    echo "$quota_us" >"$cgroup/cpu.cfs_quota_us"
  else
    echo "overload: no writable cgroup cpu controller (v2 with cpu in cgroup.subtree_control, or v1)" >&2
    exit 1
  fi
  echo "$1" >"$cgroup/cgroup.procs"  # the whole process: its threads, RocksDB's and ZeroMQ's too
  echo "== the dispatcher is limited to $((quota_us / 100))% of a CPU ($quota_us us every 10 ms, $cgroup)"
}

"$build/dispatcher/whistle-dispatcher" --dev-no-auth --data="$dir/store" --front='tcp://127.0.0.1:*' \
  --bus='tcp://127.0.0.1:*' --endpoints-file="$dir/endpoints" ${DISPATCHER_FLAGS:-} >"$dir/dispatcher.log" 2>&1 &
pid=$!
[ -z "$cpus" ] || limit_cpu $pid
for _ in $(seq 100); do
  grep -q '^bus=' "$dir/endpoints" 2>/dev/null || ! kill -0 $pid 2>/dev/null && break
  sleep 0.1
done
front=$(sed -n 's/^front=//p' "$dir/endpoints" 2>/dev/null || true)
[ -n "$front" ] || { cat "$dir/dispatcher.log"; echo "overload: the dispatcher did not start" >&2; exit 1; }

# The sampler keeps the highest VmRSS (kB) seen since the last reset of $dir/peak.
echo 0 >"$dir/peak"
( while kill -0 $pid 2>/dev/null; do
    rss=$(awk '/^VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0)
    peak=$(cat "$dir/peak")
    [ "${rss:-0}" -gt "$peak" ] && echo "$rss" >"$dir/peak"
    sleep 0.2
  done ) &
sampler=$!

phase() {  # title, bench flags...
  local title=$1; shift
  echo 0 >"$dir/peak"
  echo "== $title: whistle-bench --front --mix=lifecycle $*"
  "$bench" --front="$front" --mix=lifecycle "$@" || echo "(whistle-bench exit $?: unanswered requests)"
  echo "   dispatcher peak RSS during the phase: $(( $(cat "$dir/peak") / 1024 )) MiB"
}

capacity=$("$bench" --front="$front" --mix=lifecycle --clients=8 --window=32 --duration-s=10 --warmup-s=2 --json |
           python3 -c 'import json,sys; print(int(json.load(sys.stdin)["throughput"]))')
echo "== capacity (closed loop, 8 clients x 32 flows): $capacity commands/s"
normal=$((capacity / 4))
phase "normal" --clients=4 --rate=$normal --duration-s=10 --warmup-s=0
phase "2x capacity" --clients=8 --rate=$((capacity * 2)) --duration-s="$seconds" --warmup-s=0 --drain-s="$drain"
phase "back to normal" --clients=4 --rate=$normal --duration-s=10 --warmup-s=0
phase "10x capacity" --clients=8 --rate=$((capacity * 10)) --duration-s="$seconds" --warmup-s=0 --drain-s="$drain"
phase "back to normal" --clients=4 --rate=$normal --duration-s=10 --warmup-s=0
echo "== dispatcher metrics"
"$build/tools/whistlectl" --front="$front" metrics
