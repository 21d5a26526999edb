#!/bin/bash
# What idle followers of the log cost the dispatcher: starts a dispatcher with keys on a fresh
# store (the sample city), registers N agent principals, runs a whistle-agent for each (nothing
# happens in the city, so each only waits for records), and prints the requests and the CPU time
# the dispatcher spent over S seconds, read from its metrics (docs/BENCHMARKS.md, "Idle
# followers of the log"). With RATE, whistle-report submits that many reports a second meanwhile:
# every desk's department, city-water, may read every one of them, so each record is news for
# every desk.
#   tools/idle_followers.sh [N=50] [S=30] [BUILD=build] [RATE=0]
set -euo pipefail
N=${1:-50}
S=${2:-30}
B=$(realpath "${3:-build}")
RATE=${4:-0}
source "$(dirname "$0")/bench_lib.sh"
bench_dir idle-followers
start_dispatcher "$B/dispatcher/whistle-dispatcher" --data="$D/data" --keys="$D/keys"
CTL=("$B/tools/whistlectl" "--front=$FRONT" "--key=$D/keys/admin.key")
for i in $(seq "$N"); do
  "${CTL[@]}" principal-create --name="desk-$i" --role=agent --department=city-water \
    --out="$D/desk-$i.key" > /dev/null 2> "$D/ctl.err" || { cat "$D/ctl.err" >&2; exit 1; }
  "$B/agents/whistle-agent" --front="$FRONT" --bus="$BUS" --key="$D/desk-$i.key" \
    --departments=city-water --name="desk-$i" --duration-s=$((S + 10)) > /dev/null 2>&1 &
done
# Every desk connected to the front door before the measure starts: each holds two connections
# (its own client's and its Subscriber's; a third for its held reads once the bus refuses it), and
# whistlectl asking holds one.
connected() { "${CTL[@]}" --json metrics | python3 -c \
  'import json, sys; print(json.load(sys.stdin)["metrics"].get("connected_clients", 0))'; }
for _ in $(seq 300); do [ "$(connected)" -gt $((2 * N)) ] && break; sleep 0.1; done
if [ "$(connected)" -le $((2 * N)) ]; then
  echo "idle_followers: fewer than $N desks connected within 30 s" >&2
  exit 1
fi
sleep 1  # their first reads of the log
if [ "$RATE" != 0 ]; then
  "${CTL[@]}" principal-create --name=reporter --role=reporter --out="$D/reporter.key" > /dev/null 2>&1
  "$B/agents/whistle-report" --front="$FRONT" --key="$D/reporter.key" --rate="$RATE" \
    --duration-s=$((S + 10)) > "$D/reporter.log" 2>&1 &
  sleep 2
fi
"${CTL[@]}" --json metrics > "$D/before.json"
sleep "$S"
"${CTL[@]}" --json metrics > "$D/after.json"
python3 - "$N" "$S" "$D/before.json" "$D/after.json" <<'PY'
import json, sys
n, s = int(sys.argv[1]), float(sys.argv[2])
a, b = (json.load(open(f))["metrics"] for f in sys.argv[3:5])
d = lambda k: int(b.get(k, 0)) - int(a.get(k, 0))
r = d("commands") / s
logs = lambda m: sum(int(c.get("count", 0)) for c in m.get("by_command", []) if c.get("command") == "log")
print(f"{n} idle followers, {s:.0f} s: {r:.0f} requests/s ({r / n:.1f} a follower; log reads answered "
      f"{(logs(b) - logs(a)) / s:.0f}/s), dispatcher CPU {d('cpu_micros') / s / 1000:.1f} ms/s "
      f"(engine thread {d('engine_cpu_micros') / s / 1000:.1f} ms/s)")
PY
