#!/usr/bin/env python3
"""Checks an entk attribution bundle independently of entk.

Validates manifest.json, metrics.json, attributions.json and texts.json (when present) against
schemas/ (JSON Schema draft 2020-12), checks every file's SHA-256 and size against the manifest,
that texts.json has one text per training and test point, and recomputes with
numpy: surrogate logits = W k(x, X) + b from the stored kernel and weights, and every listed
proponent/opponent score W[c, l*N+i] * k_l(x, x_i), and that bias + contributionSum = logit;
baseline scores (scores_METHOD.npy) must be [M, N].

Usage: tools/validate_bundle.py BUNDLE   (exit 0 and "bundle ok" when everything holds)
"""
import hashlib
import json
import os
import sys

import jsonschema
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fail(message):
    print(f"validate_bundle: {message}", file=sys.stderr)
    sys.exit(1)


def main(bundle):
    docs = {}
    names = ["manifest", "metrics", "attributions"]
    if os.path.exists(os.path.join(bundle, "texts.json")):
        names.append("texts")
    for name in names:
        with open(os.path.join(ROOT, "schemas", f"{name}.schema.json")) as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
        with open(os.path.join(bundle, f"{name}.json")) as f:
            docs[name] = json.load(f)
        errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(docs[name]), key=lambda e: list(e.path))
        if errors:
            fail(f"{name}.json: {errors[0].message} at {list(errors[0].path)}")

    manifest = docs["manifest"]
    listed = {entry["path"] for entry in manifest["files"]}
    present = set(os.listdir(bundle)) - {"manifest.json"}
    if listed != present:
        fail(f"manifest lists {sorted(listed ^ present)} differently from the folder")
    for entry in manifest["files"]:
        with open(os.path.join(bundle, entry["path"]), "rb") as f:
            data = f.read()
        if hashlib.sha256(data).hexdigest() != entry["sha256"] or len(data) != entry["bytes"]:
            fail(f"{entry['path']}: checksum or size differs from the manifest")

    load = lambda name: np.load(os.path.join(bundle, name))
    weights, bias = load("surrogate_weights.npy"), load("surrogate_bias.npy")
    test_kernel = load("test_kernel.npy").astype(np.float64)
    if test_kernel.ndim == 2:
        test_kernel = test_kernel[None]
    layers, m, n = test_kernel.shape
    rows = np.concatenate(list(test_kernel), axis=1)  # [M, L*N], layer after layer
    logits = rows @ weights.T + bias
    stored = load("surrogate_test_logits.npy")
    if not np.allclose(logits, stored, rtol=1e-9, atol=1e-9):
        fail(f"surrogate_test_logits.npy differs from W k + b by {np.abs(logits - stored).max()}")

    for part, count in [("train", n), ("test", m)]:
        texts = docs.get("texts", {}).get(part)
        if texts is not None and len(texts) != count:
            fail(f"texts.json: {len(texts)} {part} texts for {count} {part} points")

    for baseline in manifest.get("baselines", []):
        if load(baseline["file"]).shape != (m, n):
            fail(f"{baseline['file']}: shape {load(baseline['file']).shape}, expected {(m, n)}")

    attributions = docs["attributions"]
    for point in attributions["testPoints"]:
        x = point["testIndex"]
        for cls in point["classes"]:
            c = cls["classIndex"]
            if abs(cls["bias"] + cls["contributionSum"] - cls["logit"]) > 1e-9 * max(1, abs(cls["logit"])):
                fail(f"test {x} class {c}: bias + contributions != logit")
            if abs(cls["logit"] - logits[x, c]) > 1e-8 * max(1, abs(logits[x, c])):
                fail(f"test {x} class {c}: logit {cls['logit']} != {logits[x, c]}")
            contributions = (weights[c] * rows[x]).reshape(layers, n).sum(axis=0)
            for entry in cls["proponents"] + cls["opponents"]:
                if abs(contributions[entry["trainIndex"]] - entry["score"]) > 1e-9 * max(1, abs(entry["score"])):
                    fail(f"test {x} class {c} train {entry['trainIndex']}: score differs")
            if cls["proponents"] and abs(cls["proponents"][0]["score"] - contributions.max()) > 1e-12 * max(1, abs(contributions.max())):
                fail(f"test {x} class {c}: first proponent is not the largest contribution")
            if cls["opponents"] and abs(cls["opponents"][0]["score"] - contributions.min()) > 1e-12 * max(1, abs(contributions.min())):
                fail(f"test {x} class {c}: first opponent is not the most negative contribution")
    print("bundle ok")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        fail("usage: validate_bundle.py BUNDLE")
    main(sys.argv[1])
