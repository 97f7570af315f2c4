#!/usr/bin/env bash
# Issue 7's scale-out benchmark: a synthetic tanh MLP (32-16-10) and N random samples.
#  1. `entk kernel --kind trntk --memory 2G` on N = 20000 samples: wall time, tile grid and peak
#     resident memory (/usr/bin/time), which must stay under the budget;
#  2. the same kernel on N2 = 6000 samples planned in tiles of 1000 (`entk plan --threads 1`), run
#     with `make -j1` and `make -j2`: tiles per second with 1 and 2 parallel tiles.
# Usage: tools/bench/bench_tiles.sh [N] [N2]   (after `swift build -c release`; ENTK= picks the binary)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
entk=${ENTK:-$root/.build/release/entk}
n=${1:-20000}
n2=${2:-6000}
work=$(mktemp -d /tmp/entk-bench-tiles.XXXXXX)
trap 'rm -rf "$work"' EXIT

python3 - "$work" "$n" <<'PY'
import sys, numpy as np
out, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
sizes = [32, 16, 10]
for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
    np.save(f"{out}/W{k}.npy", (rng.standard_normal((b, a)) / np.sqrt(a)).astype(np.float32))
    np.save(f"{out}/b{k}.npy", (0.1 * rng.standard_normal(b)).astype(np.float32))
np.save(f"{out}/x.npy", rng.standard_normal((n, sizes[0])).astype(np.float32))
PY
args=(--backend example-c --model "$work" --kind trntk)

/usr/bin/time -f "%e %M" -o "$work/time" "$entk" kernel "${args[@]}" --train "$work/x.npy" --memory 2G \
  --out "$work/k" --json >"$work/summary.json" 2>/dev/null
read -r seconds rss_kb <"$work/time"
grid=$(python3 -c "import json; print('x'.join(map(str, json.load(open('$work/summary.json'))['grid'])))")
echo "N=$n trntk --memory 2G: ${seconds}s, tile grid $grid, peak RSS $((rss_kb / 1024)) MiB (budget 2048 MiB)"
rm -rf "$work/k"

python3 -c "import numpy as np; np.save('$work/x2.npy', np.load('$work/x.npy')[:$n2])"
for jobs in 1 2; do
  "$entk" plan "${args[@]}" --train "$work/x2.npy" --tile-size 1000 --threads 1 --out "$work/p$jobs" 2>/dev/null
  tiles=$(grep -c '"sidecar"' "$work/p$jobs/plan.json")
  start=$(date +%s.%N)
  make -s -j"$jobs" -f "$work/p$jobs/Makefile" >/dev/null 2>&1
  end=$(date +%s.%N)
  python3 -c "s = $end - $start; print(f'N=$n2 make -j$jobs: $tiles tiles in {s:.1f}s = {$tiles / s:.2f} tiles/s')"
done
