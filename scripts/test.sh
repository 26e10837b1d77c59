#!/usr/bin/env bash
# The project's test command (README and CI run exactly this): lint, format check, the whole suite (slow
# multi-process tests included), the smoke run of every scripts/bench_*.py (toy sizes, seconds: a change that
# breaks a benchmark fails here; the full benchmarks stay separate commands), then the real-vLLM
# input-processing tests in .venv-vllm (`bash setup.sh --vllm-check` builds it), then scripts/py_smoke.sh
# (install + torch-free tests under Python 3.12 and 3.13). pytest exits 5 when it collects no tests: that
# fails here too.
#
#   bash scripts/test.sh              everything (CI)
#   bash scripts/test.sh ARGS...      lint + `pytest ARGS` in .venv only (e.g. a path or -k EXPR)
#   VIDEO_R1_SKIP_VLLM=1 bash scripts/test.sh    everything except the vLLM part (prints a warning)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
.venv/bin/ruff check src tests scripts
.venv/bin/ruff format --check src tests scripts
reports=$(mktemp -d)
trap 'rm -rf "$reports"' EXIT
# A test that ends the interpreter early (os._exit) would leave pytest's exit code at 0 with tests not run:
# the JUnit report, written only at the end of the session, proves the session finished.
finished() {
  [ -s "$1" ] || { echo "scripts/test.sh: pytest ended without its final report ($1): the session did not finish" >&2; exit 1; }
}
.venv/bin/python -m pytest -q --junitxml="$reports/main.xml" "$@"
finished "$reports/main.xml"
if [ "$#" -gt 0 ]; then
  echo "[test] arguments given: the benchmark smokes and the real-vLLM tests were not run (bash scripts/test.sh runs them)"
  exit 0
fi
for bench in scripts/bench_*.py; do
  echo "[test] $bench --smoke"
  .venv/bin/python "$bench" --smoke >"$reports/bench.log" 2>&1 || {
    tail -n 40 "$reports/bench.log" >&2
    echo "scripts/test.sh: $bench --smoke failed (the last lines of its output are above)" >&2
    exit 1
  }
  tail -n 1 "$reports/bench.log"
done
if [ -n "${VIDEO_R1_SKIP_VLLM:-}" ]; then
  echo "[test] WARNING: VIDEO_R1_SKIP_VLLM is set: the real-vLLM tests were NOT run" >&2
  exit 0
fi
if [ ! -x .venv-vllm/bin/python ]; then
  echo "scripts/test.sh: .venv-vllm is missing: build it with 'bash setup.sh --vllm-check' (the real-vLLM" \
    "tests run there), or set VIDEO_R1_SKIP_VLLM=1 to skip them locally" >&2
  exit 1
fi
echo "[test] real vLLM input processing (.venv-vllm)"
VLLM_TARGET_DEVICE=cpu VIDEO_R1_REQUIRE_VLLM=1 .venv-vllm/bin/python -m pytest -q -m vllm \
  --junitxml="$reports/vllm.xml" tests/vllm_io
finished "$reports/vllm.xml"
# install + torch-free tests under Python 3.12 and 3.13 (each skipped with a line when not installed)
bash scripts/py_smoke.sh
