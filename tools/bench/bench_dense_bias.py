#!/usr/bin/env python3
"""The bias-free dense MLP against the biased one: `entk kernel --kind trntk` on the classic
784-512-512-10 ReLU MLP, exported by PyTorch's legacy (TorchScript) exporter.

The legacy exporter writes nn.Linear with a bias as one Gemm (transB = 1) and without one as
Transpose + MatMul: 669,706 parameters with biases, 668,672 without. The onnx backend factors
both forms (docs/onnx-backend.md, "Factored dense layers"), so the bias-free MLP should cost what
the biased one does. For each model, in one run: the best of --repeats whole `entk kernel`
processes on the same N random inputs, and entk's own timing from its --json summary (`seconds`:
after the model is opened; features and Gram stages). Prints both and the ratio bias-free / biased
(1.0 is the target). --factors-off also times the bias-free MLP once with whole Jacobians (what
it cost when Transpose + MatMul did not factor) and compares the two kernels.

Needs torch and onnx to export (a venv's python); entk from `swift build -c release`.
Usage: tools/bench/bench_dense_bias.py [--n 256] [--threads 2] [--repeats 3] [--factors-off]
"""
import argparse
import json
import os
import pathlib
import platform
import subprocess
import tempfile
import time
import warnings

import numpy as np
import onnx
import torch
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parents[2]


def export_mlp(path, bias):
    """784-512-512-10 ReLU MLP (seed 0), legacy exporter, dynamic batch axis, constant folding off
    (which would fold each Transpose into a pre-transposed initializer, losing PyTorch's names)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512, bias=bias), nn.ReLU(), nn.Linear(512, 512, bias=bias), nn.ReLU(),
                          nn.Linear(512, 10, bias=bias)).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 784),), str(path), dynamo=False, opset_version=13,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, do_constant_folding=False)
    operators = [node.op_type for node in onnx.load(str(path)).graph.node]
    return sum(p.numel() for p in model.parameters()), operators


def run_kernel(entk, model, data, out, threads, factors):
    """One whole `entk kernel` process: (wall seconds, its --json summary)."""
    subprocess.run(["rm", "-rf", str(out)], check=True)
    start = time.perf_counter()
    result = subprocess.run(
        [entk, "kernel", "--backend", "onnx", "--model", str(model), "--train", str(data), "--kind", "trntk",
         "--threads", str(threads), "--factors", factors, "--out", str(out), "--json"],
        capture_output=True, text=True, check=True)
    return time.perf_counter() - start, json.loads(result.stdout)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs per measurement")
    parser.add_argument("--entk", default=str(ROOT / ".build/release/entk"))
    parser.add_argument("--factors-off", action="store_true",
                        help="also time the bias-free MLP once with --factors off (whole Jacobians)")
    args = parser.parse_args()

    rows = {}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        data = scratch / "x.npy"
        np.save(data, np.random.default_rng(0).standard_normal((args.n, 784), dtype=np.float32))
        for name, bias in (("biased", True), ("bias-free", False)):
            model = scratch / f"{name}.onnx"
            params, operators = export_mlp(model, bias)
            best_wall, best = float("inf"), None
            for _ in range(args.repeats):
                wall, summary = run_kernel(args.entk, model, data, scratch / name, args.threads, "auto")
                best_wall = min(best_wall, wall)
                if best is None or summary["seconds"] < best["seconds"]:
                    best = summary
            rows[name] = {"params": params, "ops": " + ".join(sorted(set(operators) - {"Relu"})),
                          "factored": best["factored"], "wall": best_wall, "seconds": best["seconds"],
                          "features": best["run"]["featureSeconds"], "gram": best["run"]["gramSeconds"]}
        if args.factors_off:
            kernel = np.load(scratch / "bias-free" / "kernel.npy").astype(np.float64)
            wall, summary = run_kernel(args.entk, scratch / "bias-free.onnx", data, scratch / "off", args.threads, "off")
            whole = np.load(scratch / "off" / "kernel.npy").astype(np.float64)
            rows["bias-free, --factors off"] = {
                "params": rows["bias-free"]["params"], "ops": rows["bias-free"]["ops"], "factored": summary["factored"],
                "wall": wall, "seconds": summary["seconds"], "features": summary["run"]["featureSeconds"],
                "gram": summary["run"]["gramSeconds"],
                "rel_error": float(np.linalg.norm(kernel - whole) / np.linalg.norm(whole))}

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, threads {args.threads}; "
          f"N = {args.n}, trntk, best of {args.repeats}; torch {torch.__version__}")
    print("| model | operators | P | factored | process (s) | entk seconds | features (s) | Gram (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['ops']} | {r['params']:,} | {'yes' if r['factored'] else 'no'} | {r['wall']:.3f} | "
              f"{r['seconds']:.3f} | {r['features']:.3f} | {r['gram']:.3f} |")
    free, biased = rows["bias-free"], rows["biased"]
    print(f"bias-free / biased: process {free['wall'] / biased['wall']:.2f}x, entk seconds "
          f"{free['seconds'] / biased['seconds']:.2f}x (target 1.0)")
    if "rel_error" in rows.get("bias-free, --factors off", {}):
        print(f"bias-free factored kernel vs whole-Jacobian kernel: relative error "
              f"{rows['bias-free, --factors off']['rel_error']:.1e}")


if __name__ == "__main__":
    main()
