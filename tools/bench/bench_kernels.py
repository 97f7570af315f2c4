#!/usr/bin/env python3
"""entk vs torch.func on the same model and data, in one run on one machine.

For each N and kind (trntk, pntk, entk):
  entk:  best-of-3 wall-clock of the whole `entk kernel` process (load model and data, gradients, Gram,
         write tiles, merge into kernel.npy), plus its Gram stage's GFLOP/s from `--json`;
  torch: vmap(jacrev) Jacobians + matmul in float32 (the torch.func recipe), result kept in memory
         (not written), so the comparison is conservative for entk.
Every timing is the best of --repeats (default 3) runs. Also measures OpenBLAS cblas_sgemm (the library
entk links, through ctypes) on the Gram's shape (N × N × the features per pair entk multiplied: C·P for
whole Jacobians, less with per-layer factors, capped at 8192) with the same thread count, and reports
the Gram stage as a fraction of it (useful flops: a symmetric kernel is credited only with its upper
half, the work entk does). --factors off makes entk use whole Jacobians even where the backend
factors its dense layers.
Results agree within a printed relative error (entk's kernel vs torch's, float64 norm).

Usage (after `swift build -c release`):
  tools/bench/bench_kernels.py --backend example-c --model DIR --torch tanh-mlp:DIR \
      [--data examples/digits/all_x.npy] [--sizes 500,1000,1797] [--kinds trntk,pntk,entk] [--threads 2]
--torch names the torch twin of the model, holding the same weights: `tanh-mlp:DIR`
(tools/bench/tanh_mlp.py, the example-c format), `onnx-mlp:FILE` or `onnx-cnn:FILE`
(tools/bench/onnx_twins.py, weights read from the ONNX file). Any backend works on the entk side.
ONNX models: --backend onnx --model FILE.onnx --torch onnx-cnn:FILE.onnx.
"""
import argparse
import ctypes
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import tanh_mlp  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]


def torch_twin(spec):
    kind, _, path = spec.partition(":")
    if kind == "tanh-mlp":
        return tanh_mlp.load(path)
    if kind in ("onnx-cnn", "onnx-mlp"):
        import onnx_twins

        return onnx_twins.load_cnn(path) if kind == "onnx-cnn" else onnx_twins.load_mlp(path)
    raise SystemExit(f"unknown --torch twin '{kind}' (known: tanh-mlp, onnx-cnn, onnx-mlp)")


def torch_kernel(params, forward, x, kind):
    jac = tanh_mlp.jacobians(params, forward, x)  # [N, C, P] float32
    n, c, p = jac.shape
    if kind == "trntk":
        flat = jac.reshape(n, c * p)
        return flat @ flat.T
    if kind == "pntk":
        summed = jac.sum(1)
        return summed @ summed.T / c
    if kind == "entk":
        rows = jac.reshape(n * c, p)
        return (rows @ rows.T).reshape(n, c, n, c).permute(0, 2, 1, 3).contiguous()
    raise ValueError(kind)


