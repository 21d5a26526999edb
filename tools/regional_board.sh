#!/bin/bash
# What a board of one region costs once the city has many overdue and supervised events: starts a
# dispatcher (--dev-no-auth, the sample city, a fresh store, time 20,000 times faster), submits
# reports for S seconds with whistle-bench, lets the four days pass in which nobody claims them
# (every one climbs to city level, overdue and supervised), then times `whistlectl board` for the
# city, one county and one community, 30 times each (docs/BENCHMARKS.md, "A board of one
# region").
#   tools/regional_board.sh [S=12] [BUILD=build] [DISPATCHER=BUILD/dispatcher/whistle-dispatcher]
# The whistlectl time includes its own start, about 9 ms here.
set -euo pipefail
S=${1:-12}
B=$(realpath "${2:-build}")
DISPATCHER=$(realpath "${3:-$B/dispatcher/whistle-dispatcher}")
source "$(dirname "$0")/bench_lib.sh"
bench_dir regional-board
start_dispatcher "$DISPATCHER" --dev-no-auth --data="$D/data" --time-scale=20000
"$B/tools/whistle-bench" --front="$FRONT" --mix=submit --clients=4 --window=32 --duration-s="$S" \
  --warmup-s=0 > "$D/bench.log"
sleep 25  # four days of the city's time and more: every unclaimed report overdue at city level
python3 - "$B/tools/whistlectl" "$FRONT" <<'PY'
import json, subprocess, sys, time
ctl, front = sys.argv[1:]
board = json.loads(subprocess.run([ctl, "--front=" + front, "--json", "board"], check=True,
                                  capture_output=True, text=True).stdout)["board"]
grid = board["grids"][0]["grid"]  # a grid's code starts with its community's, and its county's
county, community = grid[:6], grid[:12]
print(f"open {board['open']}, overdue {board.get('overdue', 0)}, supervised {board.get('supervised', 0)}")
for name, extra in (("the city", []), (f"county {county}", ["--region=" + county]),
                    (f"community {community}", ["--region=" + community])):
    times = []
    for _ in range(30):
        start = time.perf_counter()
        subprocess.run([ctl, "--front=" + front, "board"] + extra, stdout=subprocess.DEVNULL, check=True)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    print(f"board of {name}: whistlectl, 30 runs: min {times[0]:.1f} ms, median {times[15]:.1f} ms, "
          f"max {times[-1]:.1f} ms")
PY
