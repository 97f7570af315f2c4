#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (tools/fuzz/corpus/TARGET/) from the test fixtures and
small outputs of the built entk: a valid input of each shape a target reads, joined with the
separator FuzzInput.swift splits on. Run once; the seeds are committed.

Usage: tools/fuzz/make_seeds.py ENTK   (the entk executable, e.g. .build/debug/entk)
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import numpy as np

SEPARATOR = b"\n@@@@\n"
ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tools/fuzz/corpus"
FIXTURES = ROOT / "Tests/Fixtures"


def write(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def run(entk, *arguments):
    subprocess.run([entk, *arguments], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def arrays():
    for name in ["f4_3x4_v1.npy", "f8_scalar_v1.npy", "i8_3x4_v1.npy", "u1_3x4_v1.npy", "f4_2x3x2_v2.npy",
                 "f4_5_v3.npy"]:
        write("arrays", name, (FIXTURES / "npy" / name).read_bytes())
    write("arrays", "samples.csv", b"a,b,c\n1,2,3\n4.5,-6,7e-3\n# comment\n")
    for name in ["stored.npz", "compressed.npz"]:
        write("arrays", name, (FIXTURES / "npz" / name).read_bytes())
    write("arrays", "sentences.txt", "the soup was tasty .\r\n\nle café était froid .\n".encode())


def kernel_folder(entk, scratch):
    model = FIXTURES / "kernel-mlp"
    train = str(model / "train.npy")
    for name, kind, extra in [("trntk-1x1", "trntk", []), ("layers-2x2", "layers", ["--tile-size", "12"])]:
        out = scratch / name
        grid_tiles = [(0, 0)] if not extra else [(0, 0), (0, 1), (1, 1)]
        for row, column in grid_tiles:
            run(entk, "kernel", "--backend", "example-c", "--model", str(model), "--train", train, "--kind", kind,
                "--threads", "1", "--tile", f"{row},{column}", "--out", str(out), *extra)
        parts = [(out / "kernel.json").read_bytes()]
        for row, column in grid_tiles:
            stem = out / "tiles" / f"tile-{row}-{column}"
            parts += [stem.with_suffix(".json").read_bytes(), stem.with_suffix(".npy").read_bytes()]
        write("kernel-folder", name, SEPARATOR.join(parts))


def bundle(entk, scratch):
    rng = np.random.default_rng(14)
    n, m, c = 12, 4, 3
    x_train = rng.normal(size=(n, 1, 2, 2)).astype(np.float32)
    x_test = rng.normal(size=(m, 1, 2, 2)).astype(np.float32)
    flat_train, flat_test = x_train.reshape(n, -1), x_test.reshape(m, -1)
    for layers, texts in [(1, False), (2, False), (1, True)]:
        k_train = np.exp(-((flat_train[:, None] - flat_train[None]) ** 2).sum(-1) / 4).astype(np.float32)
        k_test = np.exp(-((flat_test[:, None] - flat_train[None]) ** 2).sum(-1) / 4).astype(np.float32)
        if layers == 2:
            k_train, k_test = np.stack([0.4 * k_train, 0.6 * k_train]), np.stack([0.4 * k_test, 0.6 * k_test])
        files = {"train_kernel.npy": k_train, "test_kernel.npy": k_test,
                 "train_labels.npy": np.arange(n) % c, "test_labels.npy": np.arange(m) % c,
                 "test_logits.npy": rng.normal(size=(m, c)).astype(np.float32),
                 "train_x.npy": x_train, "test_x.npy": x_test}
        seed = f"texts-{layers}" if texts else f"layers-{layers}"
        folder = scratch / f"bundle-inputs-{seed}"
        folder.mkdir()
        for name, array in files.items():
            np.save(folder / name, array)
        extra = []
        if texts:
            for part, count in [("train", n), ("test", m)]:
                (folder / f"{part}.txt").write_text("".join(f"{part} <b>{i}</b> & café\n" for i in range(count)))
                extra += [f"--{part}-text", str(folder / f"{part}.txt")]
        out = scratch / f"bundle-{seed}"
        run(entk, "attribute", "--train-kernel", str(folder / "train_kernel.npy"),
            "--test-kernel", str(folder / "test_kernel.npy"), "--train-labels", str(folder / "train_labels.npy"),
            "--test-labels", str(folder / "test_labels.npy"), "--test-logits", str(folder / "test_logits.npy"),
            "--train", str(folder / "train_x.npy"), "--test", str(folder / "test_x.npy"), "--top-k", "3",
            "--out", str(out), *extra)
        # The order bundle.swift assigns parts to files in; an absent file is an empty part.
        names = ["manifest.json", "metrics.json", "attributions.json", "train_kernel.npy", "test_kernel.npy",
                 "surrogate_weights.npy", "surrogate_bias.npy", "network_test_logits.npy",
                 "surrogate_test_logits.npy", "train_labels.npy", "test_labels.npy", "train_inputs.npy",
                 "test_inputs.npy"] + (["fit_targets.npy", "texts.json"] if texts else [])
        write("bundle", seed, SEPARATOR.join((out / name).read_bytes() if (out / name).exists() else b""
                                             for name in names))


def onnx():
    for name in ["mlp-legacy.onnx", "cnn-legacy.onnx", "cnn-dynamo.onnx", "int-input.onnx"]:
        write("onnx", name, (FIXTURES / "onnx" / name).read_bytes())


def swiftnet():
    for name in ["swiftnet-mlp", "swiftnet-cnn"]:
        folder = FIXTURES / name
        parts = [(folder / "model.json").read_bytes()]
        for tensor in sorted(folder.glob("*.npy")):
            if tensor.name[0].isdigit():
                parts.append(tensor.name.encode() + b"\n" + tensor.read_bytes())
        write("swiftnet", name, SEPARATOR.join(parts))


def main():
    entk = os.path.abspath(sys.argv[1])
    shutil.rmtree(CORPUS, ignore_errors=True)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        arrays()
        kernel_folder(entk, scratch)
        bundle(entk, scratch)
        onnx()
        swiftnet()


if __name__ == "__main__":
    main()
