#!/bin/bash
# What a List page that reads much and finds little costs the dispatcher, and everyone else
# (docs/BENCHMARKS.md, "A List's budget"). On a copy of a store made by whistle-sim (STORE, its
# city CITY), for each worst-case page (a level's, the whole city's and one department's closed
# events, filtered to a state none of them is in):
#   - the dispatcher's batch time over 50 such pages, one at a time, nothing else running;
# then the lifecycle mix at 2,000 commands/s for 20 s, alone and with one worst-case page always
# in flight (whistlectl in a loop, each call a process of its own).
#   tools/list_budget.sh STORE CITY [BUILD=build] [DISPATCHER=BUILD/dispatcher/whistle-dispatcher]
# The store is copied for each dispatcher start; the copy is deleted at the end.
set -euo pipefail
STORE=$(realpath "$1")
CITY=$(realpath "$2")
B=$(realpath "${3:-build}")
DISPATCHER=$(realpath "${4:-$B/dispatcher/whistle-dispatcher}")
source "$(dirname "$0")/bench_lib.sh"
bench_dir list-budget

start() {  # a dispatcher on a fresh copy of the store; sets FRONT and CTL
  rm -rf "$D/data" && cp -r "$STORE" "$D/data" && sync  # the copy's writeback not in the run
  # --time-scale keeps the engine's time by the store's newest record (no deadline falls due).
  start_dispatcher "$DISPATCHER" --dev-no-auth --data="$D/data" --config="$CITY" --time-scale=0.001
  CTL=("$B/tools/whistlectl" "--front=$FRONT")
}
stop() { kill "$DISPATCHER_PID"; wait "$DISPATCHER_PID" || true; }

PAGES=("--level=county --state=cancelled" "--city --state=cancelled"
       "--department=city-water --state=cancelled")
for page in "${PAGES[@]}"; do
  start
  # shellcheck disable=SC2086
  for _ in $(seq 50); do "${CTL[@]}" list $page --page-size=10 > /dev/null; done
  echo "list $page: $("${CTL[@]}" metrics | grep -E '^batch time' | tr -s ' ')"
  stop
done

lifecycle() {
  "$B/tools/whistle-bench" --front="$FRONT" --config="$CITY" --mix=lifecycle --clients=4 --rate=2000 \
    --duration-s=20 --warmup-s=2 | grep -E '^all|answer time' | tr -s ' '
}
start
echo "lifecycle at 2,000/s, alone:"
lifecycle
touch "$D/go"
(n=0; while [ -e "$D/go" ]; do "${CTL[@]}" list ${PAGES[0]} --page-size=10 > /dev/null; n=$((n + 1)); done
 echo "$n" > "$D/pages") &
echo "lifecycle at 2,000/s, one worst-case page always in flight:"
lifecycle
rm "$D/go" && wait %%
echo "worst-case pages answered meanwhile: $(cat "$D/pages")"
stop