def sgemm_gflops(m, n, k, threads, repeats=2):
    blas = ctypes.CDLL("libopenblas.so.0")
    blas.openblas_set_num_threads(threads)
    a = np.random.default_rng(0).standard_normal((m, k), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((n, k), dtype=np.float32)
    c = np.empty((m, n), dtype=np.float32)
    f = ctypes.c_float
    p = lambda arr: arr.ctypes.data_as(ctypes.c_void_p)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        # CblasRowMajor=101, CblasNoTrans=111, CblasTrans=112
        blas.cblas_sgemm(101, 111, 112, m, n, k, f(1.0), p(a), k, p(b), k, f(0.0), p(c), n)
        best = min(best, time.perf_counter() - start)
    return 2.0 * m * n * k / best / 1e9


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--torch", required=True)
    parser.add_argument("--data", default=str(ROOT / "examples/digits/all_x.npy"))
    parser.add_argument("--sizes", default="500,1000,1797")
    parser.add_argument("--kinds", default="trntk,pntk,entk")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory", default="12G")
    parser.add_argument("--entk", default=str(ROOT / ".build/release/entk"))
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs per measurement")
    parser.add_argument("--factors", default="auto", choices=["auto", "off"],
                        help="entk kernel --factors: per-layer factors where the backend has them, or whole Jacobians")
    parser.add_argument("--json-out")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    params, forward = torch_twin(args.torch)
    data = np.load(args.data).astype(np.float32)
    data = data.reshape(data.shape[0], -1)
    num_params = sum(v.numel() for v in params.values())
    num_outputs = forward(params, torch.from_numpy(data[0])).shape[0]
    # Warm torch.func up (tracing, thread pools) so its timings are steady-state.
    with torch.no_grad():
        for kind in args.kinds.split(","):
            torch_kernel(params, forward, torch.from_numpy(data[:4]), kind)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for n in [int(s) for s in args.sizes.split(",")]:
            x = data[:n]
            train = pathlib.Path(scratch) / f"x{n}.npy"
            np.save(train, x)
            for kind in args.kinds.split(","):
                out = pathlib.Path(scratch) / f"{kind}-{n}"
                # Best of --repeats for every timing: the machine may be shared, and the minimum
                # is the least disturbed run.
                entk_seconds, summary = float("inf"), None
                for _ in range(args.repeats):
                    subprocess.run(["rm", "-rf", str(out)], check=True)
                    start = time.perf_counter()
                    result = subprocess.run(
                        [args.entk, "kernel", "--backend", args.backend, "--model", args.model, "--train", str(train),
                         "--kind", kind, "--threads", str(args.threads), "--memory", args.memory, "--out", str(out),
                         "--factors", args.factors, "--json"],
                        capture_output=True, text=True, check=True)
                    seconds = time.perf_counter() - start
                    candidate = json.loads(result.stdout)
                    entk_seconds = min(entk_seconds, seconds)
                    if summary is None or candidate["run"]["gramSeconds"] < summary["run"]["gramSeconds"]:
                        summary = candidate
                entk_kernel = np.load(out / "kernel.npy")

                torch_seconds = float("inf")
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    with torch.no_grad():
                        reference = torch_kernel(params, forward, torch.from_numpy(x), kind)
                    torch_seconds = min(torch_seconds, time.perf_counter() - start)
                reference = reference.numpy()
                error = np.linalg.norm((entk_kernel - reference).astype(np.float64)) / np.linalg.norm(reference.astype(np.float64))
                del reference, entk_kernel
                subprocess.run(["rm", "-rf", str(out)], check=True)

                # The Gram stage computes (N·m) × (N·m) outputs (m = C for entk) in 192 × 192 sgemm
                # panels with inner chunks of at most 8192 features; time one large sgemm of that
                # output for the best OpenBLAS can do. The inner width is the features per pair the
                # run multiplied (its flops over the symmetric half's m(m+1) pairs): C·P for whole
                # Jacobians, less with per-layer factors.
                run = summary["run"]
                m = n * (num_outputs if kind == "entk" else 1)
                inner = round(run["gramFlops"] / (m * (m + 1)))
                sgemm = sgemm_gflops(m, m, min(inner, 8192), args.threads, repeats=args.repeats)
                gram = run["gramFlops"] / run["gramSeconds"] / 1e9 if run["gramSeconds"] > 0 else 0.0
                rows.append({
                    "n": n, "kind": kind, "entk_s": entk_seconds, "torch_s": torch_seconds,
                    "speedup": torch_seconds / entk_seconds, "factored": summary["factored"],
                    "entk_feature_s": run["featureSeconds"],
                    "entk_gram_s": run["gramSeconds"], "gram_gflops": gram, "sgemm_gflops": sgemm,
                    "gram_vs_sgemm": gram / sgemm, "rel_error": float(error),
                })
                r = rows[-1]
                print(f"N={n:5d} {kind:6s}{' factored' if r['factored'] else ''} entk {entk_seconds:7.2f}s (features {r['entk_feature_s']:.2f}s, gram {r['entk_gram_s']:.2f}s)"
                      f"  torch {torch_seconds:7.2f}s  speedup {r['speedup']:5.2f}x  gram {gram:6.1f} GFLOP/s"
                      f" = {100 * r['gram_vs_sgemm']:4.0f}% of sgemm {sgemm:6.1f}  rel.err {error:.1e}", flush=True)
    print()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, threads {args.threads}; "
          f"model P = {num_params}; torch {torch.__version__}")
    print("| N | kind | entk (s) | torch.func (s) | speedup | entk Gram GFLOP/s | sgemm GFLOP/s | Gram/sgemm | rel. error |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        kind = r['kind'] + (" (factored)" if r['factored'] else "")
        print(f"| {r['n']} | {kind} | {r['entk_s']:.2f} | {r['torch_s']:.2f} | {r['speedup']:.2f}× | "
              f"{r['gram_gflops']:.1f} | {r['sgemm_gflops']:.1f} | {100 * r['gram_vs_sgemm']:.0f}% | {r['rel_error']:.1e} |")
    if args.json_out:
        pathlib.Path(args.json_out).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
