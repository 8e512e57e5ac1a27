#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite (Keras on the TensorFlow backend in-process, the torch
# backend in subprocess tests; browser tests in headless Chromium, installed here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -f scripts/install_browser.sh ]; then bash scripts/install_browser.sh || echo "chromium unavailable: browser tests will be skipped"; fi
export TF_CPP_MIN_LOG_LEVEL=3 PYTHONWARNINGS=ignore
exec .venv/bin/python -m pytest -n 2 -q "$@"
