#!/usr/bin/env bash
# T-GRPO (Video-R1 RL stage) with vLLM rollouts (TRL's colocate mode), from one GPU to many nodes.
#
#   bash scripts/run_grpo_vllm.sh [extra --field value overrides for video-r1 grpo]
#
# Same interface as scripts/run_grpo_video.sh (it runs it with a different recipe); environment:
#   MODEL          policy to train, usually the SFT checkpoint    [Video-R1/Qwen2.5-VL-7B-COT-SFT]
#   DATA           Video-R1-260k JSON/JSONL                        [Video-R1-data/Video-R1-260k.json]
#   OUTPUT_DIR     where checkpoints go                            [runs/Qwen2.5-VL-7B-T-GRPO-vllm]
#   CONFIG         recipe                                          [configs/grpo_video_7b_vllm.yaml]
#   ACCELERATE_CONFIG                                              [configs/accelerate/zero3.yaml]
#   GPUS_PER_NODE  processes per node (each also hosts a vLLM engine)   [number of visible GPUs]
#   NNODES, NODE_RANK, MASTER_ADDR, MASTER_PORT  multi-node rendezvous   [1, 0, 127.0.0.1, 29500]
# Needs the GPU stack (bash setup.sh --gpu). Example, one node with 8 GPUs:
#   MODEL=runs/sft bash scripts/run_grpo_vllm.sh --max_steps 1200
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then sed -n '2,17p' "$0"; exit 0; fi
here=$(dirname "${BASH_SOURCE[0]}")
CONFIG=${CONFIG:-$here/../configs/grpo_video_7b_vllm.yaml} \
OUTPUT_DIR=${OUTPUT_DIR:-runs/Qwen2.5-VL-7B-T-GRPO-vllm} \
  exec bash "$here/run_grpo_video.sh" "$@"
