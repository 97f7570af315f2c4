#!/usr/bin/env python3
"""Trains the demo's small CNN on examples/digits and exports it as examples/digits/cnn.onnx.

Deterministic (seed 0, deterministic algorithms, CPU). Exported with the TorchScript-based
exporter (dynamo=False, opset 13, dynamic batch axis, constant folding off) so the ONNX
initializers keep PyTorch's parameter names (conv1.weight, ..., fc2.bias). Prints the test
accuracy; fails if it is below 96%. Needs torch and onnx; run from any directory.
"""
import pathlib
import warnings

import numpy as np
import torch
from torch import nn

DIGITS = pathlib.Path(__file__).resolve().parents[1] / "examples" / "digits"


class DigitsCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(32 * 2 * 2, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        return self.fc2(torch.relu(self.fc1(torch.flatten(x, 1))))


def main():
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    train_x = torch.from_numpy(np.load(DIGITS / "train_x.npy"))
    train_y = torch.from_numpy(np.load(DIGITS / "train_y.npy"))
    test_x = torch.from_numpy(np.load(DIGITS / "test_x.npy"))
    test_y = torch.from_numpy(np.load(DIGITS / "test_y.npy"))
    model = DigitsCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    for epoch in range(40):
        model.train()
        order = torch.randperm(len(train_x), generator=generator)
        for start in range(0, len(order), 64):
            batch = order[start:start + 64]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(train_x[batch]), train_y[batch])
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(test_x).argmax(1) == test_y).float().mean().item()
    print(f"test accuracy {accuracy:.4f} ({len(test_x)} samples)")
    if accuracy < 0.96:
        raise SystemExit("accuracy below 96%")
    path = DIGITS / "cnn.onnx"
    torch.onnx.export(
        model, (test_x[:1],), str(path), dynamo=False, opset_version=13,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        do_constant_folding=False)
    print("wrote", path)


if __name__ == "__main__":
    main()
