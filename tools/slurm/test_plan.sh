#!/usr/bin/env bash
# Issue 7's Slurm check, run by `make test`: starts the single-node cluster (tools/slurm/cluster.sh),
# plans a tiled kernel with `entk plan`, submits its job array, waits, merges, and checks the merged
# kernel is byte-identical to a single-process `entk kernel` run with the same tile size; stops the
# daemons whatever happens. Fails (never skips) without root, slurm-wlm or munge.
#
#   tools/slurm/test_plan.sh            (ENTK= picks the binary; default .build/debug/entk)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
entk=${ENTK:-$root/.build/debug/entk}
[[ -x $entk ]] || {
  echo "slurm: no entk at $entk; build it first (swift build) or set ENTK" >&2
  exit 1
}
started=$SECONDS
work=$(mktemp -d /tmp/entk-slurm-plan.XXXXXX)
export ENTK_SLURM_DIR=$work/cluster
cleanup() {
  # cluster.sh stop waits for the daemons to exit, so the folder can go.
  "$root/tools/slurm/cluster.sh" stop || true
  rm -rf "$work"
}
trap cleanup EXIT
# Signals end the script through exit, so the EXIT trap stops the daemons.
trap 'exit 130' INT TERM HUP PIPE

"$root/tools/slurm/cluster.sh" start
eval "$("$root/tools/slurm/cluster.sh" env)"

model=$root/Tests/Fixtures/kernel-mlp
args=(--backend example-c --model "$model" --train "$model/train.npy" --kind layers --tile-size 5)
"$entk" kernel "${args[@]}" --threads 1 --out "$work/single" 2>/dev/null
"$entk" plan "${args[@]}" --out "$work/planned" 2>/dev/null
tiles=$(grep -c '"sidecar"' "$work/planned/plan.json")

job=$(sbatch --parsable "$work/planned/slurm.sh")
for _ in $(seq 1 600); do
  [[ -z $(squeue -h -j "$job" 2>/dev/null) ]] && break
  sleep 0.5
done
if [[ -n $(squeue -h -j "$job" 2>/dev/null) ]]; then
  echo "slurm: job $job still running after 300 s" >&2
  exit 1
fi
# A failed array task leaves its tile missing; merge then names it, and the task's output says why.
if ! "$entk" merge "$work/planned"; then
  tail -n 20 "$work"/planned/slurm/*.out >&2 || true
  exit 1
fi
cmp "$work/single/kernel.npy" "$work/planned/kernel.npy"
echo "slurm: $tiles tiles ran as job array $job; the merged kernel is identical to the single-process one" \
  "($((SECONDS - started)) s including the cluster's start)"
