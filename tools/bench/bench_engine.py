#!/usr/bin/env python3
"""The onnx backend at real model sizes: entk against ONNX Runtime and torch.func, one run, one machine.

Models (tools/bench/real_models.py, exported here): the CIFAR-style ResNet-18 (11.2 M parameters),
a small BERT-style encoder (4 layers, hidden 256, 64 tokens) and a BERT-base-shaped one (12 layers,
hidden 768). Synthetic inputs. For each model:

- forward: samples/s of entk's forward (the feature stage of `entk kernel --kind em`, from its --json
  report) against ONNX Runtime (batch of N, same thread count, best of --repeats);
- pntk and trntk: the whole `entk kernel` process with default flags (no --memory, no --batch-size)
  against torch.func on the same function (BatchNorm folded as the exporter folds it): pntk from
  vmap(grad) of the summed logits, trntk as Σ_c G_c G_cᵀ with G_c = vmap(grad f_c) over the N samples
  (one class at a time, so torch's memory stays N × P); float32, 2 threads each;
- Jacobian GFLOP/s: the Jacobian's flops (forward + C reverse passes, each reverse ≈ 2 × the
  forward's multiply-adds, counted from the graph's Conv/Gemm/MatMul nodes) over entk's feature-stage
  seconds of a trntk run on --jacobian-samples samples in one tile (--factors off, memory enough),
  best of --repeats (the first run's, mostly first touches of fresh memory, is kept in the JSON),
  against one OpenBLAS sgemm measured in the same run;
- peak resident memory of each entk process;
- the error of entk's trntk against torch's float64 kernel on the first --check samples.

Memory: on a VM whose host hands out guest memory lazily, the first touch of memory the guest has
not used recently costs ~2.5 s/GiB (measured here; 0.1 s/GiB once touched), so a process's fresh
gigabytes can cost more than its arithmetic. It hits both sides (torch's Jacobians are fresh memory
too); --warm GiB touches that much memory once before measuring (default 0: measure as a user would).

Usage (after `swift build -c release`; the venv needs torch, transformers, onnx, onnxruntime:
tools/bench/venv.sh makes one):
  .build/bench-venv/bin/python tools/bench/bench_engine.py [--models resnet18,bert-small,bert-base]
      [--sizes resnet18=64,bert-small=64,bert-base=16] [--kinds pntk,trntk] [--threads 2]
"""
import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import torch

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import real_models  # noqa: E402
from bench_kernels import sgemm_gflops  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]


