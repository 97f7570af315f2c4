#!/usr/bin/env python3
"""Trains a digits model with PyTorch on given inputs and labels and exports it as ONNX: the
trainer behind `entk evaluate subsets --retrain-command` for ONNX models (docs/evaluate.md).

    cnn  examples/digits/cnn.onnx's architecture (tools/train_digits_cnn.py's DigitsCNN) and its
         training: Adam, learning rate 3e-3, batch 64, 40 epochs
    mlp  the swiftnet MLP's architecture (examples/digits/mlp.json: 64-32-32-10, ReLU) and the
         benchmark's training of it: Adam, learning rate 1e-3, batch 32, 30 epochs

Deterministic for a seed (initialisation and shuffling order; CPU, deterministic algorithms, one
thread). Exported as tools/train_digits_cnn.py does (TorchScript exporter, opset 13, dynamic batch
axis, constant folding off, PyTorch's parameter names). The ONNX file is written to OUT directly
(entk's retraining renames it into place). Needs torch and onnx, which neither the build nor the
tests need.

Usage: tools/train_digits_onnx.py --arch cnn|mlp --x TRAIN_X.npy --y TRAIN_Y.npy --seed S --out MODEL
       [--epochs E]
"""
import argparse
import pathlib
import sys
import warnings

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from train_digits_cnn import DigitsCNN  # noqa: E402


class DigitsMLP(nn.Module):
    """examples/digits/mlp.json in PyTorch: flatten, 64-32-32-10 with ReLU."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 32)
        self.out = nn.Linear(32, 10)

    def forward(self, x):
        x = torch.relu(self.fc1(torch.flatten(x, 1)))
        return self.out(torch.relu(self.fc2(x)))


# architecture: (module, learning rate, batch size, epochs)
ARCHITECTURES = {"cnn": (DigitsCNN, 3e-3, 64, 40), "mlp": (DigitsMLP, 1e-3, 32, 30)}


def train(arch, x, y, seed, epochs=None):
    """The trained module (eval mode) for float32 inputs x [N, 1, 8, 8] and int64 labels y [N]."""
    module, rate, batch, default_epochs = ARCHITECTURES[arch]
    torch.manual_seed(seed)
    model = module()
    optimizer = torch.optim.Adam(model.parameters(), lr=rate)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs or default_epochs):
        model.train()
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(order), batch):
            rows = order[start:start + batch]
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[rows]), y[rows]).backward()
            optimizer.step()
    return model.eval()


def export(model, path):
    torch.onnx.export(
        model, (torch.zeros(1, 1, 8, 8),), str(path), dynamo=False, opset_version=13,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, do_constant_folding=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", choices=sorted(ARCHITECTURES), required=True)
    parser.add_argument("--x", required=True, help="training inputs, float32 [N, 1, 8, 8] (or [N, 64])")
    parser.add_argument("--y", required=True, help="training labels, integers [N] in 0..9")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--out", required=True, help="the ONNX file to write")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    x = torch.from_numpy(np.load(args.x).astype(np.float32)).reshape(-1, 1, 8, 8)
    y = torch.from_numpy(np.load(args.y).astype(np.int64))
    if len(x) != len(y):
        sys.exit(f"{args.x} has {len(x)} inputs, {args.y} {len(y)} labels")
    export(train(args.arch, x, y, args.seed, args.epochs), args.out)


if __name__ == "__main__":
    main()
