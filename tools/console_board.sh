#!/bin/bash
# What the operations console's board costs the dispatcher while records flow (docs/BENCHMARKS.md,
# "The console's board, by what changed"). On a copy of a store made by whistle-sim (STORE, its
# city CITY): a dispatcher (--dev-no-auth), a gateway with the console on and one console page
# open (once the gateway has read the store's log), and the lifecycle mix at 2,000 commands/s for
# 20 s; then the same without the gateway.
# Prints the bench's latency, the dispatcher's answer time, and the CPU time the dispatcher and
# the gateway (each process, all its threads) took during the run.
#   tools/console_board.sh STORE CITY [BUILD=build] [DISPATCHER] [GATEWAY]
set -euo pipefail
STORE=$(realpath "$1")
CITY=$(realpath "$2")
B=$(realpath "${3:-build}")
DISPATCHER=$(realpath "${4:-$B/dispatcher/whistle-dispatcher}")
GATEWAY=$(realpath "${5:-$B/agents/gateway/whistle-gateway}")
source "$(dirname "$0")/bench_lib.sh"
bench_dir console-board
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # user + system, in 10 ms ticks

run() {  # WITH_GATEWAY
  rm -rf "$D/data" "$D/gw" "$D/gw-ep" && cp -r "$STORE" "$D/data" && sync
  # --time-scale keeps the engine's time by the store's newest record (no deadline falls due).
  start_dispatcher "$DISPATCHER" --dev-no-auth --data="$D/data" --config="$CITY" --time-scale=0.001
  local dispatcher=$DISPATCHER_PID front=$FRONT
  local gateway=""
  if [ "$1" = yes ]; then
    "$GATEWAY" --gateway-config="$(dirname "$0")/../deploy/whistle-gateway.textproto" \
      --dispatcher-endpoints="$D/ep" --data="$D/gw" --config="$CITY" --port=0 --key= --console-key=none \
      --endpoints-file="$D/gw-ep" > "$D/gateway.log" 2>&1 &
    gateway=$!
    wait_for_line "$D/gw-ep" http "the gateway" "$D/gateway.log"
    local url ticket
    url=$(sed -n "s/^http=//p" "$D/gw-ep")
    # A supervisor to log in as (any key: a --dev-no-auth dispatcher's tickets are all it takes).
    "$B/tools/whistlectl" --front="$front" principal-create --name=console-board-ops --role=supervisor \
      --public-key='rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7' --request-id=console-board-ops > /dev/null
    ticket=$("$B/tools/whistlectl" --front="$front" --json console-ticket --name=console-board-ops |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["ticket"]["ticket"])')
    curl -sf -c "$D/cookies" -o /dev/null -H 'Content-Type: application/json' \
      -d "{\"ticket\":\"$ticket\"}" "$url/console/api/login"
    curl -s -N -b "$D/cookies" -o "$D/page" "$url/console/api/stream" &  # one page, open throughout
    # A new gateway reads the dispatcher's whole log first, for the hotline's orders: not part of
    # the run.
    local through fed=0
    through=$("$B/tools/whistlectl" --front="$front" metrics | sed -n 's/.*through seq \([0-9][0-9]*\).*/\1/p')
    if [ -z "$through" ]; then
      echo "console_board: no 'through seq' in whistlectl metrics" >&2
      exit 1
    fi
    for _ in $(seq 600); do
      fed=$({ curl -sf "$url/metrics" || true; } | sed -n 's/^whistle_gateway_feed_seq \([0-9][0-9]*\)$/\1/p')
      [ "${fed:-0}" -ge "$through" ] && break
      sleep 1
    done
    if [ "${fed:-0}" -lt "$through" ]; then
      echo "console_board: the gateway read the log to ${fed:-0} of $through in 600 s" >&2
      exit 1
    fi
    sleep 2
    if ! grep -q '^event: board' "$D/page"; then
      echo "console_board: the console page got no board" >&2
      exit 1
    fi
  fi
  local engine0 gateway0=0
  engine0=$(cpu_ticks "$dispatcher")
  [ -n "$gateway" ] && gateway0=$(cpu_ticks "$gateway")
  "$B/tools/whistle-bench" --front="$front" --config="$CITY" --mix=lifecycle --clients=4 --rate=2000 \
    --duration-s=20 --warmup-s=2 | grep -E '^all|answer time' | tr -s ' '
  local engine1 gateway1=0
  engine1=$(cpu_ticks "$dispatcher")
  [ -n "$gateway" ] && gateway1=$(cpu_ticks "$gateway")
  echo "dispatcher CPU in the run: $(( (engine1 - engine0) * 10 )) ms; gateway: $(( (gateway1 - gateway0) * 10 )) ms"
  { "$B/tools/whistlectl" --front="$front" metrics | grep -E '^  (log|board) ' || true; } | tr -s ' ' |
    sed 's/^/answered: /'
  if [ -n "$gateway" ]; then
    echo "the page got $(grep -c '^event: board' "$D/page") boards, $(wc -c < "$D/page") bytes"
    kill "$gateway"; wait "$gateway" || true
  fi
  kill "$dispatcher"; wait "$dispatcher" || true
}
echo "with the gateway and one console page:"
run yes
echo "without the gateway:"
run no
