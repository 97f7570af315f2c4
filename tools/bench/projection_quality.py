#!/usr/bin/env python3
"""Projection quality: how far each projected trntk is from the exact trntk as k grows.

On the digits CNN (examples/digits/cnn.onnx, onnx backend, P = 13706, C = 10), N training samples:
the exact trntk (train x train) and proj-trntk for each projection and k, several seeds each.
Reported per (projection, k): the relative Frobenius error ||K_proj - K|| / ||K|| and the same after
cosine normalisation of both kernels, mean and spread over seeds; and the ratio of each projection's
error to the dense Gaussian's at the same k. Everything from one run, on one machine.

Usage: tools/bench/projection_quality.py [--entk .build/release/entk] [--n 200] [--seeds 3]
       [--ks 64,256,1024,4096] [--threads 2]
"""
import argparse
import json
import pathlib
import subprocess
import tempfile

import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--entk", default=".build/release/entk")
parser.add_argument("--model", default="examples/digits/cnn.onnx")
parser.add_argument("--data", default="examples/digits/train_x.npy")
parser.add_argument("--n", type=int, default=200)
parser.add_argument("--seeds", type=int, default=3)
parser.add_argument("--ks", default="64,256,1024,4096")
parser.add_argument("--threads", type=int, default=2)
args = parser.parse_args()

work = pathlib.Path(tempfile.mkdtemp(prefix="entk-projection-quality-"))
np.save(work / "x.npy", np.load(args.data)[: args.n].astype(np.float32))


def kernel(kind, extra):
    out = work / f"k{len(list(work.iterdir()))}"
    subprocess.run(
        [args.entk, "kernel", "--backend", "onnx", "--model", str(pathlib.Path(args.model).resolve()),
         "--train", str(work / "x.npy"), "--kind", kind, "--threads", str(args.threads), "--out", str(out),
         "--json"] + extra, check=True, capture_output=True, text=True)
    values = np.load(out / "kernel.npy").astype(np.float64)
    subprocess.run(["rm", "-rf", str(out)], check=True)
    return values


def cosine(k):
    d = np.sqrt(np.diag(k))
    return k / np.outer(d, d)


def error(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


exact = kernel("trntk", [])
projections = [
    ("gaussian", []), ("rademacher", []), ("sparse s=1", ["--proj-density", "1"]),
    ("sparse s=4", ["--proj-density", "4"]), ("sparse s=16", ["--proj-density", "16"]),
]
ks = [int(k) for k in args.ks.split(",")]
rows = {}
for name, extra in projections:
    distribution = name.split()[0]
    for k in ks:
        if name.startswith("sparse") and int(name.split("=")[1]) > k:
            continue
        raw, normalised = [], []
        for seed in range(args.seeds):
            projected = kernel(
                "proj-trntk", ["--proj-dim", str(k), "--proj-kind", distribution, "--seed", str(seed)] + extra)
            raw.append(error(projected, exact))
            normalised.append(error(cosine(projected), cosine(exact)))
        rows[(name, k)] = (np.mean(raw), np.std(raw), np.mean(normalised), np.std(normalised))

print(f"digits CNN (P = 13706, C = 10), N = {args.n} training samples, {args.seeds} seeds per entry")
print("| projection | k | rel. error (mean ± sd) | cosine-normalised rel. error | error / Gaussian's |")
print("|---|---|---|---|---|")
for (name, k), (mean, sd, cmean, csd) in rows.items():
    ratio = mean / rows[("gaussian", k)][0]
    print(f"| {name} | {k} | {mean:.4f} ± {sd:.4f} | {cmean:.4f} ± {csd:.4f} | {ratio:.2f} |")
print(json.dumps({f"{name} k={k}": value[0] for (name, k), value in rows.items()}))
subprocess.run(["rm", "-rf", str(work)], check=True)
