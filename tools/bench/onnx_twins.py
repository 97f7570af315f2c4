"""Torch twins of ONNX models for the benchmark, with the ONNX file's own weights.

    onnx-cnn:FILE   examples/digits/cnn.onnx's architecture (tools/train_digits_cnn.py DigitsCNN)
    onnx-mlp:FILE   a tanh MLP exported by export_mlp_onnx() (Gemm/Tanh chain)

Each loader returns (params, forward) like tanh_mlp.load: params an ordered dict of float32
tensors in the ONNX initializer order (= the ONNX backend's flat parameter order), forward(params,
x) the logits of one sample, for torch.func.vmap/jacrev.
"""
import pathlib
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

ROOT = pathlib.Path(__file__).resolve().parents[2]


def initializers(path):
    model = onnx.load(str(path))
    return {t.name: torch.from_numpy(numpy_helper.to_array(t).astype(np.float32).copy()) for t in model.graph.initializer}


def load_cnn(path):
    sys.path.insert(0, str(ROOT / "tools"))
    from train_digits_cnn import DigitsCNN

    module = DigitsCNN().eval()
    params = initializers(path)

    def forward(p, x):
        return torch.func.functional_call(module, p, (x.reshape(1, 1, 8, 8),))[0]

    return params, forward


def export_mlp_onnx(folder, out):
    """Writes the tanh MLP of folder (W1.npy, b1.npy, ...) as ONNX (Gemm + Tanh, opset 13)."""
    import tanh_mlp

    params, _ = tanh_mlp.load(folder)
    layers = []
    k = 1
    while f"W{k}" in params:
        linear = torch.nn.Linear(params[f"W{k}"].shape[1], params[f"W{k}"].shape[0])
        with torch.no_grad():
            linear.weight.copy_(params[f"W{k}"])
            linear.bias.copy_(params[f"b{k}"])
        layers.append(linear)
        if f"W{k + 1}" in params:
            layers.append(torch.nn.Tanh())
        k += 1
    net = torch.nn.Sequential(torch.nn.Flatten(), *layers).eval()
    torch.onnx.export(
        net, (torch.zeros(1, 1, 8, 8),), str(out), dynamo=False, opset_version=13, input_names=["input"],
        output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        do_constant_folding=False)


def load_mlp(path):
    params = initializers(path)
    names = list(params)

    def forward(p, x):
        a = x.reshape(-1)
        for i in range(0, len(names), 2):
            a = p[names[i]] @ a + p[names[i + 1]]
            if i + 2 < len(names):
                a = torch.tanh(a)
        return a

    return params, forward
