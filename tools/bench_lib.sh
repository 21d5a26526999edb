#!/bin/bash
# Shared by the measuring scripts in tools/ (list_budget.sh, console_board.sh, regional_board.sh,
# idle_followers.sh): sourced, never run.

# bench_dir NAME: a fresh temporary directory in $D (mktemp's template: /tmp/whistle-NAME- and six
# random characters), removed at exit, when every job still running in the background is killed.
bench_dir() {
  D=$(mktemp -d "/tmp/whistle-$1-XXXXXX")
  trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; rm -rf "$D"' EXIT
}

# wait_for_line FILE KEY WHAT LOG: returns once FILE has a line KEY=...; after 60 s says that WHAT
# did not start, prints LOG and exits.
wait_for_line() {
  for _ in $(seq 600); do grep -q "^$2=" "$1" 2>/dev/null && return; sleep 0.1; done
  echo "$(basename "$0"): $3 did not start within 60 s:" >&2
  cat "$4" >&2
  exit 1
}

# start_dispatcher BINARY FLAGS...: BINARY with FLAGS, on ports of its own on loopback, in the
# background (its output in $D/dispatcher.log); once it listens, sets DISPATCHER_PID, FRONT and BUS.
start_dispatcher() {
  local binary=$1
  shift
  rm -f "$D/ep"
  "$binary" "$@" --front='tcp://127.0.0.1:*' --bus='tcp://127.0.0.1:*' --endpoints-file="$D/ep" \
    > "$D/dispatcher.log" 2>&1 &
  DISPATCHER_PID=$!
  wait_for_line "$D/ep" bus "the dispatcher" "$D/dispatcher.log"
  FRONT=$(sed -n 's/^front=//p' "$D/ep")
  BUS=$(sed -n 's/^bus=//p' "$D/ep")
}
