#!/usr/bin/env bash
# Set up (if needed) and run the main job: diagnose the bundled flat-lining Keras script.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=3 PYTHONWARNINGS=ignore
exec .venv/bin/trainmedic run --exit-zero --html trainmedic-out/report.html --json trainmedic-out/report.json \
  examples/flatline.py
