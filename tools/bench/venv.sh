#!/usr/bin/env bash
# Makes the benchmarks' Python environment: a virtual environment at .build/bench-venv (or $1)
# with torch, transformers, onnx, onnxscript, onnxruntime, numpy, scipy and traker (TRAK's CPU
# projector, a baseline) from PyPI. About 6 GB
# (torch's wheels bring their CUDA libraries); never needed by the build, the tests or CI.
# Idempotent: an environment that already imports everything is left as it is.
#
# Usage: tools/bench/venv.sh [DIR]; then DIR/bin/python tools/bench/bench_engine.py ...
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${1:-$root/.build/bench-venv}
modules="torch transformers onnx onnxscript onnxruntime numpy scipy trak"
packages="torch transformers onnx onnxscript onnxruntime numpy scipy traker==0.3.2"
if [[ -x $venv/bin/python ]] && "$venv/bin/python" -c "import ${modules// /, }" 2>/dev/null; then
  echo "venv: $venv is ready" >&2
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet $packages
"$venv/bin/python" -c "import ${modules// /, }"
echo "venv: $venv is ready" >&2
