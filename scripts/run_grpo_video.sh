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
# Paths given by the user are relative to where they run the script; make them absolute before moving
# to the repository root (the recipes' own relative paths are relative to it).
abs() { if [[ -e "$1" || "$1" == ./* || "$1" == ../* ]]; then realpath -ms "$1"; else echo "$1"; fi; }
MODEL=$(abs "${MODEL:-Video-R1/Qwen2.5-VL-7B-COT-SFT}")
DATA=$(abs "${DATA:-Video-R1-data/Video-R1-260k.json}")
OUTPUT_DIR=$(realpath -ms "${OUTPUT_DIR:-runs/Qwen2.5-VL-7B-T-GRPO}")
[[ -z "${CONFIG:-}" ]] || CONFIG=$(abs "$CONFIG")
[[ -z "${ACCELERATE_CONFIG:-}" ]] || ACCELERATE_CONFIG=$(abs "$ACCELERATE_CONFIG")
[[ -z "${PYTHON:-}" ]] || PYTHON=$(abs "$PYTHON")
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CONFIG=${CONFIG:-configs/grpo_video_7b.yaml}
ACCELERATE_CONFIG=${ACCELERATE_CONFIG:-configs/accelerate/zero3.yaml}
if [[ -z "${GPUS_PER_NODE:-}" ]]; then
  GPUS_PER_NODE=$(nvidia-smi --list-gpus 2>/dev/null | wc -l || true)
  [[ "$GPUS_PER_NODE" -gt 0 ]] || { echo "run_grpo_video.sh: no GPU found; set GPUS_PER_NODE" >&2; exit 1; }
fi
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
MASTER_PORT=${MASTER_PORT:-29500}
PYTHON=${PYTHON:-.venv/bin/python}
export DECORD_EOF_RETRY_MAX=${DECORD_EOF_RETRY_MAX:-20480}   # long videos: decord retries near EOF (as the original)

mkdir -p "$OUTPUT_DIR"
"$PYTHON" -m accelerate.commands.launch \
  --config_file "$ACCELERATE_CONFIG" \
  --num_machines "$NNODES" --machine_rank "$NODE_RANK" \
  --main_process_ip "$MASTER_ADDR" --main_process_port "$MASTER_PORT" \
  --num_processes $((NNODES * GPUS_PER_NODE)) \
  -m video_r1.cli.main grpo --config "$CONFIG" \
  --model_name_or_path "$MODEL" --dataset_name "$DATA" --output_dir "$OUTPUT_DIR" "$@" \
  2>&1 | tee -a "$OUTPUT_DIR/training_log.txt"
