#!/usr/bin/env python3
"""Poisons the digits training set with a backdoor trigger (examples/poison/README.md).

Stamps a TRIGGER x TRIGGER square of the brightest pixel value in the bottom-right corner of a
seeded FRACTION of the training images whose label is not TARGET and relabels them TARGET; stamps
the same trigger on the test images whose label is not TARGET. numpy only.

Usage: make_poison.py TRAIN_X TRAIN_Y TEST_X TEST_Y OUT FRACTION SEED TARGET TRIGGER [TRAIN_SAMPLES]
(the first TRAIN_SAMPLES training images only, when given and not empty) writes into OUT: train_x.npy, train_y.npy (poisoned), poisoned.npy (int64 indices of the poisoned
training points), clean_train_x.npy, clean_train_y.npy, triggered_test_x.npy, triggered_test_y.npy (true labels).
Files are written under temporary names and renamed, so an interrupted run leaves none half-written.
"""
import os
import sys

import numpy as np


def stamp(images, size, value):
    out = images.copy()
    out[..., -size:, -size:] = value
    return out


def save(folder, name, array):
    path = os.path.join(folder, name)
    np.save(path + ".tmp.npy", array)
    os.replace(path + ".tmp.npy", path)


def main(train_x, train_y, test_x, test_y, out, fraction, seed, target, trigger, train_samples=""):
    fraction, seed, target, trigger = float(fraction), int(seed), int(target), int(trigger)
    x, y = np.load(train_x), np.load(train_y)
    if train_samples:
        x, y = x[: int(train_samples)], y[: int(train_samples)]
    tx, ty = np.load(test_x), np.load(test_y)
    value = x.max()
    candidates = np.flatnonzero(y != target)
    count = max(1, int(round(fraction * len(y))))
    poisoned = np.sort(np.random.default_rng(seed).choice(candidates, size=count, replace=False)).astype(np.int64)
    px, py = x.copy(), y.copy()
    px[poisoned] = stamp(x[poisoned], trigger, value)
    py[poisoned] = target
    keep = ty != target
    os.makedirs(out, exist_ok=True)
    save(out, "clean_train_x.npy", x.astype(np.float32))
    save(out, "train_x.npy", px.astype(np.float32))
    save(out, "train_y.npy", py.astype(np.int64))
    save(out, "clean_train_y.npy", y.astype(np.int64))
    save(out, "poisoned.npy", poisoned)
    save(out, "triggered_test_x.npy", stamp(tx[keep], trigger, value).astype(np.float32))
    save(out, "triggered_test_y.npy", ty[keep].astype(np.int64))


if __name__ == "__main__":
    if len(sys.argv) not in (10, 11):
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
