#!/usr/bin/env python3
"""Reference values for Tests/EvaluationTests, computed independently of entk.

Spearman's rho with scipy.stats.spearmanr, ROC AUC with scipy.stats.mannwhitneyu (AUC = U / (n+ n-)),
and SplitMix64 plus the percentile bootstrap of a mean re-implemented here from their definitions
(docs/evaluate.md), with numpy.quantile for the ends. Run it to print the values the tests hold.
"""
import numpy as np
from scipy import stats

MASK = (1 << 64) - 1


def splitmix64(seed):
    state = seed
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        yield z ^ (z >> 31)


def below(gen, bound):
    threshold = (-bound) % bound
    while True:
        value = next(gen)
        if value >= threshold:
            return value % bound


def bootstrap_mean(values, resamples, seed, level=0.95):
    gen = splitmix64(seed)
    means = []
    for _ in range(resamples):
        means.append(sum(values[below(gen, len(values))] for _ in values) / len(values))
    return np.quantile(means, (1 - level) / 2), np.quantile(means, (1 + level) / 2)


def subset(index, seed, n, size):
    gen = splitmix64(seed ^ ((index * 0x9E3779B97F4A7C15) & MASK))
    order = list(range(n))
    for position in range(size):
        pick = position + below(gen, n - position)
        order[position], order[pick] = order[pick], order[position]
    return sorted(order[:size])


def flips(labels, classes, fraction, seed):
    """LabelFlips: the flipped points and the labels after flipping."""
    n = len(labels)
    count = min(n, max(1, int(np.floor(fraction * n + 0.5))))
    points = subset(0, seed, n, count)
    gen = splitmix64(~seed & MASK)
    out = list(labels)
    for i in points:
        out[i] = (labels[i] + 1 + below(gen, classes - 1)) % classes
    return points, out


if __name__ == "__main__":
    gen = splitmix64(0)
    print("splitmix64(0) first three:", [hex(next(gen)) for _ in range(3)])
    x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    y = [2.0, 1.0, 4.0, 4.0, 6.0, 3.0]
    print("spearman ties:", repr(stats.spearmanr(x, y).statistic))
    a = [0.3, -1.2, 2.5, 0.0, 0.7, 1.1, -0.4, 0.9]
    b = [1.0, -0.5, 0.2, 0.1, 2.0, 1.5, -1.0, 0.3]
    print("spearman a b:", repr(stats.spearmanr(a, b).statistic))
    values = [0.1, 0.4, -0.2, 0.9, 0.5, 0.3, 0.0]
    print("bootstrap(values, 200, seed 7):", [repr(float(v)) for v in bootstrap_mean(values, 200, 7)])
    print("subset(index 3, seed 11, n 10, size 5):", subset(3, 11, 10, 5))
    positives = [0.9, 0.8, 0.35, 0.6]
    negatives = [0.7, 0.2, 0.35, 0.1, 0.4]
    u = stats.mannwhitneyu(positives, negatives).statistic
    print("auc:", repr(u / (len(positives) * len(negatives))))
    print("flips([0..9 mod 3], 3 classes, 0.3, seed 5):", flips([i % 3 for i in range(10)], 3, 0.3, 5))
