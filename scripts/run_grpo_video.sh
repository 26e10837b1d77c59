#!/usr/bin/env bash
# T-GRPO (Video-R1 RL stage) with HF-generate rollouts on DeepSpeed ZeRO-3, from one GPU to many nodes.
#
#   bash scripts/run_grpo_video.sh [extra --field value overrides for video-r1 grpo]
#
# Settings come from the environment (defaults in brackets):
#   MODEL          policy to train, usually the SFT checkpoint    [Video-R1/Qwen2.5-VL-7B-COT-SFT]
#   DATA           Video-R1-260k JSON/JSONL                        [Video-R1-data/Video-R1-260k.json]
#   OUTPUT_DIR     where checkpoints go                            [runs/Qwen2.5-VL-7B-T-GRPO]
#   CONFIG         recipe                                          [configs/grpo_video_7b.yaml]
#   ACCELERATE_CONFIG                                              [configs/accelerate/zero3.yaml]
#   GPUS_PER_NODE  processes per node                              [number of visible GPUs]
#   NNODES, NODE_RANK, MASTER_ADDR, MASTER_PORT  multi-node rendezvous   [1, 0, 127.0.0.1, 29500]
# Example, 2 nodes x 8 GPUs (run on each node with its NODE_RANK):
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 MODEL=runs/sft bash scripts/run_grpo_video.sh --max_steps 1200
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then sed -n '2,17p' "$0"; exit 0; fi
SUBCOMMAND=grpo
DEFAULT_MODEL=Video-R1/Qwen2.5-VL-7B-COT-SFT
DEFAULT_DATA=Video-R1-data/Video-R1-260k.json
DEFAULT_OUTPUT_DIR=runs/Qwen2.5-VL-7B-T-GRPO
DEFAULT_CONFIG=configs/grpo_video_7b.yaml
DEFAULT_ACCELERATE_CONFIG=configs/accelerate/zero3.yaml
source "$(dirname "${BASH_SOURCE[0]}")/_launch_training.sh"
