#!/usr/bin/env python3
"""Forward + per-sample Jacobian throughput: the swiftnet backend against PyTorch (torch.func).

For each model folder (default: the trained digits MLP, CNN and ResNet in examples/digits), both sides
get the same architecture, the same weights and the same n test inputs, in the same run:
  swiftnet: the backend's `forward` then `jacobian` calls, through its C ABI (ctypes);
  torch:    model(x) under no_grad, then vmap(jacrev(functional_call)) over the batch.
swiftnet writes into output buffers allocated once (the ABI's caller-allocated outputs);
torch.func allocates its result on every call, as it does in use. Each side runs --repeats
times after a warm-up; the median is reported, with the ratio
swiftnet samples/s ÷ torch samples/s (> 1: swiftnet is faster). Both sides use --threads
threads (OpenBLAS via OPENBLAS_NUM_THREADS, set before the library loads; torch via
set_num_threads). The Jacobians of both sides are compared as a check that the same thing is
measured.

Usage: tools/bench/swiftnet_vs_torch.py [--library .build/release/libentk-backend-swiftnet.so]
       [--models DIR ...] [--n 256] [--repeats 5] [--threads 1]
Build the backend first: swift build -c release --product entk-backend-swiftnet
"""
import argparse
import ctypes
import os
import pathlib
import statistics
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]


class ModelInfo(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("input_rank", ctypes.c_int32),
                ("input_shape", ctypes.c_int64 * 8), ("num_outputs", ctypes.c_int64),
                ("num_params", ctypes.c_int64), ("embedding_size", ctypes.c_int64),
                ("num_param_groups", ctypes.c_int64)]


STATUS = ctypes.c_int
FLOATS = ctypes.POINTER(ctypes.c_float)
ERROR = (ctypes.c_char_p, ctypes.c_size_t)


class BackendAPI(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t), ("abi_version_major", ctypes.c_uint32),
        ("abi_version_minor", ctypes.c_uint32), ("name", ctypes.c_char_p), ("version", ctypes.c_char_p),
        ("description", ctypes.c_char_p),
        ("open", ctypes.CFUNCTYPE(STATUS, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p), *ERROR)),
        ("close", ctypes.CFUNCTYPE(None, ctypes.c_void_p)),
        ("describe", ctypes.CFUNCTYPE(STATUS, ctypes.c_void_p, ctypes.POINTER(ModelInfo), *ERROR)),
        ("param_group", ctypes.c_void_p),
        ("forward", ctypes.CFUNCTYPE(STATUS, ctypes.c_void_p, FLOATS, ctypes.c_int64, FLOATS, FLOATS, *ERROR)),
        ("vjp", ctypes.c_void_p),
        ("jacobian", ctypes.CFUNCTYPE(STATUS, ctypes.c_void_p, FLOATS, ctypes.c_int64, FLOATS, *ERROR)),
    ]


class SwiftNet:
    """One open swiftnet model, called through the C ABI."""

    def __init__(self, library, model):
        lib = ctypes.CDLL(str(library))
        lib.entk_backend_v1.restype = ctypes.POINTER(BackendAPI)
        self.api = lib.entk_backend_v1().contents
        self.error = ctypes.create_string_buffer(4096)
        self.handle = ctypes.c_void_p()
        self.check(self.api.open(str(model).encode(), None, ctypes.byref(self.handle), self.error, 4096))
        info = ModelInfo(struct_size=ctypes.sizeof(ModelInfo))
        self.check(self.api.describe(self.handle, ctypes.byref(info), self.error, 4096))
        self.outputs, self.params = info.num_outputs, info.num_params
        self.buffers = None

    def check(self, status):
        if status != 0:
            raise RuntimeError(f"swiftnet call failed ({status}): {self.error.value.decode()}")

    def forward_and_jacobian(self, x):
        n = x.shape[0]
        # The ABI has the caller allocate outputs, so a host reuses its buffers across calls;
        # so does this harness (allocating n x C x P floats per call would mostly time the
        # kernel zeroing fresh pages).
        if self.buffers is None or self.buffers[0].shape[0] != n:
            self.buffers = (np.empty((n, self.outputs), np.float32), np.empty((n, self.outputs, self.params), np.float32))
        logits, jac = self.buffers
        pointer = x.ctypes.data_as(FLOATS)
        self.check(self.api.forward(self.handle, pointer, n, logits.ctypes.data_as(FLOATS), None, self.error, 4096))
        self.check(self.api.jacobian(self.handle, pointer, n, jac.ctypes.data_as(FLOATS), self.error, 4096))
        return logits, jac


