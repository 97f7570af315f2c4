#!/usr/bin/env bash
# Installs, idempotently, everything entk's build, tests and demo need on Debian:
# OpenBLAS, zlib, ONNX's proto and backend test data, protobuf-c, Slurm and munge, and numpy/jsonschema/scipy/
# scikit-learn for the Python checks in tests. Safe to run repeatedly; does nothing when all is present.
set -euo pipefail

packages=(
  pkg-config
  libopenblas-dev      # BLAS for kernels and backends
  zlib1g-dev           # inflate for .npz data (numpy.savez_compressed)
  libonnx-dev          # onnx.proto, compiled with protoc-c
  libprotobuf-c-dev    # protobuf-c runtime for the ONNX backend
  protobuf-c-compiler  # protoc-c, used by tools/generate-onnx-proto.sh
  libonnx-testdata     # ONNX's own backend test suite
  slurm-wlm munge      # the single-node cluster of the Slurm tests (tools/slurm/cluster.sh)
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! python3 -c "import numpy, jsonschema, scipy, sklearn" 2>/dev/null; then
  echo "setup: installing numpy, jsonschema, scipy, scikit-learn for python3" >&2
  python3 -m pip install --quiet numpy jsonschema scipy scikit-learn
fi
