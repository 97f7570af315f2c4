#!/usr/bin/env python3
"""Grad-dot and grad-cos scores (TracIn at one checkpoint) of swiftnet dense/ReLU MLPs, in numpy.

An independent reference for `entk attribute --baseline`: the per-sample gradient of the softmax
cross-entropy with respect to every weight and bias is back-propagated by hand in float64 from the
model folder's .npy weights (dense layers y = W a + b, W stored [out, in]; flatten and relu only),
never through entk. With several models the scores are averaged over them.

Usage: loss_gradient_reference.py TRAIN_X TRAIN_Y TEST_X TEST_CLASSES OUT_PREFIX MODEL [MODEL ...]
writes OUT_PREFIX-grad-dot.npy and OUT_PREFIX-grad-cos.npy, float64 [M, N].
"""
import json
import os
import sys

import numpy as np


def loss_gradients(folder, x, y):
    with open(os.path.join(folder, "model.json")) as f:
        layers = json.load(f)["layers"]
    params = []
    for layer in layers:
        if layer["type"] == "dense":
            w = np.load(os.path.join(folder, f"{layer['name']}.weight.npy")).astype(np.float64)
            b = np.load(os.path.join(folder, f"{layer['name']}.bias.npy")).astype(np.float64)
            params.append(("dense", w, b))
        elif layer["type"] in ("relu", "flatten"):
            params.append((layer["type"], None, None))
        else:
            raise SystemExit(f"unsupported layer {layer['type']}")
    a = x.reshape(len(x), -1).astype(np.float64)
    activations = []
    for kind, w, b in params:
        activations.append(a)
        if kind == "dense":
            a = a @ w.T + b
        elif kind == "relu":
            a = np.maximum(a, 0)
    p = np.exp(a - a.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    delta = p - np.eye(a.shape[1])[y]  # d loss / d logits, [n, C]
    grads = []
    for (kind, w, b), inp in reversed(list(zip(params, activations))):
        if kind == "dense":
            grads.append(np.einsum("no,ni->noi", delta, inp).reshape(len(x), -1))
            grads.append(delta)
            delta = delta @ w
        elif kind == "relu":
            delta = delta * (inp > 0)
    return np.concatenate(grads, axis=1)


def main(train_x, train_y, test_x, test_classes, prefix, *models):
    x, y = np.load(train_x), np.load(train_y)
    tx, ty = np.load(test_x), np.load(test_classes)
    dot = np.zeros((len(tx), len(x)))
    cos = np.zeros_like(dot)
    for folder in models:
        g, t = loss_gradients(folder, x, y), loss_gradients(folder, tx, ty)
        d = t @ g.T
        dot += d
        norms = np.outer(np.linalg.norm(t, axis=1), np.linalg.norm(g, axis=1))
        cos += np.where(norms > 0, d / np.where(norms > 0, norms, 1), 0)
    np.save(f"{prefix}-grad-dot.npy", dot / len(models))
    np.save(f"{prefix}-grad-cos.npy", cos / len(models))


if __name__ == "__main__":
    if len(sys.argv) < 7:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
