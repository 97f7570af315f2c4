#!/usr/bin/env python3
"""Recomputes a bundle's linear datamodeling scores from files alone (numpy, scipy), independently
of entk: the margins from each subset's test_logits.npy, the kGLM scores for the test labels from the
bundle's weights and test kernel, the baselines from scores_METHOD.npy, and per test point
scipy.stats.spearmanr over the subsets (indices.npy), averaged over the points where it is defined.

Usage: lds_reference.py RETRAIN_DIR BUNDLE   prints one "method value" line per method and checks
that each subset's margins.npy equals the margins recomputed from its logits (exit 1 otherwise).
"""
import json
import os
import sys
import warnings

import numpy as np
from scipy import stats
from scipy.special import logsumexp


def lds(scores, subsets, margins):
    """Spearman's rho per test point between each subset's summed scores and its margins, averaged
    over the points where it is defined (nan if none). scores: [M, N]; margins: [K, M]."""
    predicted = np.array([scores[:, s].sum(axis=1) for s in subsets])  # [K, M]
    rhos = []
    for x in range(scores.shape[0]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rho = stats.spearmanr(predicted[:, x], margins[:, x]).statistic
        if np.isfinite(rho):
            rhos.append(rho)
    return float(np.mean(rhos)) if rhos else float("nan")


def main(folder, bundle):
    with open(os.path.join(folder, "subsets.json")) as f:
        plan = json.load(f)
    labels = np.load(os.path.join(bundle, "test_labels.npy"))
    subsets, margins = [], []
    for name in sorted(d for d in os.listdir(folder) if d.startswith("subset-")):
        logits = np.load(os.path.join(folder, name, "test_logits.npy")).astype(np.float64)
        others = logits.copy()
        others[np.arange(len(labels)), labels] = -np.inf
        margin = logits[np.arange(len(labels)), labels] - logsumexp(others, axis=1)
        if not np.allclose(margin, np.load(os.path.join(folder, name, "margins.npy")), rtol=1e-12, atol=1e-12):
            print(f"{name}: margins.npy differs from the logits' margins", file=sys.stderr)
            sys.exit(1)
        margins.append(margin)
        subsets.append(np.load(os.path.join(folder, name, "indices.npy")))
    assert len(subsets) == plan["subsetCount"]
    margins = np.array(margins)  # [K, M]

    weights = np.load(os.path.join(bundle, "surrogate_weights.npy"))
    kernel = np.load(os.path.join(bundle, "test_kernel.npy")).astype(np.float64)
    if kernel.ndim == 2:
        kernel = kernel[None]
    layers, m, n = kernel.shape
    w = weights[labels].reshape(m, layers, n).transpose(1, 0, 2)  # [L, M, N]: W_l[t_x, i]
    methods = {"kglm": (w * kernel).sum(axis=0)}
    with open(os.path.join(bundle, "manifest.json")) as f:
        for record in json.load(f).get("baselines", []):
            methods[record["method"]] = np.load(os.path.join(bundle, record["file"])).astype(np.float64)
    for method, scores in methods.items():
        print(method, repr(lds(scores, subsets, margins)))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
