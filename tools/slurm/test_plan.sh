#!/usr/bin/env bash
# Issue 7's Slurm check: starts the single-node cluster (tools/slurm/cluster.sh), plans a tiled
# kernel with `entk plan`, submits its job array, waits, merges, and checks the merged kernel is
# byte-identical to a single-process `entk kernel` run with the same tile size; stops the daemons.
#
#   tools/slurm/test_plan.sh            (needs root, slurm-wlm and munge; ENTK= picks the binary)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
entk=${ENTK:-$root/.build/debug/entk}
work=$(mktemp -d /tmp/entk-slurm-plan.XXXXXX)
export ENTK_SLURM_DIR=${ENTK_SLURM_DIR:-$work/cluster}
cleanup() {
  "$root/tools/slurm/cluster.sh" stop || true
  # slurmctld saves its state while shutting down; wait for it before removing the folder.
  for _ in $(seq 1 20); do
    pgrep -f "slurmctld -f $ENTK_SLURM_DIR/" >/dev/null || break
    sleep 0.5
  done
  rm -rf "$work"
}
trap cleanup EXIT

"$root/tools/slurm/cluster.sh" start
eval "$("$root/tools/slurm/cluster.sh" env)"

model=$root/Tests/Fixtures/kernel-mlp
args=(--backend example-c --model "$model" --train "$model/train.npy" --kind layers --tile-size 5)
"$entk" kernel "${args[@]}" --threads 1 --out "$work/single" 2>/dev/null
"$entk" plan "${args[@]}" --out "$work/planned" 2>/dev/null
tiles=$(grep -c '"sidecar"' "$work/planned/plan.json")

job=$(sbatch --parsable "$work/planned/slurm.sh")
for _ in $(seq 1 300); do
  [[ -z $(squeue -h -j "$job" 2>/dev/null) ]] && break
  sleep 1
done
if [[ -n $(squeue -h -j "$job" 2>/dev/null) ]]; then
  echo "slurm: job $job still running after 300 s" >&2
  exit 1
fi
"$entk" merge "$work/planned"
cmp "$work/single/kernel.npy" "$work/planned/kernel.npy"
echo "slurm: $tiles tiles ran as job array $job; the merged kernel is identical to the single-process one"
