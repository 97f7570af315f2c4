#!/usr/bin/env python3
"""Precision at k of the poisoned training points among the top proponents of the network's
prediction, for each triggered test image of an attribution bundle, averaged (examples/poison/README.md).

The scores are the bundle's attributions to the logit of the class the network predicts at the
image, W[c, l*N + i] k_l(x, x_i) summed over layers (docs/method.md), ranked from the largest (ties
to the smaller index): the training points that explain what the network did. Also reports the
attack success rate: the fraction of triggered images the network predicts as TARGET.

Usage: precision_at_k.py POISONED TARGET OUT.json NAME=BUNDLE [NAME=BUNDLE ...]
"""
import json
import os
import sys

import numpy as np

KS = [5, 10, 20]


def measure(bundle, poisoned, target):
    weights = np.load(os.path.join(bundle, "surrogate_weights.npy"))
    kernel = np.load(os.path.join(bundle, "test_kernel.npy")).astype(np.float64)
    if kernel.ndim == 2:
        kernel = kernel[None]
    layers, m, n = kernel.shape
    predicted = np.load(os.path.join(bundle, "network_test_logits.npy")).argmax(axis=1)
    w = weights[predicted].reshape(m, layers, n).transpose(1, 0, 2)  # [L, M, N]: W_l[c_x, i]
    scores = (w * kernel).sum(axis=0)  # [M, N]
    order = np.argsort(-scores, axis=1, kind="stable")
    hits = np.isin(order, poisoned)
    return {
        "testPoints": int(m),
        "attackSuccessRate": float((predicted == target).mean()),
        "precisionAtK": {str(k): float(hits[:, :k].mean()) for k in KS},
        "poisonedFraction": float(len(poisoned) / n),
    }


def main(poisoned_path, target, out, *bundles):
    poisoned = np.load(poisoned_path)
    result = {name: measure(path, poisoned, int(target)) for name, path in (b.split("=", 1) for b in bundles)}
    with open(out + ".tmp", "w") as f:
        json.dump(result, f, indent=2, sort_keys=True)
    os.replace(out + ".tmp", out)
    print("model      attack success  " + "  ".join(f"precision@{k}" for k in KS) + "  (poisoned fraction)")
    for name, r in result.items():
        precisions = "  ".join(f"{r['precisionAtK'][str(k)]:12.3f}" for k in KS)
        print(f"{name:10} {r['attackSuccessRate']:14.3f}  {precisions}  ({r['poisonedFraction']:.3f})")


if __name__ == "__main__":
    if len(sys.argv) < 5:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
