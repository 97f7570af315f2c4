#!/usr/bin/env python3
"""Projection quality: how far each projected trntk is from the exact trntk as k grows.

On a model (default the digits CNN, examples/digits/cnn.onnx, onnx backend, P = 13706, C = 10), N
training samples: the exact trntk (train x train) and proj-trntk for each projection and k, several
seeds each. Reported per (projection, k): the relative Frobenius error ||K_proj - K|| / ||K|| and the
same after cosine normalisation of both kernels, mean and spread over seeds; the ratio of each
projection's error to the dense Gaussian's at the same k; and with --labels, the faithfulness of the
kGLM fitted on the projected kernels (`entk attribute`, cosine kernels as in the paper): Kendall's
tau between the surrogate's and the network's test logits (pooled over classes), seed 0, beside the
exact trntk's. Everything from one run, on one machine.

`factored` is the per-layer Kronecker projection; --options passes backend options (e.g.
'{"conv_factors": "always"}' so a CNN's convolutions are factored groups too).

Usage: tools/bench/projection_quality.py [--entk .build/release/entk] [--n 200] [--seeds 3]
       [--ks 64,256,1024,4096] [--threads 2] [--projections gaussian,sparse,factored]
       [--labels examples/digits/train_y.npy --test-data examples/digits/test_x.npy
        --test-labels examples/digits/test_y.npy --test-n 100]
ResNet-18 (tools/bench/real_models.py exports it; synthetic data, so no tau):
       tools/bench/projection_quality.py --model .build/bench/resnet18.onnx
       --data .build/bench/resnet18_x16.npy --n 16 --ks 1024,10240 --seeds 1
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
parser.add_argument("--options", help="backend options (JSON)")
parser.add_argument(
    "--projections", default="gaussian,rademacher,sparse s=1,sparse s=4,sparse s=16,factored",
    help="comma-separated: gaussian, rademacher, sparse s=N, factored")
parser.add_argument("--labels", help="training labels: adds the kGLM's Kendall tau")
parser.add_argument("--test-data", default="examples/digits/test_x.npy")
parser.add_argument("--test-labels", default="examples/digits/test_y.npy")
parser.add_argument("--test-n", type=int, default=100)
args = parser.parse_args()

work = pathlib.Path(tempfile.mkdtemp(prefix="entk-projection-quality-"))
np.save(work / "x.npy", np.load(args.data)[: args.n].astype(np.float32))
model = str(pathlib.Path(args.model).resolve())
backend = ["--backend", "onnx", "--model", model] + (["--options", args.options] if args.options else [])
if args.labels:
    np.save(work / "y.npy", np.load(args.labels)[: args.n].astype(np.int64))
    np.save(work / "xt.npy", np.load(args.test_data)[: args.test_n].astype(np.float32))
    np.save(work / "yt.npy", np.load(args.test_labels)[: args.test_n].astype(np.int64))


def kernel(kind, extra):
    out = work / f"k{len(list(work.iterdir()))}"
    subprocess.run(
        [args.entk, "kernel"] + backend + ["--train", str(work / "x.npy"), "--kind", kind, "--threads",
                                           str(args.threads), "--out", str(out), "--json"] + extra,
        check=True, capture_output=True, text=True)
    values = np.load(out / "kernel.npy").astype(np.float64)
    subprocess.run(["rm", "-rf", str(out)], check=True)
    return values


def faithfulness(kind, extra):
    """Kendall's tau of the kGLM fitted on `kind` (cosine kernels) against the network's test logits."""
    out = work / f"b{len(list(work.iterdir()))}"
    subprocess.run(
        [args.entk, "attribute", "--kind", kind] + backend
        + ["--train", str(work / "x.npy"), "--train-labels", str(work / "y.npy"), "--test", str(work / "xt.npy"),
           "--test-labels", str(work / "yt.npy"), "--threads", str(args.threads), "--out", str(out)] + extra,
        check=True, capture_output=True, text=True)
    tau = json.loads((out / "metrics.json").read_text())["faithfulness"]["pooledLogits"]["kendallTau"]
    subprocess.run(["rm", "-rf", str(out)], check=True)
    return tau


def cosine(k):
    d = np.sqrt(np.diag(k))
    return k / np.outer(d, d)


def error(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


exact = kernel("trntk", [])
exact_tau = faithfulness("trntk", []) if args.labels else None
projections = [
    (name, ["--proj-density", name.split("=")[1]] if "=" in name else [])
    for name in args.projections.split(",")
]
ks = [int(k) for k in args.ks.split(",")]
rows = {}
for name, extra in projections:
    distribution = name.split()[0]
    for k in ks:
        if name.startswith("sparse") and int(name.split("=")[1]) > k:
            continue
        raw, normalised = [], []
        settings = ["--proj-dim", str(k), "--proj-kind", distribution]
        for seed in range(args.seeds):
            projected = kernel("proj-trntk", settings + ["--seed", str(seed)] + extra)
            raw.append(error(projected, exact))
            normalised.append(error(cosine(projected), cosine(exact)))
        tau = faithfulness("proj-trntk", settings + extra) if args.labels else None
        rows[(name, k)] = (np.mean(raw), np.std(raw), np.mean(normalised), np.std(normalised), tau)

print(f"{args.model} {args.options or ''}, N = {args.n} training samples, {args.seeds} seeds per entry")
if exact_tau is not None:
    print(f"exact trntk: kGLM Kendall tau {exact_tau:.4f} ({args.test_n} test samples)")
print("| projection | k | rel. error (mean ± sd) | cosine-normalised rel. error | error / Gaussian's | kGLM τ |")
print("|---|---|---|---|---|---|")
for (name, k), (mean, sd, cmean, csd, tau) in rows.items():
    gaussian = rows.get(("gaussian", k))
    ratio = f"{mean / gaussian[0]:.2f}" if gaussian else ""
    shown = f"{tau:.4f}" if tau is not None else ""
    print(f"| {name} | {k} | {mean:.4f} ± {sd:.4f} | {cmean:.4f} ± {csd:.4f} | {ratio} | {shown} |")
print(json.dumps({f"{name} k={k}": value[0] for (name, k), value in rows.items()}))
subprocess.run(["rm", "-rf", str(work)], check=True)
