#!/usr/bin/env bash
# The whole Video-R1 pipeline in miniature on CPU, no downloads (about 3 minutes on 2 otherwise idle cores:
# 154 s for seed 0, README "Demo"): tiny Qwen2.5-VL -> synthetic frame-order data -> SFT cold start ->
# T-GRPO, evaluated after each stage on ordered and shuffled frames. Writes runs/demo/{report.json,report.md,
# curves.png} and the stage checkpoints (`video-r1 plot --run runs/demo/grpo` draws the T-GRPO curves).
#   bash scripts/demo.sh                 # full run (recipe: configs/demo_cpu.yaml)
#   bash scripts/demo.sh --quick         # every stage for a few steps (smoke test)
#   bash scripts/demo.sh --seed 1 --output_dir runs/demo_seed1
#   bash scripts/demo.sh --help
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m video_r1.cli.main demo --output_dir runs/demo "$@"
