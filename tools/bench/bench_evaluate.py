#!/usr/bin/env python3
"""Issue 16's benchmark: how well entk's attributions predict retraining on the digits.

For the digits MLP and CNN trained on all 1437 training images, and the first TEST test images
(default 100), with two backends:

- swiftnet: examples/digits/mlp.json and cnn.json, trained and retrained by entk (the backend's
  train call);
- onnx: the same MLP and examples/digits/cnn.onnx's CNN, trained by PyTorch
  (tools/train_digits_onnx.py, run with this script's Python, which needs torch and onnx) both for
  the original models and, through `--retrain-command`, for the retrained ones;

and for each:

- LDS (docs/evaluate.md) of the kGLM on each kernel kind of --kinds and of the grad-dot and grad-cos
  baselines, for one model and for an ensemble of five (seeds 0-4; kernels averaged, baseline
  scores averaged), against K (default 50) models retrained on random halves with the same settings;
- mislabel detection with 10% of the labels flipped (kGLM on trntk and grad-dot self-influence):
  AUC and the fraction found after inspecting 5, 10 and 20% of the data, the model trained on the
  flipped labels as the retrained ones are (the backend's train call, or the PyTorch trainer through
  `--retrain-command`, seed 0).

Everything is kept in WORK (default /tmp/entk-bench-evaluate), so an interrupted run resumes; the
table is printed as Markdown with the wall time of each stage.
Usage: tools/bench/bench_evaluate.py [--work DIR] [--subsets K] [--test M] [--archs mlp,cnn]
       [--backends swiftnet,onnx] [--kinds trntk,pntk,em]
(after `swift build -c release`; ENTK= picks the binary; for onnx, run it with a Python that has
torch and onnx, e.g. tools/bench/venv.sh's)
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENTK = os.environ.get("ENTK", os.path.join(ROOT, ".build/release/entk"))
DIGITS = os.path.join(ROOT, "examples/digits")
EPOCHS = {"mlp": 30, "cnn": 15}
ENSEMBLE = 5
TRAINER = os.path.join(ROOT, "tools/train_digits_onnx.py")


def entk(*arguments, log):
    with open(log, "a") as f:
        subprocess.run([ENTK, *arguments], check=True, stdout=f, stderr=f)


def timed(label, timings, function):
    start = time.time()
    function()
    timings.append((label, time.time() - start))


def training(backend, arch):
    """The options of `entk evaluate subsets` and `mislabel` that train a model as the originals were:
    the backend's train call for swiftnet, the PyTorch trainer on the subset's files for onnx."""
    if backend == "swiftnet":
        return ["--model", os.path.join(DIGITS, f"{arch}.json"), "--epochs", str(EPOCHS[arch]), "--seed", "0"]
    return ["--retrain-command", f"{shlex.quote(sys.executable)} {shlex.quote(TRAINER)} --arch {arch} "
            "--x {subset}/train_x.npy --y {subset}/train_y.npy --seed {seed} --out {model}"]


def retrained(backend, arch, folder, args, data, timings, log):
    """The ENSEMBLE models trained on all the training data (seeds 0, 1, ...) and the folder of
    models retrained on args.subsets random halves, trained the same way (subset k with seed k)."""
    train_x, train_y, test_x, test_y = data
    name = os.path.basename(folder)
    models = []
    for seed in range(ENSEMBLE):
        model = os.path.join(folder, f"model-{seed}" if backend == "swiftnet" else f"model-{seed}.onnx")
        models.append(model)
        if os.path.exists(model):
            continue
        if backend == "swiftnet":
            train = lambda: entk(
                "train", "--backend", "swiftnet", "--model", os.path.join(DIGITS, f"{arch}.json"), "--train", train_x,
                "--train-labels", train_y, "--epochs", str(EPOCHS[arch]), "--seed", str(seed), "--out", model, log=log)
        else:
            def train():
                with open(log, "a") as f:
                    subprocess.run([sys.executable, TRAINER, "--arch", arch, "--x", train_x, "--y", train_y,
                                    "--seed", str(seed), "--out", model], check=True, stdout=f, stderr=f)
        timed(f"{name}: train model {seed}", timings, train)
    subsets = os.path.join(folder, "subsets")
    entk("evaluate", "subsets", "--backend", backend, "--train", train_x, "--train-labels", train_y,
         "--test", test_x, "--test-labels", test_y, "--subsets", str(args.subsets), *training(backend, arch),
         "--out", subsets, log=log)
    timed(f"{name}: retrain {args.subsets} subsets", timings, lambda: entk("evaluate", "retrain", subsets, log=log))
    return models, subsets


def evaluate(backend, name, folder, models, subsets, kinds, data, rows, timings, log):
    """Attributes with every kernel kind and 1 and ENSEMBLE models, and scores the bundles' LDS."""
    train_x, train_y, test_x, test_y = data
    bundles = []
    for kind in kinds:
        for size in (1, ENSEMBLE):
            bundle = os.path.join(folder, f"{kind}-{size}")
            bundles.append((kind, size, bundle))
            if os.path.exists(os.path.join(bundle, "manifest.json")):
                continue
            model_args = [a for m in models[:size] for a in ("--model", m)]
            timed(f"{name}: attribute {kind}, {size} model(s)", timings, lambda: entk(
                "attribute", "--kind", kind, "--backend", backend, *model_args, "--train", train_x,
                "--test", test_x, "--train-labels", train_y, "--test-labels", test_y,
                "--baseline", "grad-dot", "--baseline", "grad-cos", "--out", bundle, log=log))
    timed(f"{name}: lds of {len(bundles)} bundles", timings, lambda: entk(
        "evaluate", "lds", subsets, *[a for _, _, b in bundles for a in ("--bundle", b)], log=log))
    for kind, size, bundle in bundles:
        with open(os.path.join(bundle, "metrics.json")) as f:
            metrics = json.load(f)
        for record in metrics["evaluation"]["lds"]:
            if record["method"] != "kglm" and kind != kinds[0]:
                continue  # the baselines do not depend on the kernel kind
            method = f"kGLM on {kind}" if record["method"] == "kglm" else record["method"]
            rows.append((name, method, size, record, metrics["faithfulness"]["networkAccuracy"]))


