#!/usr/bin/env python3
"""Why the kGLM's LDS is below TracIn's: the LDS (docs/evaluate.md, recomputed as
tools/lds_reference.py does) of the kGLM's scores and of variants built from the same bundle.

    kglm                     W[y, i] k(x, x_i), what `entk evaluate lds` scores (y: x's label)
    kglm, same class         the same, zero where y_i != y (the proponents of x's class)
    kglm, other classes      the same, zero where y_i == y
    own-label weight         W[y_i, i] k(x, x_i), signed +1 where y_i == y, -1/(C-1) elsewhere
    surrogate residual       (e_{y_i} - p_i)_y k(x, x_i), p_i the surrogate's softmax at x_i
    kernel, same class       k(x, x_i) where y_i == y, else 0
    grad-dot                 the bundle's baseline, when it has one

Usage: lds_score_variants.py RETRAIN_DIR BUNDLE (a one-layer kernel; numpy, scipy)
"""
import json
import os
import pathlib
import sys

import numpy as np
from scipy.special import softmax

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from lds_reference import lds  # noqa: E402


def main(folder, bundle):
    test_labels = np.load(os.path.join(bundle, "test_labels.npy"))
    train_labels = np.load(os.path.join(bundle, "train_labels.npy"))
    names = sorted(d for d in os.listdir(folder) if d.startswith("subset-"))
    margins = np.array([np.load(os.path.join(folder, d, "margins.npy")) for d in names])
    subsets = [np.load(os.path.join(folder, d, "indices.npy")) for d in names]
    weights = np.load(os.path.join(bundle, "surrogate_weights.npy")).astype(np.float64)
    bias = np.load(os.path.join(bundle, "surrogate_bias.npy")).astype(np.float64)
    train = np.load(os.path.join(bundle, "train_kernel.npy")).astype(np.float64)
    test = np.load(os.path.join(bundle, "test_kernel.npy")).astype(np.float64)
    if train.ndim != 2:
        sys.exit("a one-layer kernel only")
    n = test.shape[1]
    classes = weights.shape[0]

    same = (train_labels[None, :] == test_labels[:, None]).astype(np.float64)
    signed = same - (1 - same) / (classes - 1)
    kglm = weights[test_labels] * test
    probabilities = softmax(weights @ train + bias[:, None], axis=0)  # [C, N]
    residual = np.eye(classes)[train_labels].T - probabilities
    variants = {
        "kglm": kglm,
        "kglm, same class": kglm * same,
        "kglm, other classes": kglm * (1 - same),
        "own-label weight": weights[train_labels, np.arange(n)][None, :] * test * signed,
        "surrogate residual": residual[test_labels] * test,
        "kernel, same class": test * same,
    }
    with open(os.path.join(bundle, "manifest.json")) as f:
        for record in json.load(f).get("baselines", []):
            if record["method"] == "grad-dot":
                variants["grad-dot"] = np.load(os.path.join(bundle, record["file"])).astype(np.float64)
    for name, scores in variants.items():
        print(f"{name}\t{lds(scores, subsets, margins):.3f}")
    print(f"W[y_i, i] > 0 for {100 * np.mean(weights[train_labels, np.arange(n)] > 0):.1f}% of training points")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
