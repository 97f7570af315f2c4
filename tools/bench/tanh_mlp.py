"""The example-c model in torch: a tanh MLP read from a folder of W1.npy, b1.npy, ... (float32).

Same function and the same flat parameter order as Plugins/ExampleC (W1 row-major, b1, W2, b2,
...), so torch.func Jacobians line up with the backend's and kernels can be compared directly.
"""
import pathlib

import numpy as np
import torch


def load(folder):
    """Returns (params, forward): params a dict of float32 tensors, forward(params, x) -> logits
    for one sample x (flattened) so it composes with torch.func.vmap/jacrev."""
    folder = pathlib.Path(folder)
    layers = 0
    while (folder / f"W{layers + 1}.npy").exists():
        layers += 1
    params = {}  # W1, b1, W2, b2, ...: example-c's flat parameter order
    for k in range(1, layers + 1):
        params[f"W{k}"] = torch.from_numpy(np.load(folder / f"W{k}.npy")).float()
        params[f"b{k}"] = torch.from_numpy(np.load(folder / f"b{k}.npy")).float()

    def forward(p, x):
        a = x.reshape(-1)
        for k in range(1, layers + 1):
            a = p[f"W{k}"] @ a + p[f"b{k}"]
            if k < layers:
                a = torch.tanh(a)
        return a

    def embedding(p, x):
        a = x.reshape(-1)
        for k in range(1, layers):
            a = torch.tanh(p[f"W{k}"] @ a + p[f"b{k}"])
        return a

    forward.embedding = embedding
    forward.layers = layers
    return params, forward


def jacobians(params, forward, x):
    """Per-sample Jacobians, float32 [N, C, P], parameters in the order of `params` (a dict in
    the backend's flat parameter order)."""
    from torch.func import jacrev, vmap

    jac = vmap(jacrev(forward), in_dims=(None, 0))(params, x)
    n = x.shape[0]
    parts = [jac[name].reshape(n, jac[name].shape[1], -1) for name in params]
    return torch.cat(parts, dim=2)
