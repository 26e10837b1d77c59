#!/usr/bin/env bash
# Create ./.venv (Python 3.11) and install the pinned stack plus this package in editable mode.
#
#   bash setup.sh              CPU install: requirements-cpu.txt + requirements.txt (tests, demo)
#   bash setup.sh --gpu        GPU install: requirements-gpu.txt + requirements.txt (vLLM, flash-attn)
#   bash setup.sh --vllm-check the GPU pins without flash-attn, into ./.venv-vllm, on any machine (CPU
#                              too): scripts/test.sh pushes the project's requests through vLLM's real
#                              input processing there (tests/vllm_io/test_real_vllm.py)
#
# Idempotent: re-running on an up-to-date venv only re-checks the pins. Set PYTHON to choose the
# interpreter (default: python3.11). --vllm-check installs from the package registry with the machine's
# pip configuration switched off (a local wheel folder may offer a CPU torch build that vLLM's torchvision
# cannot load); VIDEO_R1_KEEP_PIP_CONFIG=1 keeps it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
target=cpu
for arg in "$@"; do
  case "$arg" in
    --gpu) target=gpu ;;
    --cpu) target=cpu ;;
    --vllm-check) target=vllm-check ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument '$arg' (use --cpu, --gpu or --vllm-check)" >&2; exit 2 ;;
  esac
done

PYTHON=${PYTHON:-python3.11}
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "setup.sh: $PYTHON not found; install Python 3.11 or set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
venv=.venv
if [ "$target" = vllm-check ]; then
  venv=.venv-vllm
  if [ -z "${VIDEO_R1_KEEP_PIP_CONFIG:-}" ]; then
    export PIP_CONFIG_FILE=/dev/null
    unset PIP_FIND_LINKS PIP_EXTRA_INDEX_URL PIP_INDEX_URL PIP_CONSTRAINT
  fi
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "[setup] creating $venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip install --disable-pip-version-check)

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
  echo "[setup] installing torch + vLLM ($target target): requirements-gpu.txt without flash-attn"
  grep -v '^flash-attn' requirements-gpu.txt > "$venv/requirements-gpu-noflash.txt"
  "${pip[@]}" -r "$venv/requirements-gpu-noflash.txt"
  "${pip[@]}" --no-build-isolation -r requirements.txt -r "$venv/requirements-gpu-noflash.txt"
  if [ "$target" = gpu ]; then
    echo "[setup] building flash-attn against the installed torch (needs CUDA and nvcc)"
    "${pip[@]}" --no-build-isolation "$(grep '^flash-attn' requirements-gpu.txt)"
  fi
fi

echo "[setup] installing video-r1 (editable)"
"${pip[@]}" -q --no-deps --no-build-isolation -e .
check='import torch, transformers, trl, video_r1; print(f"[setup] ok: torch {torch.__version__}, transformers {transformers.__version__}, trl {trl.__version__}, video_r1 {video_r1.__version__}")'
if [ "$target" != cpu ]; then
  check="$check; import vllm, torchvision.ops; print(f'[setup] ok: vllm {vllm.__version__}')"
fi
VLLM_TARGET_DEVICE=${VLLM_TARGET_DEVICE:-$([ "$target" = vllm-check ] && echo cpu || echo cuda)} "$venv/bin/python" -c "$check"
