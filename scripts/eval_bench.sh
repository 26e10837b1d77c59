#!/usr/bin/env bash
# Evaluate one or more checkpoints on the Video-R1 benchmarks (the original's src/eval_bench.sh loop).
#
#   bash scripts/eval_bench.sh CKPT1 [CKPT2 ...] [-- extra video-r1 eval flags]
#
# Settings come from the environment (defaults in brackets):
#   EVAL_DIR      folder with eval_{benchmark}.json + videos (HF dataset Video-R1/Video-R1-eval)  [Video-R1-eval]
#   OUTPUT_ROOT   results go to OUTPUT_ROOT/<checkpoint folder name>/                             [eval_results]
#   BENCHMARKS    comma list  [vsibench,videommmu,mmvu,mvbench,tempcompass,videomme]
#   MAX_FRAMES    space-separated frame counts                                                    [32]
#   BACKEND       vllm (GPU, the original's engine) or hf                                         [vllm]
#   PYTHON        interpreter                                                                     [.venv/bin/python]
# Rerunning the same command resumes each checkpoint where it stopped. Example:
#   MAX_FRAMES="16 32 64" bash scripts/eval_bench.sh Video-R1/Video-R1-7B runs/grpo/checkpoint-1000 -- --compare original
set -euo pipefail
if [[ $# -eq 0 || "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,14p' "$0"
  [[ $# -eq 0 ]] && exit 2 || exit 0
fi
abs() { if [[ -e "$1" || "$1" == ./* || "$1" == ../* ]]; then realpath -ms "$1"; else echo "$1"; fi; }
CHECKPOINTS=()
while [[ $# -gt 0 && "$1" != "--" ]]; do CHECKPOINTS+=("$(abs "$1")"); shift; done
[[ "${1:-}" == "--" ]] && shift
EVAL_DIR=$(realpath -ms "${EVAL_DIR:-Video-R1-eval}")
OUTPUT_ROOT=$(realpath -ms "${OUTPUT_ROOT:-eval_results}")
BENCHMARKS=${BENCHMARKS:-vsibench,videommmu,mmvu,mvbench,tempcompass,videomme}
MAX_FRAMES=${MAX_FRAMES:-32}
BACKEND=${BACKEND:-vllm}
[[ -z "${PYTHON:-}" ]] || PYTHON=$(abs "$PYTHON")
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-.venv/bin/python}
# As the original: let decord retry long reads near the end of big videos instead of failing.
export DECORD_EOF_RETRY_MAX=${DECORD_EOF_RETRY_MAX:-20480}

status=0
for ckpt in "${CHECKPOINTS[@]}"; do
  name=$(basename "$ckpt")
  out="$OUTPUT_ROOT/$name"
  echo "=== $ckpt -> $out"
  # shellcheck disable=SC2086  # MAX_FRAMES is a space-separated list on purpose
  if ! "$PYTHON" -m video_r1.cli.main eval \
      --model_name_or_path "$ckpt" --eval_dir "$EVAL_DIR" --benchmarks "$BENCHMARKS" \
      --max_frames $MAX_FRAMES --backend "$BACKEND" --output_dir "$out" "$@"; then
    echo "eval_bench.sh: $ckpt failed (rerun the same command to resume)" >&2
    status=1
  fi
done
exit $status
