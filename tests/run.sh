#!/usr/bin/env bash
# Install into .venv (CPU torch 2.13.0 first: an unpinned torch pulls GBs of CUDA wheels), lint (ruff, configured
# in pyproject.toml) and run the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q torch==2.13.0
.venv/bin/pip install -q -r requirements-dev.txt
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -q "$@"
