#!/usr/bin/env python3
"""Text models as exported: entk against torch.func on BERT-style classifiers with int64 `input_ids`
and `attention_mask`, one run, one machine.

Models: transformers' BertForSequenceClassification at the two sizes of bench_engine.py
(`bert-small`: 4 layers, hidden 256, 4 heads; `bert-base`: 12 layers, hidden 768, 12 heads; vocabulary
30,522, 2 classes, random weights with perturbed LayerNorms, see real_models.bert), exported by the
legacy exporter exactly as users do: two int64 inputs with dynamic batch and sequence axes, constant
folding off. entk opens them with `{"dims": {"sequence": 64}}`. Data: N sentences of 64 positions,
lengths uniform in 16...64, the rest padding (id 0, mask 0), written as one .npz.

For each model and kind (pntk, trntk, proj-trntk with k = --proj-dim):
- entk: the whole `entk kernel` process with default flags, 2 threads, best of --repeats (a first
  process pays for memory this VM has not handed out recently);
- torch.func, 2 threads, float32: transformers' attention-mask code does not vmap, so per-sample
  gradients come from a loop of grad (pntk: of the summed logits / √C) or jacrev (trntk, C rows);
  the Gram by matmul; for proj-trntk, TRAK's CPU path: the C·N gradient rows times a dense Gaussian
  R (k × P, entries N(0, 1/k)) generated in blocks of 4096 columns;
- the error of both against torch's float64 kernel on the first --check samples (pntk, trntk);
- the word-embedding table's share: entk's pntk and trntk again with the table left out of the
  parameters (`params` patterns); the difference bounds what a sparse "rows" factor for embedding
  gradients could save (a sample's gradient touches at most 64 of the table's 30,522 rows).

Usage (after `swift build -c release`; tools/bench/venv.sh makes the venv):
  .build/bench-venv/bin/python tools/bench/bench_text.py [--models bert-small,bert-base]
      [--sizes bert-small=32,bert-base=8] [--kinds pntk,trntk,proj-trntk] [--proj-dim 1024]
      [--proj-models bert-small] [--repeats 3]
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
import torch

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import real_models  # noqa: E402
from bench_engine import run_entk  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
SEQUENCE = 64
SHAPES = {"bert-small": (4, 256, 4), "bert-base": (12, 768, 12)}


class MaskedBert(torch.nn.Module):
    """BertForSequenceClassification as exported: (input_ids, attention_mask) → logits."""

    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask):
        return self.bert(input_ids=input_ids, attention_mask=attention_mask).logits


def sentences(n, seed=1):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1000, 30522, (n, SEQUENCE), generator=g)
    lengths = torch.randint(16, SEQUENCE + 1, (n,), generator=g)
    mask = (torch.arange(SEQUENCE)[None, :] < lengths[:, None]).long()
    return ids * mask, mask


def export(name, path):
    model = MaskedBert(real_models.bert(*SHAPES[name]).bert).eval()
    ids, mask = sentences(2)
    torch.onnx.export(
        model, (ids, mask), path, input_names=["input_ids", "attention_mask"], output_names=["logits"],
        dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                      "logits": {0: "batch"}},
        opset_version=17, do_constant_folding=False, dynamo=False)
    return model


def gradient_rows(model, ids, mask, kind, dtype):
    """Per-sample gradients by a loop of torch.func: N rows (pntk) or N·C rows (trntk), float `dtype`."""
    from torch.func import functional_call, grad, jacrev

    params = {k: v.detach().to(dtype) for k, v in model.named_parameters()}

    def logits(p, i, m):
        return functional_call(model, p, (i.unsqueeze(0), m.unsqueeze(0)))[0]

    rows = []
    for i, m in zip(ids, mask):
        if kind == "pntk":
            c = 2
            g = grad(lambda p: logits(p, i, m).sum() / c**0.5)(params)
            rows.append(torch.cat([v.reshape(-1) for v in g.values()])[None])
        else:
            j = jacrev(lambda p: logits(p, i, m))(params)
            rows.append(torch.cat([v.reshape(v.shape[0], -1) for v in j.values()], 1))
    return torch.cat(rows)


def torch_kernel(model, ids, mask, kind, k=1024, dtype=torch.float32):
    if dtype == torch.float64:
        model = model.double()
    rows = gradient_rows(model, ids, mask, "pntk" if kind == "pntk" else "trntk", dtype)
    if dtype == torch.float64:
        model.float()
    n = ids.shape[0]
    if kind == "pntk":
        return rows @ rows.T
    if kind == "trntk":
        r = rows.reshape(n, -1, rows.shape[1])
        return torch.einsum("icp,jcp->ij", r, r)
    # proj-trntk, TRAK's CPU path: dense Gaussian blocks applied to all rows.
    g = torch.Generator().manual_seed(0)
    projected = torch.zeros(rows.shape[0], k)
    for start in range(0, rows.shape[1], 4096):
        block = torch.randn(k, min(4096, rows.shape[1] - start), generator=g) / k**0.5
        projected += rows[:, start:start + block.shape[1]] @ block.T
    p = projected.reshape(n, -1, k)
    return torch.einsum("ick,jck->ij", p, p)


def entk_kernel(args, path, data, kind, scratch, options):
    out = scratch / "k"
    best, summary, peak = float("inf"), None, 0.0
    for _ in range(args.repeats):
        subprocess.run(["rm", "-rf", str(out)], check=True)
        extra = ["--proj-dim", str(args.proj_dim)] if kind.startswith("proj") else []
        seconds, candidate, rss = run_entk(
            args.entk, ["kernel", "--backend", "onnx", "--model", path, "--options", json.dumps(options),
                        "--train", str(data), "--kind", kind, "--threads", str(args.threads), "--out", str(out)]
            + extra)
        if seconds < best:
            best, summary = seconds, candidate
        peak = max(peak, rss)
    kernel = np.load(out / "kernel.npy")
    subprocess.run(["rm", "-rf", str(out)], check=True)
    return best, summary, peak, kernel


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="bert-small,bert-base")
    parser.add_argument("--sizes", default="bert-small=32,bert-base=8")
    parser.add_argument("--kinds", default="pntk,trntk,proj-trntk")
    parser.add_argument("--proj-dim", type=int, default=1024)
    parser.add_argument("--proj-models", default="bert-small",
                        help="models that run the projected kinds (BERT-base's dense projection takes many minutes)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs per measurement, each side")
    parser.add_argument("--check", type=int, default=3, help="samples in the float64 accuracy check")
    parser.add_argument("--entk", default=str(ROOT / ".build/release/entk"))
    parser.add_argument("--json-out")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sizes = dict(item.split("=") for item in args.sizes.split(","))
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        for name in args.models.split(","):
            path = str(scratch / f"{name}.onnx")
            model = export(name, path)
            n = int(sizes[name])
            ids, mask = sentences(n)
            data = scratch / f"{name}.npz"
            np.savez(data, input_ids=ids.numpy(), attention_mask=mask.numpy())
            options = {"dims": {"sequence": SEQUENCE}}
            parameters = sum(p.numel() for p in model.parameters())
            table = model.bert.bert.embeddings.word_embeddings.weight.numel()
            row = {"model": name, "parameters": parameters, "word_embeddings": table, "n": n}
            for kind in args.kinds.split(","):
                if kind.startswith("proj") and name not in args.proj_models.split(","):
                    continue
                entk_s, summary, peak, kernel = entk_kernel(args, path, data, kind, scratch, options)
                start = time.perf_counter()
                reference = torch_kernel(model, ids, mask, kind, k=args.proj_dim).numpy()
                torch_s = time.perf_counter() - start
                entry = {"entk_s": entk_s, "torch_s": torch_s, "speedup": torch_s / entk_s, "entk_peak_mib": peak,
                         "feature_s": summary["run"]["featureSeconds"], "gram_s": summary["run"]["gramSeconds"]}
                if not kind.startswith("proj"):
                    c = min(args.check, n)
                    exact = torch_kernel(model, ids[:c], mask[:c], kind, dtype=torch.float64).numpy()
                    entry["entk_error"] = float(np.linalg.norm(kernel[:c, :c] - exact) / np.linalg.norm(exact))
                    entry["torch_error"] = float(np.linalg.norm(reference[:c, :c] - exact) / np.linalg.norm(exact))
                    rest = [f"{p}.*" for p in ("bert.bert.encoder", "bert.bert.pooler", "bert.classifier")] + [
                        "bert.bert.embeddings.position_embeddings.*", "bert.bert.embeddings.token_type_embeddings.*",
                        "bert.bert.embeddings.LayerNorm.*"]
                    without, _, _, _ = entk_kernel(args, path, data, kind, scratch, dict(options, params=rest))
                    entry["without_word_embeddings_s"] = without
                row[kind] = entry
                print(f"{name}: {kind} N={n} entk {entk_s:7.2f}s (features {entry['feature_s']:.2f}s, Gram "
                      f"{entry['gram_s']:.2f}s, peak {peak:.0f} MiB)  torch.func {torch_s:7.2f}s  "
                      f"speedup {torch_s / entk_s:5.2f}x"
                      + (f"  error vs float64 entk {entry['entk_error']:.1e} torch {entry['torch_error']:.1e}"
                         f"  without the word-embedding table {entry['without_word_embeddings_s']:.2f}s"
                         if "entk_error" in entry else ""), flush=True)
            results.append(row)
    print()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, threads {args.threads}; "
          f"torch {torch.__version__}; sequence {SEQUENCE}, k = {args.proj_dim}")
    print("| model | P (word embeddings) | N | kind | entk (s) | torch.func (s) | speedup | entk without the table (s) "
          "| peak RSS (MiB) | error vs float64 entk / torch |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        for kind in args.kinds.split(","):
            e = r.get(kind)
            if not e:
                continue
            without = f"{e['without_word_embeddings_s']:.2f}" if "without_word_embeddings_s" in e else "–"
            error = f"{e['entk_error']:.1e} / {e['torch_error']:.1e}" if "entk_error" in e else "–"
            print(f"| {r['model']} | {r['parameters']:,} ({r['word_embeddings']:,}) | {r['n']} | {kind} | "
                  f"{e['entk_s']:.2f} | {e['torch_s']:.2f} | {e['speedup']:.2f}× | {without} | "
                  f"{e['entk_peak_mib']:.0f} | {error} |")
    if args.json_out:
        pathlib.Path(args.json_out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
