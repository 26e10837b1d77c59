#!/usr/bin/env bash
# Chain-of-thought annotation (how Video-R1-COT-165k was made): a strong model answers every record with the
# original annotation prompt; completions whose accuracy reward is > 0.6 become the SFT file cot.json.
#
#   bash scripts/annotate_cot.sh [extra flags for video-r1 annotate, e.g. --limit 1000 --max_frames 32]
#
# Settings come from the environment (defaults in brackets):
#   MODEL       annotating model                              [Qwen/Qwen2.5-VL-72B-Instruct]
#   DATA        Video-R1-format JSON/JSONL to annotate         [Video-R1-data/Video-R1-260k.json]
#   DATA_ROOT   folder the records' paths are relative to     [the folder holding DATA]
#   OUTPUT_DIR  raw.jsonl, cot.json, summary.json go here     [runs/cot-annotation]
#   BACKEND     vllm (all visible GPUs, tensor parallel) | hf  [vllm]
# Rerunning the same command resumes: records already in OUTPUT_DIR/raw.jsonl are skipped.
# Example, CPU smoke test on the synthetic data with the tiny model:
#   MODEL=runs/tiny DATA=runs/synthetic/train.json BACKEND=hf OUTPUT_DIR=runs/cot-tiny \
#     bash scripts/annotate_cot.sh --preset tiny --max_new_tokens 32 --batch_size 4
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then sed -n '2,16p' "$0"; exit 0; fi
# Paths given by the user are relative to where they run the script; make them absolute first.
abs() { if [[ -e "$1" || "$1" == ./* || "$1" == ../* ]]; then realpath -ms "$1"; else echo "$1"; fi; }
MODEL=$(abs "${MODEL:-Qwen/Qwen2.5-VL-72B-Instruct}")
DATA=$(realpath -ms "${DATA:-Video-R1-data/Video-R1-260k.json}")
OUTPUT_DIR=$(realpath -ms "${OUTPUT_DIR:-runs/cot-annotation}")
BACKEND=${BACKEND:-vllm}
ROOT_ARGS=()
[[ -z "${DATA_ROOT:-}" ]] || ROOT_ARGS=(--data_root "$(realpath -ms "$DATA_ROOT")")
[[ -z "${PYTHON:-}" ]] || PYTHON=$(abs "$PYTHON")
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-.venv/bin/python}
# decord can give up early on long videos; the original raised its EOF retry budget for the same reason.
export DECORD_EOF_RETRY_MAX=${DECORD_EOF_RETRY_MAX:-20480}

mkdir -p "$OUTPUT_DIR"
"$PYTHON" -m video_r1.cli.main annotate \
  --model_name_or_path "$MODEL" --input "$DATA" "${ROOT_ARGS[@]}" --output_dir "$OUTPUT_DIR" \
  --backend "$BACKEND" "$@" \
  2>&1 | tee -a "$OUTPUT_DIR/annotate_log.txt"