def torch_runner(folder):
    import torch
    sys.path.insert(0, str(ROOT / "tools"))
    import swiftnet_torch

    model, named, _ = swiftnet_torch.load_folder(folder)
    stems = [stem for stem in swiftnet_torch.tensors(named) if stem.rsplit(".", 1)[1] in ("weight", "bias")]
    flat = swiftnet_torch.tensors(named)
    by_identity = {id(value): key for key, value in model.named_parameters()}
    keys = [by_identity[id(flat[stem])] for stem in stems]
    params = {key: dict(model.named_parameters())[key].detach() for key in keys}

    def logits_of(p, x):
        return torch.func.functional_call(model, p, (x.unsqueeze(0),))[0]

    jacobian_fn = torch.func.vmap(torch.func.jacrev(logits_of), in_dims=(None, 0))

    def run(x_numpy):
        x = torch.from_numpy(x_numpy)
        with torch.no_grad():
            logits = model(x)
        jac = jacobian_fn(params, x)
        rows = torch.cat([jac[key].reshape(x.shape[0], logits.shape[1], -1) for key in keys], dim=2)
        return logits.numpy(), rows.numpy()

    return run


def median_seconds(functions, x, repeats):
    """Median time of each function; runs alternate so load changes on a shared machine hit
    both sides alike."""
    times = [[] for _ in functions]
    for function in functions:
        function(x)
    for _ in range(repeats):
        for function, samples in zip(functions, times):
            start = time.perf_counter()
            function(x)
            samples.append(time.perf_counter() - start)
    return [statistics.median(samples) for samples in times]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--library", default=str(ROOT / ".build/release/libentk-backend-swiftnet.so"))
    parser.add_argument("--models", nargs="+", default=[str(ROOT / "examples/digits/mlp-trained"),
                                                          str(ROOT / "examples/digits/cnn-trained"),
                                                          str(ROOT / "examples/digits/resnet-trained")])
    parser.add_argument("--data", default=str(ROOT / "examples/digits/test_x.npy"))
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    import torch
    torch.set_num_threads(args.threads)

    x = np.ascontiguousarray(np.load(args.data)[: args.n], dtype=np.float32)
    print(f"n = {x.shape[0]} samples, {args.threads} thread(s), median of {args.repeats}; torch {torch.__version__}")
    print(f"| model | P | C | swiftnet samples/s | torch.func samples/s | ratio (swiftnet / torch) | max rel. Jacobian diff |")
    print(f"|---|---|---|---|---|---|---|")
    for folder in args.models:
        swift = SwiftNet(args.library, folder)
        torch_run = torch_runner(folder)
        _, jac_swift = swift.forward_and_jacobian(x)
        _, jac_torch = torch_run(x)
        difference = np.abs(jac_swift - jac_torch).max() / max(np.abs(jac_torch).max(), 1e-30)
        swift_time, torch_time = median_seconds([swift.forward_and_jacobian, torch_run], x, args.repeats)
        swift_rate, torch_rate = x.shape[0] / swift_time, x.shape[0] / torch_time
        print(f"| {pathlib.Path(folder).name} | {swift.params} | {swift.outputs} | {swift_rate:,.0f} | {torch_rate:,.0f} | "
              f"{swift_rate / torch_rate:.2f} | {difference:.1e} |")


if __name__ == "__main__":
    main()