def run_entk(entk, args):
    """Runs entk; returns (wall seconds, --json summary, peak resident MiB)."""
    start = time.perf_counter()
    process = subprocess.Popen([entk] + args + ["--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    out, err = process.stdout.read(), process.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"entk {' '.join(args)} failed:\n{err}")
    return seconds, json.loads(out), usage.ru_maxrss / 1024


def graph_macs(path, sample_shape):
    """Multiply-adds of one sample's forward pass through Conv, Gemm and MatMul nodes (shapes from
    onnx's shape inference at batch 1)."""
    model = onnx.load(path)
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
    model = onnx.shape_inference.infer_shapes(model)
    shapes = {}
    for v in list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output):
        dims = [d.dim_value for d in v.type.tensor_type.shape.dim]
        shapes[v.name] = dims
    for t in model.graph.initializer:
        shapes[t.name] = list(t.dims)
    macs = 0
    for node in model.graph.node:
        if node.op_type == "Conv":
            w, y = shapes.get(node.input[1]), shapes.get(node.output[0])
            if w and y and all(y):
                macs += int(np.prod(y)) * int(np.prod(w[1:]))
        elif node.op_type in ("Gemm", "MatMul"):
            a, y = shapes.get(node.input[0]), shapes.get(node.output[0])
            if a and y and all(y) and all(a):
                macs += int(np.prod(y)) * a[-1] if node.op_type == "MatMul" or not any(
                    at.name == "transA" and at.i for at in node.attribute) else int(np.prod(y)) * a[0]
    return macs


def ort_forward_seconds(path, x, threads, repeats):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    session.run(None, {name: x[:2]})
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        session.run(None, {name: x})
        best = min(best, time.perf_counter() - start)
    return best


def torch_kernel(model, x, kind, dtype=torch.float32):
    """pntk or trntk of `model` on `x` with torch.func, as described in the module doc."""
    from torch.func import functional_call, grad, vmap

    params = {k: v.detach().to(dtype) for k, v in model.named_parameters()}
    buffers = {k: v.detach().to(dtype) if v.is_floating_point() else v for k, v in model.named_buffers()}
    x = x.to(dtype) if not isinstance(model, real_models.FloatIdsBert) else x

    def logits(p, sample):
        return functional_call(model, (p, buffers), (sample.unsqueeze(0),))[0]

    def flat(g):
        return torch.cat([v.reshape(-1) for v in g.values()])

    if kind == "pntk":
        c = logits(params, x[0]).shape[0]
        g = vmap(grad(lambda p, s: logits(p, s).sum() / c**0.5), in_dims=(None, 0))(params, x)
        rows = torch.cat([v.reshape(x.shape[0], -1) for v in g.values()], 1)
        return rows @ rows.T
    c = logits(params, x[0]).shape[0]
    kernel = torch.zeros(x.shape[0], x.shape[0], dtype=dtype)
    for cls in range(c):
        g = vmap(grad(lambda p, s: logits(p, s)[cls]), in_dims=(None, 0))(params, x)
        rows = torch.cat([v.reshape(x.shape[0], -1) for v in g.values()], 1)
        kernel += rows @ rows.T
        del g, rows
    return kernel


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="resnet18,bert-small,bert-base")
    parser.add_argument("--sizes", default="resnet18=64,bert-small=64,bert-base=16")
    parser.add_argument("--forward-samples", type=int, default=256)
    parser.add_argument("--kinds", default="pntk,trntk")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs per measurement, each side")
    parser.add_argument("--check", type=int, default=4, help="samples in the float64 accuracy check")
    parser.add_argument("--jacobian-samples", type=int, default=8)
    parser.add_argument("--warm", type=float, default=0, help="GiB of memory to touch once before measuring")
    parser.add_argument("--entk", default=str(ROOT / ".build/release/entk"))
    parser.add_argument("--json-out")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.warm > 0:
        np.ones(int(args.warm * 2**30) // 8).sum()
    sizes = dict(item.split("=") for item in args.sizes.split(","))
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        for name in args.models.split(","):
            path = str(scratch / f"{name}.onnx")
            model = real_models.export(name, path)
            parameters = sum(p.numel() for p in model.parameters())
            n = int(sizes[name])
            row = {"model": name, "parameters": parameters, "n": n}

            # Forward: entk's feature stage of --kind em against ONNX Runtime.
            x = real_models.sample_inputs(name, args.forward_samples)
            data = scratch / f"{name}-forward.npy"
            np.save(data, x.numpy())
            best, peak = float("inf"), 0.0
            for _ in range(args.repeats):
                _, summary, rss = run_entk(
                    args.entk, ["kernel", "--backend", "onnx", "--model", path, "--train", str(data), "--kind", "em",
                                "--threads", str(args.threads), "--out", str(scratch / "em")])
                subprocess.run(["rm", "-rf", str(scratch / "em")], check=True)
                best, peak = min(best, summary["run"]["featureSeconds"]), max(peak, rss)
            ort = ort_forward_seconds(path, x.numpy(), args.threads, args.repeats)
            row["forward"] = {"entk_samples_s": len(x) / best, "ort_samples_s": len(x) / ort, "ratio": ort / best,
                              "entk_peak_mib": peak}
            print(f"{name}: forward entk {len(x) / best:8.1f} samples/s, ONNX Runtime {len(x) / ort:8.1f} samples/s, "
                  f"ratio {ort / best:.2f}", flush=True)

            x = real_models.sample_inputs(name, n)
            data = scratch / f"{name}-{n}.npy"
            np.save(data, x.numpy())
            for kind in args.kinds.split(","):
                out = scratch / kind
                entk_s, summary, peak = float("inf"), None, 0.0
                for _ in range(args.repeats):
                    subprocess.run(["rm", "-rf", str(out)], check=True)
                    seconds, candidate, rss = run_entk(
                        args.entk, ["kernel", "--backend", "onnx", "--model", path, "--train", str(data), "--kind",
                                    kind, "--threads", str(args.threads), "--out", str(out)])
                    if seconds < entk_s:
                        entk_s, summary = seconds, candidate
                    peak = max(peak, rss)
                kernel = np.load(out / "kernel.npy")
                torch_s = float("inf")
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    reference = torch_kernel(model, x, kind)
                    torch_s = min(torch_s, time.perf_counter() - start)
                entry = {"entk_s": entk_s, "torch_s": torch_s, "speedup": torch_s / entk_s, "entk_peak_mib": peak,
                         "feature_s": summary["run"]["featureSeconds"], "tiles": summary["run"]["tiles"]}
                k = min(args.check, n)
                exact = torch_kernel(model, x[:k], kind, dtype=torch.float64).numpy()
                entry["rel_error_float64"] = float(np.linalg.norm(kernel[:k, :k] - exact) / np.linalg.norm(exact))
                entry["torch_float32_rel_error"] = float(
                    np.linalg.norm(reference.numpy()[:k, :k] - exact) / np.linalg.norm(exact))
                if kind == "trntk":
                    macs = graph_macs(path, real_models.MODELS[name]["input"])
                    with torch.no_grad():
                        classes = model(x[:1]).shape[1]
                    m = min(n, args.jacobian_samples)
                    subset = scratch / f"{name}-jacobian.npy"
                    np.save(subset, x[:m].numpy())
                    # Best of --repeats, as every other entk time here: the first run's feature stage
                    # is mostly the first touch of its m·C·P floats of fresh memory on this VM
                    # (recorded as jacobian_gflops_first).
                    seconds = []
                    for _ in range(args.repeats):
                        subprocess.run(["rm", "-rf", str(out)], check=True)
                        _, single, _ = run_entk(
                            args.entk, ["kernel", "--backend", "onnx", "--model", path, "--train", str(subset),
                                        "--kind", "trntk", "--factors", "off", "--threads", str(args.threads),
                                        "--memory", f"{max(4, int(m * parameters * classes * 4 * 1.3 / 2**30) + 2)}G",
                                        "--out", str(out)])
                        seconds.append(single["run"]["featureSeconds"])
                    flops = 2 * macs * (1 + 2 * classes) * m
                    entry["jacobian_gflops"] = flops / min(seconds) / 1e9
                    entry["jacobian_gflops_first"] = flops / seconds[0] / 1e9
                    entry["sgemm_gflops"] = sgemm_gflops(2048, 2048, 2048, args.threads, repeats=5)
                    entry["jacobian_vs_sgemm"] = entry["jacobian_gflops"] / entry["sgemm_gflops"]
                row[kind] = entry
                subprocess.run(["rm", "-rf", str(out)], check=True)
                print(f"{name}: {kind} N={n} entk {entk_s:7.2f}s (features {entry['feature_s']:.2f}s, "
                      f"{entry['tiles']} tiles, peak {peak:.0f} MiB)  torch.func {torch_s:7.2f}s  "
                      f"speedup {torch_s / entk_s:5.2f}x  error vs float64 {entry['rel_error_float64']:.1e} "
                      f"(torch float32 {entry['torch_float32_rel_error']:.1e})"
                      + (f"  Jacobian {entry['jacobian_gflops']:.1f} GFLOP/s = "
                         f"{100 * entry['jacobian_vs_sgemm']:.0f}% of sgemm {entry['sgemm_gflops']:.0f} "
                         f"(first run {entry['jacobian_gflops_first']:.1f})"
                         if kind == "trntk" else ""), flush=True)
            results.append(row)
    print()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, threads {args.threads}; "
          f"torch {torch.__version__}")
    print("| model | P | forward entk / ORT (samples/s) | N | pntk entk / torch.func (s) | trntk entk / torch.func (s) "
          "| Jacobian / sgemm | peak RSS (MiB) | error vs float64 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        f, p, t = r["forward"], r.get("pntk"), r.get("trntk")
        pn = f"{p['entk_s']:.2f} / {p['torch_s']:.2f} ({p['speedup']:.2f}×)" if p else "–"
        tr = f"{t['entk_s']:.2f} / {t['torch_s']:.2f} ({t['speedup']:.2f}×)" if t else "–"
        # graph_macs counts only what onnx's shape inference resolves (not BERT's reshaped MatMuls).
        jac = (f"{t['jacobian_gflops']:.0f} / {t['sgemm_gflops']:.0f} ({100 * t['jacobian_vs_sgemm']:.0f}%)"
               if t and t["jacobian_gflops"] > 0 else "–")
        peak = max(x["entk_peak_mib"] for x in (f, p, t) if x)
        err = max(x["rel_error_float64"] for x in (p, t) if x) if (p or t) else float("nan")
        print(f"| {r['model']} | {r['parameters']:,} | {f['entk_samples_s']:.0f} / {f['ort_samples_s']:.0f} "
              f"({f['ratio']:.2f}×) | {r['n']} | {pn} | {tr} | {jac} | {peak:.0f} | {err:.1e} |")
    if args.json_out:
        pathlib.Path(args.json_out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
