#!/usr/bin/env bash
# The project's test command (README and CI run exactly this): lint, format check, then the whole suite,
# slow multi-process tests included. pytest exits 5 when it collects no tests: that fails here too.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
.venv/bin/ruff check src tests scripts
.venv/bin/ruff format --check src tests scripts
.venv/bin/python -m pytest -q "$@"
