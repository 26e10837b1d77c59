# Shared body of run_grpo_video.sh and run_sft_video.sh: sourced, not run. The caller sets SUBCOMMAND
# (grpo | sft) and DEFAULT_MODEL, DEFAULT_DATA, DEFAULT_OUTPUT_DIR, DEFAULT_CONFIG, DEFAULT_ACCELERATE_CONFIG;
# MODEL, DATA, OUTPUT_DIR, CONFIG, ACCELERATE_CONFIG, GPUS_PER_NODE, NNODES, NODE_RANK, MASTER_ADDR,
# MASTER_PORT and PYTHON come from the environment (see the callers' headers); "$@" goes to video-r1.
launcher=$(basename "$0")
# Paths given by the user are relative to where they run the script; make them absolute before moving
# to the repository root (the recipes' own relative paths are relative to it).
abs() { if [[ -e "$1" || "$1" == ./* || "$1" == ../* ]]; then realpath -ms "$1"; else echo "$1"; fi; }
MODEL=$(abs "${MODEL:-$DEFAULT_MODEL}")
DATA=$(abs "${DATA:-$DEFAULT_DATA}")
OUTPUT_DIR=$(realpath -ms "${OUTPUT_DIR:-$DEFAULT_OUTPUT_DIR}")
[[ -z "${CONFIG:-}" ]] || CONFIG=$(abs "$CONFIG")
[[ -z "${ACCELERATE_CONFIG:-}" ]] || ACCELERATE_CONFIG=$(abs "$ACCELERATE_CONFIG")
[[ -z "${PYTHON:-}" ]] || PYTHON=$(abs "$PYTHON")
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CONFIG=${CONFIG:-$DEFAULT_CONFIG}
ACCELERATE_CONFIG=${ACCELERATE_CONFIG:-$DEFAULT_ACCELERATE_CONFIG}
if [[ -z "${GPUS_PER_NODE:-}" ]]; then
  GPUS_PER_NODE=$(nvidia-smi --list-gpus 2>/dev/null | wc -l || true)
  [[ "$GPUS_PER_NODE" -gt 0 ]] || { echo "$launcher: no GPU found; set GPUS_PER_NODE" >&2; exit 1; }
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
  -m video_r1.cli.main "$SUBCOMMAND" --config "$CONFIG" \
  --model_name_or_path "$MODEL" --dataset_name "$DATA" --output_dir "$OUTPUT_DIR" "$@" \
  2>&1 | tee -a "$OUTPUT_DIR/training_log.txt"
