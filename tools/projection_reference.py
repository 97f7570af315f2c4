#!/usr/bin/env python3
"""An independent implementation of entk's projection matrix R (docs/projection.md), in numpy.

    from projection_reference import projection
    R = projection(k, P, seed, "gaussian")        # float32 [k, P]
    R = projection(k, P, seed, "sparse", density=4)

Usage: tools/projection_reference.py K P SEED gaussian|rademacher|sparse OUT.npy [DENSITY]
"""
import sys

import numpy as np

GAMMA = np.uint64(0x9E3779B97F4A7C15)


def splitmix(seed, counters):
    """SplitMix64 output number `counters` (uint64 array) of the stream seeded with `seed`."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + counters * GAMMA + GAMMA
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def draws(rows, columns, seed):
    """The dense draws: output number row*2^32 + column, as uint64 [rows, columns]."""
    r = np.arange(rows, dtype=np.uint64)[:, None]
    c = np.arange(columns, dtype=np.uint64)[None, :]
    return splitmix(seed, (r << np.uint64(32)) | c)


def sparse_column(rows, column, seed, density):
    """Column `column` of a sparse R: its `density` distinct rows in draw order and their signs (±1)."""
    kept, signs, t = [], [], 0
    while len(kept) < density:
        u = splitmix(seed, np.array([(column << 32) | t], dtype=np.uint64))[0]
        t += 1
        row = int((u >> np.uint64(32)) * np.uint64(rows) >> np.uint64(32))
        if row in kept:
            continue
        kept.append(row)
        signs.append(1.0 if int(u) % 2 == 0 else -1.0)
    return kept, signs


def projection(rows, columns, seed, distribution, density=None):
    if distribution == "sparse":
        r = np.zeros((rows, columns), dtype=np.float64)
        for column in range(columns):
            kept, signs = sparse_column(rows, column, seed, density)
            r[kept, column] = np.array(signs) / np.sqrt(density)
        return r.astype(np.float32)
    u = draws(rows, columns, seed)
    scale = 1.0 / np.sqrt(rows)
    if distribution == "rademacher":
        return np.where((u >> np.uint64(63)) == 0, scale, -scale).astype(np.float32)
    u1 = ((u >> np.uint64(32)).astype(np.float64) + 0.5) / 2.0**32
    u2 = ((u & np.uint64(0xFFFFFFFF)).astype(np.float64) + 0.5) / 2.0**32
    return (np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2) * scale).astype(np.float32)


if __name__ == "__main__":
    k, p, seed, distribution, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    density = int(sys.argv[6]) if len(sys.argv) > 6 else None
    np.save(out, projection(k, p, seed, distribution, density))
