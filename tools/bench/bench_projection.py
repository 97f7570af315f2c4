#!/usr/bin/env python3
"""The projected kinds' cost per sample on a large synthetic P, against baselines measured in the same run.

Model: a random tanh MLP on the example-c backend (default 64-512-512-10, P = 301,066), N random samples.
For each projected kind and projection, `entk kernel --json` gives the seconds spent producing features
(gradients + projection); the unprojected kind on the same samples (pntk, or trntk with --factors off,
whose features are the same gradients) gives the gradients' share, so

    projection seconds per sample = (features(proj kind) - features(unprojected kind)) / N.

Baselines in the same run:
  - `--baseline-entk BIN`: the same runs with another entk build (e.g. an earlier commit's
    .build/release/entk with its example-c backend beside it): per-sample ratio and peak RSS;
  - a TRAK-style dense projector in numpy: ±1 entries generated in blocks of 4096 columns
    (numpy's PCG64) and applied to all N gradient rows at once with float32 matmul (OpenBLAS),
    on random gradients of the same shape.

Usage: tools/bench/bench_projection.py [--entk .build/release/entk] [--baseline-entk BIN]
       [--hidden 512,512] [--n 32] [--k 1024] [--threads 2] [--repeats 2]
"""
import argparse
import json
import os
import pathlib
import subprocess
import tempfile
import time

import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--entk", default=".build/release/entk")
parser.add_argument("--baseline-entk")
parser.add_argument("--hidden", default="512,512")
parser.add_argument("--n", type=int, default=32)
parser.add_argument("--k", type=int, default=1024)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--density", type=int, default=4)
parser.add_argument("--repeats", type=int, default=2, help="runs per timing; the fastest counts")
args = parser.parse_args()

work = pathlib.Path(tempfile.mkdtemp(prefix="entk-bench-projection-"))
rng = np.random.default_rng(0)
sizes = [64] + [int(h) for h in args.hidden.split(",")] + [10]
for index, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
    np.save(work / f"W{index}.npy", (rng.standard_normal((b, a)) / np.sqrt(a)).astype(np.float32))
    np.save(work / f"b{index}.npy", (0.1 * rng.standard_normal(b)).astype(np.float32))
p = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
c = sizes[-1]
np.save(work / "x.npy", rng.standard_normal((args.n, sizes[0])).astype(np.float32))


def run(entk, kind, extra):
    """The fastest of `--repeats` runs: (feature seconds, total seconds, peak RSS MiB)."""
    return min(run_once(entk, kind, extra) for _ in range(args.repeats))


def run_once(entk, kind, extra):
    """Runs `entk kernel`; returns (feature seconds, total seconds, peak RSS MiB)."""
    out = work / f"k-{time.monotonic_ns()}"
    command = [
        "/usr/bin/time", "-f", "%M", "-o", str(work / "rss"), entk, "kernel", "--backend", "example-c",
        "--model", str(work), "--train", str(work / "x.npy"), "--kind", kind, "--threads", str(args.threads),
        "--memory", "8G", "--out", str(out), "--json",
    ] + extra
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    summary = json.loads(result.stdout)
    rss = int((work / "rss").read_text().split()[-1]) / 1024
    subprocess.run(["rm", "-rf", str(out)], check=True)
    return summary["run"]["featureSeconds"], summary["seconds"], rss


def numpy_dense(rows):
    """Seconds of a TRAK-style dense ±1 projection of `rows` gradient rows of P floats, to k."""
    gradients = rng.standard_normal((rows, p), dtype=np.float32)
    generator = np.random.default_rng(1)
    start = time.perf_counter()
    out = np.zeros((rows, args.k), dtype=np.float32)
    for column in range(0, p, 4096):
        width = min(4096, p - column)
        block = (generator.integers(0, 2, size=(args.k, width), dtype=np.int8) * 2 - 1).astype(np.float32)
        out += gradients[:, column:column + width] @ block.T
    return time.perf_counter() - start


os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
print(f"model 64-{args.hidden}-10 tanh MLP, P = {p}, C = {c}, N = {args.n}, k = {args.k}, "
      f"{args.threads} threads, density {args.density} for sparse")
projections = [("gaussian", []), ("rademacher", []), ("sparse", ["--proj-density", str(args.density)])]
binaries = [("entk", args.entk)] + ([("baseline", args.baseline_entk)] if args.baseline_entk else [])
print("| kind | projection | binary | features (s) | gradients (s) | projection per sample (ms) | peak RSS (MiB) |")
print("|---|---|---|---|---|---|---|")
results = {}
for kind, plain, plain_extra, rows in [
    ("proj-pntk", "pntk", [], args.n), ("proj-trntk", "trntk", ["--factors", "off"], args.n * c)
]:
    for name, binary in binaries:
        gradients, _, _ = run(binary, plain, plain_extra)
        for projection, extra in projections:
            if name == "baseline" and projection == "sparse":
                continue
            features, _, rss = run(
                binary, kind, ["--proj-dim", str(args.k), "--proj-kind", projection, "--seed", "1"] + extra)
            per_sample = (features - gradients) / args.n * 1000
            results[(kind, projection, name)] = per_sample
            print(f"| {kind} | {projection} | {name} | {features:.2f} | {gradients:.2f} | {per_sample:.1f} | {rss:.0f} |")
    trak = min(numpy_dense(rows) for _ in range(args.repeats)) / args.n * 1000
    results[(kind, "numpy", "trak")] = trak
    print(f"| {kind} | numpy dense ±1 (TRAK-style) | numpy | | | {trak:.1f} | |")

print("\nRatios (projection time per sample, same run):")
for kind in ["proj-pntk", "proj-trntk"]:
    trak = results[(kind, "numpy", "trak")]
    for projection, _ in projections:
        mine = results[(kind, projection, "entk")]
        line = f"  {kind} {projection}: numpy/entk {trak / mine:.2f}x"
        if (kind, projection, "baseline") in results:
            line += f", baseline/entk {results[(kind, projection, 'baseline')] / mine:.2f}x"
        print(line)
subprocess.run(["rm", "-rf", str(work)], check=True)
