#!/usr/bin/env bash
# SFT cold start (Video-R1 Qwen2.5-VL-7B-COT-SFT) on Video-R1-COT-165k with DeepSpeed ZeRO-2, one GPU to many nodes.
#
#   bash scripts/run_sft_video.sh [extra --field value overrides for video-r1 sft]
#
# Settings come from the environment (defaults in brackets):
#   MODEL          model to fine-tune                              [Qwen/Qwen2.5-VL-7B-Instruct]
#   DATA           Video-R1-COT-165k JSON/JSONL                    [Video-R1-data/Video-R1-COT-165k.json]
#   OUTPUT_DIR     where checkpoints and the final model go        [runs/Qwen2.5-VL-7B-COT-SFT]
#   CONFIG         recipe                                          [configs/sft_video_7b.yaml]
#   ACCELERATE_CONFIG                                              [configs/accelerate/zero2.yaml]
#   GPUS_PER_NODE  processes per node                              [number of visible GPUs]
#   NNODES, NODE_RANK, MASTER_ADDR, MASTER_PORT  multi-node rendezvous   [1, 0, 127.0.0.1, 29500]
#   PYTHON         interpreter with video-r1 installed             [.venv/bin/python]
# Example, 2 nodes x 8 GPUs (run on each node with its NODE_RANK); then RL from the result:
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 bash scripts/run_sft_video.sh --gradient_accumulation_steps 1
#   MODEL=runs/Qwen2.5-VL-7B-COT-SFT bash scripts/run_grpo_video.sh
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then sed -n '2,17p' "$0"; exit 0; fi
SUBCOMMAND=sft
DEFAULT_MODEL=Qwen/Qwen2.5-VL-7B-Instruct
DEFAULT_DATA=Video-R1-data/Video-R1-COT-165k.json
DEFAULT_OUTPUT_DIR=runs/Qwen2.5-VL-7B-COT-SFT
DEFAULT_CONFIG=configs/sft_video_7b.yaml
DEFAULT_ACCELERATE_CONFIG=configs/accelerate/zero2.yaml
source "$(dirname "${BASH_SOURCE[0]}")/_launch_training.sh"
