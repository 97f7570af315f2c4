#!/usr/bin/env python3
"""An independent implementation of entk's projection matrix R (docs/projection.md), in numpy.

    from projection_reference import projection
    R = projection(k, P, seed, "gaussian")   # float32 [k, P]

Usage: tools/projection_reference.py K P SEED gaussian|rademacher OUT.npy
"""
import sys

import numpy as np

GAMMA = np.uint64(0x9E3779B97F4A7C15)


def draws(rows, columns, seed):
    """SplitMix64 output number row*2^32 + column of the stream seeded with `seed`, as uint64."""
    r = np.arange(rows, dtype=np.uint64)[:, None]
    c = np.arange(columns, dtype=np.uint64)[None, :]
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + ((r << np.uint64(32)) | c) * GAMMA + GAMMA
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def projection(rows, columns, seed, distribution):
    u = draws(rows, columns, seed)
    scale = 1.0 / np.sqrt(rows)
    if distribution == "rademacher":
        return np.where((u >> np.uint64(63)) == 0, scale, -scale).astype(np.float32)
    u1 = ((u >> np.uint64(32)).astype(np.float64) + 0.5) / 2.0**32
    u2 = ((u & np.uint64(0xFFFFFFFF)).astype(np.float64) + 0.5) / 2.0**32
    return (np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2) * scale).astype(np.float32)


if __name__ == "__main__":
    k, p, seed, distribution, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    np.save(out, projection(k, p, seed, distribution))
