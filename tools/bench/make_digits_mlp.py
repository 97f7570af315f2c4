#!/usr/bin/env python3
"""Trains the benchmark model: a 64-32-32-10 tanh MLP on examples/digits (torch, CPU, seed 0),
and writes it as float32 W1.npy, b1.npy, ... for the example-c backend (and tanh_mlp.py).

Usage: tools/bench/make_digits_mlp.py OUT_DIR [--hidden 32,32]
"""
import argparse
import pathlib

import numpy as np
import torch

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--hidden", default="32,32")
parser.add_argument("--data", default="examples/digits")
args = parser.parse_args()

torch.manual_seed(0)
x = torch.from_numpy(np.load(pathlib.Path(args.data) / "train_x.npy")).reshape(-1, 64)
y = torch.from_numpy(np.load(pathlib.Path(args.data) / "train_y.npy")).long()
sizes = [64] + [int(h) for h in args.hidden.split(",")] + [10]
layers = []
for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
    layers.append(torch.nn.Linear(a, b))
    if k < len(sizes) - 2:
        layers.append(torch.nn.Tanh())
net = torch.nn.Sequential(*layers)
optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
for _ in range(300):
    optimizer.zero_grad()
    loss = torch.nn.functional.cross_entropy(net(x), y)
    loss.backward()
    optimizer.step()
out = pathlib.Path(args.out)
out.mkdir(parents=True, exist_ok=True)
linear = [m for m in net if isinstance(m, torch.nn.Linear)]
for k, m in enumerate(linear, start=1):
    np.save(out / f"W{k}.npy", m.weight.detach().numpy().astype(np.float32))
    np.save(out / f"b{k}.npy", m.bias.detach().numpy().astype(np.float32))
accuracy = (net(x).argmax(1) == y).float().mean().item()
print(f"wrote {out}: sizes {sizes}, train loss {loss.item():.4f}, train accuracy {accuracy:.3f}")
