#!/usr/bin/env python3
"""Issue 16's benchmark: how well entk's attributions predict retraining on the digits.

For the swiftnet MLP and CNN (examples/digits/mlp.json, cnn.json) trained on all 1437 training
images, and the first TEST test images (default 100):

- LDS (docs/evaluate.md) of the kGLM on each kernel kind in KINDS and of the grad-dot and grad-cos
  baselines, for one model and for an ensemble of five (seeds 0-4; kernels averaged, baseline
  scores averaged), against K (default 50) models retrained on random halves with the same settings;
- mislabel detection with 10% of the labels flipped (kGLM on trntk and grad-dot self-influence):
  AUC and the fraction found after inspecting 10% of the data.

Everything is kept in WORK (default /tmp/entk-bench-evaluate), so an interrupted run resumes; the
table is printed as Markdown with the wall time of each stage.
Usage: tools/bench/bench_evaluate.py [--work DIR] [--subsets K] [--test M] [--archs mlp,cnn]
(after `swift build -c release`; ENTK= picks the binary)
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENTK = os.environ.get("ENTK", os.path.join(ROOT, ".build/release/entk"))
DIGITS = os.path.join(ROOT, "examples/digits")
EPOCHS = {"mlp": 30, "cnn": 15}
KINDS = ["trntk", "pntk", "em"]
ENSEMBLE = 5


def entk(*arguments, log):
    with open(log, "a") as f:
        subprocess.run([ENTK, *arguments], check=True, stdout=f, stderr=f)


def timed(label, timings, function):
    start = time.time()
    function()
    timings.append((label, time.time() - start))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", default="/tmp/entk-bench-evaluate")
    parser.add_argument("--subsets", type=int, default=50)
    parser.add_argument("--test", type=int, default=100)
    parser.add_argument("--archs", default="mlp,cnn")
    args = parser.parse_args()
    work = args.work
    os.makedirs(work, exist_ok=True)
    log = os.path.join(work, "log.txt")
    data = os.path.join(work, "data")
    os.makedirs(data, exist_ok=True)
    train_x, train_y = os.path.join(DIGITS, "train_x.npy"), os.path.join(DIGITS, "train_y.npy")
    test_x, test_y = os.path.join(data, "test_x.npy"), os.path.join(data, "test_y.npy")
    if not os.path.exists(test_y):
        np.save(test_x, np.load(os.path.join(DIGITS, "test_x.npy"))[: args.test])
        np.save(test_y, np.load(os.path.join(DIGITS, "test_y.npy"))[: args.test])
    timings = []
    rows = []
    mislabel_rows = []
    for arch in args.archs.split(","):
        folder = os.path.join(work, arch)
        os.makedirs(folder, exist_ok=True)
        spec = os.path.join(DIGITS, f"{arch}.json")
        training = ["--arch", spec, "--epochs", str(EPOCHS[arch]), "--seed", "0"]
        models = []
        for seed in range(ENSEMBLE):
            model = os.path.join(folder, f"model-{seed}")
            models.append(model)
            if not os.path.exists(model):
                timed(f"{arch}: train model {seed}", timings, lambda: entk(
                    "train", "--backend", "swiftnet", "--arch", spec, "--train-x", train_x, "--train-y", train_y,
                    "--epochs", str(EPOCHS[arch]), "--seed", str(seed), "--out", model, log=log))
        subsets = os.path.join(folder, "subsets")
        entk("evaluate", "subsets", "--backend", "swiftnet", "--train-x", train_x, "--train-y", train_y,
             "--test-x", test_x, "--test-y", test_y, "--subsets", str(args.subsets), *training, "--out", subsets,
             log=log)
        timed(f"{arch}: retrain {args.subsets} subsets", timings,
              lambda: entk("evaluate", "retrain", subsets, log=log))
        bundles = []
        for kind in KINDS:
            for size in (1, ENSEMBLE):
                bundle = os.path.join(folder, f"{kind}-{size}")
                bundles.append((kind, size, bundle))
                if os.path.exists(os.path.join(bundle, "manifest.json")):
                    continue
                model_args = [a for m in models[:size] for a in ("--model", m)]
                timed(f"{arch}: attribute {kind}, {size} model(s)", timings, lambda: entk(
                    "attribute", "--kind", kind, "--backend", "swiftnet", *model_args, "--train", train_x,
                    "--test", test_x, "--train-labels", train_y, "--test-labels", test_y,
                    "--baseline", "grad-dot", "--baseline", "grad-cos", "--out", bundle, log=log))
        timed(f"{arch}: lds of {len(bundles)} bundles", timings, lambda: entk(
            "evaluate", "lds", subsets, *[a for _, _, b in bundles for a in ("--bundle", b)], log=log))
        for kind, size, bundle in bundles:
            with open(os.path.join(bundle, "metrics.json")) as f:
                metrics = json.load(f)
            for record in metrics["evaluation"]["lds"]:
                if record["method"] != "kglm" and kind != KINDS[0]:
                    continue  # the baselines do not depend on the kernel kind
                name = f"kGLM on {kind}" if record["method"] == "kglm" else record["method"]
                rows.append((arch, name, size, record, metrics["faithfulness"]["networkAccuracy"]))
        mislabel = os.path.join(folder, "mislabel")
        if not os.path.exists(os.path.join(mislabel, "bundle", "manifest.json")):
            timed(f"{arch}: mislabel 10%", timings, lambda: entk(
                "evaluate", "mislabel", "--backend", "swiftnet", "--train-x", train_x, "--train-y", train_y,
                "--test-x", test_x, "--test-y", test_y, "--fraction", "0.1", *training, "--kind", "trntk",
                "--out", mislabel, log=log))
        with open(os.path.join(mislabel, "bundle", "metrics.json")) as f:
            for method in json.load(f)["evaluation"]["mislabel"]["methods"]:
                mislabel_rows.append((arch, method))

    print(f"LDS, {args.subsets} subsets of half the 1437 training images, first {args.test} test images\n")
    print("| model | method | models | LDS | 95% interval | network accuracy |")
    print("|---|---|---|---|---|---|")
    for arch, name, size, record, accuracy in sorted(rows, key=lambda r: (r[0], r[1], r[2])):
        interval = record.get("interval")
        span = f"[{interval['lower']:.3f}, {interval['upper']:.3f}]" if interval else "–"
        value = f"{record['value']:.3f}" if "value" in record else "–"
        print(f"| {arch} | {name} | {size} | {value} | {span} | {100 * accuracy:.2f}% |")
    print("\nMislabel detection, 10% of the training labels flipped\n")
    print("| model | method | AUC | found after 5% | 10% | 20% |")
    print("|---|---|---|---|---|---|")
    for arch, method in mislabel_rows:
        found = " | ".join(f"{100 * i['found']:.1f}%" for i in method["curve"]["inspections"])
        print(f"| {arch} | {method['method']} | {method['curve']['auc']:.3f} | {found} |")
    print("\nWall time per stage\n")
    for label, seconds in timings:
        print(f"- {label}: {seconds:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
