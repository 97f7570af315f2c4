#!/usr/bin/env python3
"""proj-trntk or proj-pntk on the CIFAR-style ResNet-18 (11.2 M parameters, 10 classes), one run, one
machine.

For each k (default 1024 and 10,240) and projection (dense gaussian and rademacher, sparse s = 4,
factored), the whole `entk kernel --kind proj-trntk` (or `--kind proj-pntk`) process with default
flags (no --memory, no --batch-size) on N synthetic samples: wall seconds, samples/s and peak
resident memory. Against it, in the same run, a TRAK-style CPU baseline (TRAK's dense projector on a
CPU): torch.func's vmap(grad) gives the N gradients of each class's logit (proj-trntk) or of the
logits' sum over √C (proj-pntk) (N × P floats each, BatchNorm folded as the exporter folds it), and a
dense ±1/√k matrix generated in blocks of 4096 columns (torch's generator) is applied to all gradient
rows at once with one float32 matmul per block; the projected classes' Gram matrices are summed.
Both sides use the same threads. The ratio is the baseline's seconds over entk's at the same k. The
baseline holds all its gradients (C·N·P floats for proj-trntk: 7.1 GB for N = 16) so that R is
generated once, as TRAK's projector does. Its generation (random int8 bits made ±1 floats) is about
3× faster than TRAK's own; --trak-projector also times traker's BasicProjector (Rademacher, float32,
its default blocks of 100 outputs drawn by bernoulli_, a P × 100 matrix: 4.5 GB here) on the same
gradients. Each baseline is the gradients' time plus its projection's.

Usage (after `swift build -c release`; tools/bench/venv.sh makes the Python environment):
  .build/bench-venv/bin/python tools/bench/bench_projection_resnet.py [--kind proj-trntk|proj-pntk]
      [--n 16] [--ks 1024,10240] [--projections gaussian,rademacher,sparse,factored] [--threads 2]
      [--no-baseline] [--trak-projector]
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import real_models  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]


def run_entk(entk, args):
    """Runs entk; returns (wall seconds, peak resident MiB)."""
    start = time.perf_counter()
    process = subprocess.Popen([entk] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    err = process.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"entk {' '.join(args)} failed:\n{err}")
    return seconds, usage.ru_maxrss / 1024


def gradient_rows(model, x, summed):
    """torch.func's gradient rows: G_c = vmap(grad f_c) for every class, class-major ([C·N, P]), or
    G = vmap(grad Σ_c f_c/√C) ([N, P]) when summed; and the number of row sets (C or 1)."""
    from torch.func import functional_call, grad, vmap

    params = {name: v.detach() for name, v in model.named_parameters()}
    buffers = {name: v.detach() for name, v in model.named_buffers()}

    def logits(p, sample):
        return functional_call(model, (p, buffers), (sample.unsqueeze(0),))[0]

    classes = logits(params, x[0]).shape[0]
    n = x.shape[0]
    outputs = [lambda p, s: logits(p, s).sum() / classes**0.5] if summed else [
        lambda p, s, cls=cls: logits(p, s)[cls] for cls in range(classes)]
    rows = []
    for output in outputs:
        g = vmap(grad(output), in_dims=(None, 0))(params, x)
        rows.append(torch.cat([v.reshape(n, -1) for v in g.values()], 1))
        del g
    return torch.cat(rows, 0), len(outputs)


def project_in_column_blocks(rows, k, seed=0):
    """R G with R a dense ±1/√k matrix generated once, in blocks of 4096 of its P columns (torch's
    generator: random int8 bits made ±1 floats), each block applied to all gradient rows at once."""
    generator = torch.Generator().manual_seed(seed)
    projected = torch.zeros(rows.shape[0], k)
    for start in range(0, rows.shape[1], 4096):
        width = min(4096, rows.shape[1] - start)
        block = torch.randint(0, 2, (width, k), generator=generator, dtype=torch.int8).float().mul_(2).sub_(1)
        projected += rows[:, start:start + width] @ block
    return projected / k**0.5


def project_with_trak(rows, k, seed=0):
    """R G by TRAK's own CPU projector (traker's `BasicProjector`, Rademacher, float32, its default
    blocks of 100 of the k outputs: a P × 100 matrix drawn by bernoulli_ per block)."""
    from trak.projectors import BasicProjector, ProjectionType

    projector = BasicProjector(grad_dim=rows.shape[1], proj_dim=k, seed=seed, proj_type=ProjectionType.rademacher,
                               device="cpu")
    return projector.project(rows, model_id=0) / k**0.5


def projected_kernel(projected, sets):
    """Σ over the row sets (classes) of (R G)(R G)ᵀ."""
    per_set = projected.reshape(sets, projected.shape[0] // sets, -1)
    return sum(block @ block.T for block in per_set)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", choices=["proj-trntk", "proj-pntk"], default="proj-trntk")
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--ks", default="1024,10240")
    parser.add_argument("--projections", default="gaussian,rademacher,sparse,factored")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--trak-projector", action="store_true",
                        help="also time traker's BasicProjector on the same gradients (about 110 s at k = 1024)")
    parser.add_argument("--entk", default=str(ROOT / ".build/release/entk"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    bench = ROOT / ".build/bench"
    bench.mkdir(parents=True, exist_ok=True)
    path = bench / "resnet18.onnx"
    model = real_models.export("resnet18", path).eval()
    x = real_models.sample_inputs("resnet18", args.n)
    data = bench / f"resnet18_x{args.n}.npy"
    np.save(data, x.numpy().astype(np.float32))
    p = sum(v.numel() for v in model.parameters())
    print(f"{args.kind}, ResNet-18 (P = {p:,}, C = 10), N = {args.n}, {args.threads} threads, {os.uname().nodename}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    header = "| k | projection | entk (s) | samples/s | peak RSS (GB) | TRAK-style baseline (s) | baseline / entk |"
    rule = "|---|---|---|---|---|---|---|"
    if args.trak_projector:
        header += " TRAK's BasicProjector (s) | BasicProjector / entk |"
        rule += "---|---|"
    print(header)
    print(rule)
    results = {}
    for k in [int(v) for v in args.ks.split(",")]:
        # entk first: a child forked from this process after the baseline's 7 GB of gradients would
        # count them in its peak resident set.
        rows = []
        for projection in args.projections.split(","):
            with tempfile.TemporaryDirectory() as out:
                extra = ["--proj-density", "4"] if projection in ("sparse", "factored") else []
                seconds, rss = run_entk(args.entk, [
                    "kernel", "--backend", "onnx", "--model", str(path), "--train", str(data),
                    "--kind", args.kind, "--proj-dim", str(k), "--proj-kind", projection,
                    "--threads", str(args.threads), "--out", out + "/k"] + extra)
            rows.append((projection, seconds, rss))
        baseline, trak = None, None
        if not args.no_baseline:
            # The gradients once, then each projection of them; a baseline is their sum.
            start = time.perf_counter()
            gradients, sets = gradient_rows(model, x, summed=args.kind == "proj-pntk")
            gradient_s = time.perf_counter() - start
            start = time.perf_counter()
            projected_kernel(project_in_column_blocks(gradients, k), sets)
            baseline = gradient_s + time.perf_counter() - start
            if args.trak_projector:
                start = time.perf_counter()
                projected_kernel(project_with_trak(gradients, k), sets)
                trak = gradient_s + time.perf_counter() - start
            del gradients
        for projection, seconds, rss in rows:
            ratio = f"{baseline / seconds:.2f}×" if baseline else "–"
            shown = f"{baseline:.1f}" if baseline else "–"
            line = f"| {k} | {projection} | {seconds:.1f} | {args.n / seconds:.2f} | {rss / 1024:.1f} | {shown} | {ratio} |"
            if args.trak_projector:
                line += f" {trak:.1f} | {trak / seconds:.2f}× |" if trak else " – | – |"
            print(line, flush=True)
            results[f"{projection} k={k}"] = {"seconds": seconds, "rssMiB": rss, "baseline": baseline,
                                              "trakProjector": trak}
    print(json.dumps(results))


if __name__ == "__main__":
    main()
