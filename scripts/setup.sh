#!/usr/bin/env bash
# Create .venv at the repository root and install trainmedic with every extra (Keras + TensorFlow, PyTorch,
# Lightning, test tools). Idempotent: a second run only checks. Torch is pinned first to the CPU build
# (any other torch requirement would pull several GB of CUDA packages).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.trainmedic-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -e ".[keras,torch,lightning,dev]"
  touch "$stamp"
fi
