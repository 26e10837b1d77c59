#!/usr/bin/env bash
# Create ./.venv (Python 3.11) and install the pinned stack plus this package in editable mode.
#
#   bash setup.sh          CPU install: requirements-cpu.txt + requirements.txt (tests, demo)
#   bash setup.sh --gpu    GPU install: requirements-gpu.txt + requirements.txt (vLLM, flash-attn)
#
# Idempotent: re-running on an up-to-date .venv only re-checks the pins. Set PYTHON to choose the
# interpreter (default: python3.11).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
target=cpu
for arg in "$@"; do
  case "$arg" in
    --gpu) target=gpu ;;
    --cpu) target=cpu ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument '$arg' (use --gpu or --cpu)" >&2; exit 2 ;;
  esac
done

PYTHON=${PYTHON:-python3.11}
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "setup.sh: $PYTHON not found; install Python 3.11 or set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv .venv
fi
pip=(.venv/bin/python -m pip install --disable-pip-version-check)

"${pip[@]}" -q --upgrade "pip==26.3" "setuptools==80.9.0" "wheel==0.45.1"

# DeepSpeed ships an sdist whose build imports torch: install torch first, then build the rest
# without build isolation so the sdists see the pinned torch. DS_BUILD_OPS=0 defers op compilation
# to first use (JIT), which is what the CPU/gloo path needs.
export DS_BUILD_OPS=0
if [ "$target" = cpu ]; then
  echo "[setup] installing torch (CPU target): requirements-cpu.txt"
  "${pip[@]}" -r requirements-cpu.txt
  echo "[setup] installing shared pins: requirements.txt"
  "${pip[@]}" --no-build-isolation -r requirements.txt
else
  echo "[setup] installing torch + vLLM (GPU target): requirements-gpu.txt"
  grep -v '^flash-attn' requirements-gpu.txt > .venv/requirements-gpu-noflash.txt
  "${pip[@]}" -r .venv/requirements-gpu-noflash.txt
  "${pip[@]}" --no-build-isolation -r requirements.txt -r .venv/requirements-gpu-noflash.txt
  echo "[setup] building flash-attn against the installed torch (needs CUDA and nvcc)"
  "${pip[@]}" --no-build-isolation "$(grep '^flash-attn' requirements-gpu.txt)"
fi

echo "[setup] installing video-r1 (editable)"
"${pip[@]}" -q --no-deps --no-build-isolation -e .
.venv/bin/python -c "import torch, transformers, trl, video_r1; print(f'[setup] ok: torch {torch.__version__}, transformers {transformers.__version__}, trl {trl.__version__}, video_r1 {video_r1.__version__}')"
