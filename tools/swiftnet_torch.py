"""PyTorch twin of a swiftnet model: builds torch modules from a swiftnet architecture
(schemas/swiftnet-model.schema.json) and moves tensors between them and a model folder
(`<layer>.<tensor>.npy`). Used by tools/ scripts only (fixtures, benchmarks), never at runtime.

The modules are PyTorch's own (Linear, Conv2d, BatchNorm2d, ...), so values computed with them
are an independent reference for the Swift implementation.
"""
import json
import pathlib

import numpy as np
import torch
from torch import nn

TENSORS = ("weight", "bias", "running_mean", "running_var")


class Residual(nn.Module):
    """output = body(x) + shortcut(x); an empty shortcut is the identity."""

    def __init__(self, body, shortcut):
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


def _pair(value, default):
    if value is None:
        value = default
    return tuple(value) if isinstance(value, list) else (value, value)


def _sequence(layers, prefix, shape, named):
    modules = []
    for index, spec in enumerate(layers):
        name = spec.get("name", f"{prefix}{index}")
        kind = spec["type"]
        if kind == "dense":
            module = nn.Linear(shape[0], spec["out_features"], bias=spec.get("bias", True))
        elif kind == "conv2d":
            kernel = _pair(spec["kernel_size"], None)
            module = nn.Conv2d(shape[0], spec["out_channels"], kernel, stride=_pair(spec.get("stride"), 1),
                               padding=_pair(spec.get("padding"), 0), dilation=_pair(spec.get("dilation"), 1),
                               groups=spec.get("groups", 1), bias=spec.get("bias", True))
        elif kind in ("maxpool2d", "avgpool2d"):
            kernel = _pair(spec["kernel_size"], None)
            stride = _pair(spec.get("stride"), list(kernel))
            padding = _pair(spec.get("padding"), 0)
            if kind == "maxpool2d":
                module = nn.MaxPool2d(kernel, stride=stride, padding=padding)
            else:
                module = nn.AvgPool2d(kernel, stride=stride, padding=padding,
                                      count_include_pad=spec.get("count_include_pad", True))
        elif kind == "globalavgpool":
            module = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        elif kind == "flatten":
            module = nn.Flatten()
        elif kind == "batchnorm2d":
            module = nn.BatchNorm2d(shape[0], eps=spec.get("eps", 1e-5))
        elif kind == "relu":
            module = nn.ReLU()
        elif kind == "leakyrelu":
            module = nn.LeakyReLU(spec.get("negative_slope", 0.01))
        elif kind == "tanh":
            module = nn.Tanh()
        elif kind == "sigmoid":
            module = nn.Sigmoid()
        elif kind == "gelu":
            module = nn.GELU()
        elif kind == "softplus":
            module = nn.Softplus(beta=spec.get("beta", 1), threshold=spec.get("threshold", 20))
        elif kind == "residual":
            body, _ = _sequence(spec["body"], f"{name}.body.", shape, named)
            shortcut, _ = _sequence(spec.get("shortcut", []), f"{name}.shortcut.", shape, named)
            module = Residual(body, shortcut)
        else:
            raise ValueError(f"unknown layer type {kind}")
        named[name] = module
        modules.append(module)
        with torch.no_grad():
            shape = list(module.eval()(torch.zeros(1, *shape)).shape[1:])
    return nn.Sequential(*modules), shape


def build(architecture):
    """Returns (model, layers): the torch model in eval mode and {swiftnet layer name: module}."""
    named = {}
    model, _ = _sequence(architecture["layers"], "", architecture["input_shape"], named)
    return model.eval(), named


def tensors(named):
    """{file stem: tensor} for every parameter and BatchNorm statistic, swiftnet naming."""
    result = {}
    for name, module in named.items():
        if isinstance(module, Residual):
            continue
        for suffix in TENSORS:
            value = getattr(module, suffix, None)
            if isinstance(value, torch.Tensor):
                result[f"{name}.{suffix}"] = value
    return result


def save_folder(folder, architecture, named):
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.json").write_text(json.dumps(architecture, indent=2) + "\n")
    for stem, value in tensors(named).items():
        np.save(folder / f"{stem}.npy", value.detach().numpy().astype(np.float32))


def load_folder(folder):
    """Reads a swiftnet model folder into a torch model (eval mode)."""
    folder = pathlib.Path(folder)
    architecture = json.loads((folder / "model.json").read_text())
    model, named = build(architecture)
    with torch.no_grad():
        for stem, value in tensors(named).items():
            value.copy_(torch.from_numpy(np.load(folder / f"{stem}.npy")))
    return model, named, architecture


def last_dense(model):
    """The last top-level Linear: its input is swiftnet's embedding."""
    return [m for m in model if isinstance(m, nn.Linear)][-1]
