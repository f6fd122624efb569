#!/usr/bin/env bash
# Installs the Python toolchain from Debian 12 packages (no PyPI) and the npm deps for the exporter.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! /usr/bin/python3 -c 'import torch, onnx, numpy, PIL, yaml, omegaconf' 2>/dev/null; then
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends python3 python3-torch libopenblas0-pthread python3-onnx python3-numpy python3-pil python3-yaml python3-omegaconf
fi
[ -d node_modules/onnxruntime-node ] || npm ci
/usr/bin/python3 -c 'import torch, onnx; print("torch", torch.__version__, "onnx", onnx.__version__)'
