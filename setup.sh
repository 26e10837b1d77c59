#!/usr/bin/env bash
# Create ./.venv (Python 3.11 by default; 3.12 and 3.13 work too) and install the pinned stack plus this package in editable mode.
#
#   bash setup.sh              CPU install: requirements-cpu.txt + requirements.txt (tests, demo)
#   bash setup.sh --gpu        GPU install: requirements-gpu.txt + requirements.txt (vLLM, flash-attn)
#   bash setup.sh --vllm-check the GPU pins without flash-attn, into ./.venv-vllm, on any machine (CPU
#                              too): scripts/test.sh pushes the project's requests through vLLM's real
#                              input processing there (tests/vllm_io/test_real_vllm.py)
#
# Idempotent: re-running on an up-to-date venv only re-checks the pins (quietly). Set PYTHON to choose the
# interpreter (default: python3.11; 3.11 to 3.13 are supported). On a machine without an NVIDIA GPU the CPU
# target takes torch/torchvision (same versions) from PyTorch's CPU wheel index (VIDEO_R1_TORCH_INDEX), which
# has no CUDA libraries (about 1 GB instead of 6 GB); when that index does not answer within 5 s it falls back
# to the default index (which may give a CUDA build); the last lines say which build was installed. --vllm-check installs from the package registry with the machine's
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
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument '$arg' (use --cpu, --gpu or --vllm-check)" >&2; exit 2 ;;
  esac
done

PYTHON=${PYTHON:-python3.11}
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "setup.sh: $PYTHON not found; install Python 3.11 (or 3.12, 3.13) or set PYTHON=/path/to/python3.X" >&2
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
pip=(quiet "$venv/bin/python" -m pip install --disable-pip-version-check)
# A re-run prints what changed, not one "Requirement already satisfied" line per package.
quiet() { "$@" 2>&1 | { grep -v '^Requirement already satisfied' || true; }; }

"${pip[@]}" -q --upgrade "pip==26.3" "setuptools==80.9.0" "wheel==0.45.1"

TORCH_CPU_INDEX=${VIDEO_R1_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}
# The torch/torchvision install of the CPU target: PyTorch's CPU wheels when this machine has no NVIDIA GPU
# and their index answers in time, else the default index (pip's configuration).
install_cpu_torch() {
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "[setup] an NVIDIA GPU is present: torch from the default index"
    "${pip[@]}" -r requirements-cpu.txt
  elif "$venv/bin/python" - "$TORCH_CPU_INDEX" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1].rstrip("/") + "/torch/", timeout=5).close()
except Exception:
    sys.exit(1)
PY
  then
    echo "[setup] no NVIDIA GPU: torch from PyTorch's CPU wheel index ($TORCH_CPU_INDEX)"
    "${pip[@]}" --timeout 30 --extra-index-url "$TORCH_CPU_INDEX" --only-binary torch,torchvision \
      -r requirements-cpu.txt
  else
    echo "[setup] no NVIDIA GPU, but $TORCH_CPU_INDEX did not answer within 5 s: torch from the default index"
    "${pip[@]}" -r requirements-cpu.txt
  fi
}

# DeepSpeed ships an sdist whose build imports torch: install torch first, then build the rest
# without build isolation so the sdists see the pinned torch. DS_BUILD_OPS=0 defers op compilation
# to first use (JIT), which is what the CPU/gloo path needs.
export DS_BUILD_OPS=0
if [ "$target" = cpu ]; then
  echo "[setup] installing torch (CPU target): requirements-cpu.txt"
  install_cpu_torch
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
check='import torch, transformers, trl, video_r1; build = f"CUDA {torch.version.cuda} build" if torch.version.cuda else "CPU-only build"; print(f"[setup] ok: torch {torch.__version__} ({build}), transformers {transformers.__version__}, trl {trl.__version__}, video_r1 {video_r1.__version__}")'
if [ "$target" != cpu ]; then
  check="$check; import vllm, torchvision.ops; print(f'[setup] ok: vllm {vllm.__version__}')"
fi
VLLM_TARGET_DEVICE=${VLLM_TARGET_DEVICE:-$([ "$target" = vllm-check ] && echo cpu || echo cuda)} "$venv/bin/python" -c "$check"
