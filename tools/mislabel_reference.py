#!/usr/bin/env python3
"""Recomputes `entk evaluate mislabel`'s detection AUCs from its output folder with numpy and scipy,
independently of entk: the kGLM's self-influence ||softmax(W k_i + b) - e_y||^2 ||k_i||^2 from the
bundle's weights, bias and train kernel, the network's ||grad loss||^2 by hand back-propagation
(loss_gradient_reference.py, swiftnet dense/ReLU MLPs; for another model, such as an ONNX file a
--retrain-command wrote, only the kGLM's is recomputed), and AUC = U / (n+ n-) with
scipy.stats.mannwhitneyu over the flipped points (flipped.npy) against the others.

Usage: mislabel_reference.py DIR TRAIN_X   prints "kglm AUC" and (swiftnet models) "grad-dot AUC".
"""
import os
import sys

import numpy as np
from scipy import stats
from scipy.special import softmax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loss_gradient_reference import loss_gradients  # noqa: E402


def auc(scores, flagged):
    u = stats.mannwhitneyu(scores[flagged], scores[~flagged]).statistic
    return u / (flagged.sum() * (~flagged).sum())


def main(folder, train_x):
    bundle = os.path.join(folder, "bundle")
    labels = np.load(os.path.join(folder, "noisy_train_y.npy"))
    flagged = np.zeros(len(labels), dtype=bool)
    flagged[np.load(os.path.join(folder, "flipped.npy"))] = True
    kernel = np.load(os.path.join(bundle, "train_kernel.npy")).astype(np.float64)
    if kernel.ndim == 2:
        kernel = kernel[None]
    features = np.concatenate(list(kernel), axis=1)  # [N, L*N]
    logits = features @ np.load(os.path.join(bundle, "surrogate_weights.npy")).T + np.load(
        os.path.join(bundle, "surrogate_bias.npy"))
    residual = softmax(logits, axis=1) - np.eye(logits.shape[1])[labels]
    kglm = (residual**2).sum(axis=1) * (features**2).sum(axis=1)
    print("kglm", repr(float(auc(kglm, flagged))))
    model = os.path.join(folder, "subset-000", "model")
    if os.path.isdir(model):
        gradients = loss_gradients(model, np.load(train_x), labels)
        print("grad-dot", repr(float(auc((gradients**2).sum(axis=1), flagged))))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