def mislabel(backend, arch, name, folder, data, rows, timings, log):
    """Mislabel detection with 10% flipped labels, the model trained as the originals were."""
    train_x, train_y, test_x, test_y = data
    out = os.path.join(folder, "mislabel")
    if not os.path.exists(os.path.join(out, "bundle", "manifest.json")):
        timed(f"{name}: mislabel 10%", timings, lambda: entk(
            "evaluate", "mislabel", "--backend", backend, "--train", train_x, "--train-labels", train_y,
            "--test", test_x, "--test-labels", test_y, "--fraction", "0.1", *training(backend, arch),
            "--kind", "trntk", "--out", out, log=log))
    with open(os.path.join(out, "bundle", "metrics.json")) as f:
        for method in json.load(f)["evaluation"]["mislabel"]["methods"]:
            rows.append((name, method))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", default="/tmp/entk-bench-evaluate")
    parser.add_argument("--subsets", type=int, default=50)
    parser.add_argument("--test", type=int, default=100)
    parser.add_argument("--archs", default="mlp,cnn")
    parser.add_argument("--backends", default="swiftnet,onnx")
    parser.add_argument("--kinds", default="trntk,pntk,em")
    args = parser.parse_args()
    work = args.work
    os.makedirs(work, exist_ok=True)
    log = os.path.join(work, "log.txt")
    os.makedirs(os.path.join(work, "data"), exist_ok=True)
    train_x, train_y = os.path.join(DIGITS, "train_x.npy"), os.path.join(DIGITS, "train_y.npy")
    test_x, test_y = os.path.join(work, "data", "test_x.npy"), os.path.join(work, "data", "test_y.npy")
    if not os.path.exists(test_y):
        np.save(test_x, np.load(os.path.join(DIGITS, "test_x.npy"))[: args.test])
        np.save(test_y, np.load(os.path.join(DIGITS, "test_y.npy"))[: args.test])
    data = (train_x, train_y, test_x, test_y)
    timings, rows, mislabel_rows = [], [], []
    for backend in args.backends.split(","):
        for arch in args.archs.split(","):
            name = arch if backend == "swiftnet" else f"onnx-{arch}"
            folder = os.path.join(work, name)
            os.makedirs(folder, exist_ok=True)
            models, subsets = retrained(backend, arch, folder, args, data, timings, log)
            evaluate(backend, name, folder, models, subsets, args.kinds.split(","), data, rows, timings, log)
            mislabel(backend, arch, name, folder, data, mislabel_rows, timings, log)

    print(f"LDS, {args.subsets} subsets of half the 1437 training images, first {args.test} test images\n")
    print("| model | method | models | LDS | 95% interval | network accuracy |")
    print("|---|---|---|---|---|---|")
    for name, method, size, record, accuracy in sorted(rows, key=lambda r: (r[0], r[1], r[2])):
        interval = record.get("interval")
        span = f"[{interval['lower']:.3f}, {interval['upper']:.3f}]" if interval else "–"
        value = f"{record['value']:.3f}" if "value" in record else "–"
        print(f"| {name} | {method} | {size} | {value} | {span} | {100 * accuracy:.2f}% |")
    if mislabel_rows:
        print("\nMislabel detection, 10% of the training labels flipped\n")
        print("| model | method | AUC | found after 5% | 10% | 20% |")
        print("|---|---|---|---|---|---|")
        for name, method in mislabel_rows:
            found = " | ".join(f"{100 * i['found']:.1f}%" for i in method["curve"]["inspections"])
            print(f"| {name} | {method['method']} | {method['curve']['auc']:.3f} | {found} |")
    print("\nWall time per stage\n")
    for label, seconds in timings:
        print(f"- {label}: {seconds:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
