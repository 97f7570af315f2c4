#!/usr/bin/env python3
"""Writes examples/digits: scikit-learn's bundled 8x8 digits (1797 images, 10 classes).

Files (all C-order, little-endian):
  train_x.npy float32 [N_train, 1, 8, 8], pixel values scaled to [0, 1] (raw 0..16 / 16)
  train_y.npy int64   [N_train]
  test_x.npy  float32 [N_test, 1, 8, 8]
  test_y.npy  int64   [N_test]
  all_x.npy   float32 [1797, 1, 8, 8] and all_y.npy int64 [1797]: every image, in sklearn's order
Split: a stratified 80/20 split with a fixed seed (0), so the files are reproducible.
Usage: tools/make_digits.py [OUT_DIR]   (needs scikit-learn; run once, the output is committed)
"""
import pathlib
import sys

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "examples/digits")
out.mkdir(parents=True, exist_ok=True)
digits = load_digits()
x = (digits.images / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
y = digits.target.astype(np.int64)
train_x, test_x, train_y, test_y = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
for name, array in [("train_x", train_x), ("train_y", train_y), ("test_x", test_x), ("test_y", test_y),
                    ("all_x", x), ("all_y", y)]:
    np.save(out / f"{name}.npy", np.ascontiguousarray(array))
print(f"wrote {out}: {len(train_y)} train, {len(test_y)} test")
