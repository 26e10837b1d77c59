#!/usr/bin/env bash
# GPU smoke test of every vLLM path, for the first machine with a CUDA GPU (after `bash setup.sh --gpu`).
# It cannot run on a CPU-only machine: vLLM's engine needs a GPU. What CPU tests already prove (the requests
# equal the HF path's after vLLM's real input processing) is in README "vLLM: proved on CPU, left for a GPU".
#
#   bash scripts/gpu_smoke.sh                 # writes runs/gpu_smoke/, about 2 minutes on one GPU
#   OUT=/tmp/smoke bash scripts/gpu_smoke.sh
#
# Steps: a tiny bf16 checkpoint sized for vLLM's GPU attention backends (head size 64), 2 T-GRPO steps with
# vLLM colocate rollouts, one `eval --backend vllm`, one `annotate --backend vllm`; then it checks the outputs
# and prints what it checked. Exit code 0 = every check passed.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/gpu_smoke}
run=(.venv/bin/python -m video_r1.cli.main)
rm -rf "$OUT" && mkdir -p "$OUT"

echo "[gpu-smoke] 1/4 tiny checkpoint (text 256 wide, 4 heads of 64; vision 128 wide, 2 heads of 64) + data"
"${run[@]}" make-tiny "$OUT/tiny" --hidden_size 256 --num_attention_heads 4 --num_key_value_heads 2 \
  --intermediate_size 512 --vision_hidden_size 128 --vision_num_heads 2 --vision_intermediate_size 256
"${run[@]}" make-synthetic --output_dir "$OUT/data" --num_train 16 --num_test 8

echo "[gpu-smoke] 2/4 two T-GRPO steps, rollouts on TRL's colocated vLLM engine (ordered + shuffled prompts)"
"${run[@]}" grpo --config configs/grpo_tiny_cpu.yaml --model_name_or_path "$OUT/tiny" \
  --dataset_name "$OUT/data/train.json" --output_dir "$OUT/grpo" --use_cpu false --bf16 true \
  --use_vllm true --vllm_mode colocate --vllm_gpu_memory_utilization 0.3 --max_steps 2 --save_steps 2

echo "[gpu-smoke] 3/4 eval with the vLLM backend"
"${run[@]}" eval --model_name_or_path "$OUT/grpo" --backend vllm --benchmark_file "synthetic=$OUT/data/test.json" \
  --max_frames 16 --max_new_tokens 32 --max_model_len 4096 --gpu_memory_utilization 0.3 --output_dir "$OUT/eval"

echo "[gpu-smoke] 4/4 CoT annotation with the vLLM backend"
"${run[@]}" annotate --model_name_or_path "$OUT/grpo" --backend vllm --input "$OUT/data/test.json" \
  --preset tiny --max_new_tokens 32 --max_model_len 4096 --gpu_memory_utilization 0.3 --output_dir "$OUT/annotate"

.venv/bin/python - "$OUT" <<'EOF'
import json, math, sys
from pathlib import Path

out = Path(sys.argv[1])
state = json.loads((out / "grpo" / "checkpoint-2" / "trainer_state.json").read_text())
steps = [h for h in state["log_history"] if "loss" in h]
assert len(steps) == 2 and all(math.isfinite(h["loss"]) for h in steps), steps
assert any("temporal/shuffled_accuracy" in h for h in steps), "no shuffled rollout was scored"
print(f"[gpu-smoke] ok: 2 T-GRPO steps with vLLM rollouts, losses {[round(h['loss'], 4) for h in steps]}")
rows = [json.loads(line) for line in (out / "eval" / "synthetic_16f.jsonl").read_text().splitlines()]
errors = [r for r in rows if r.get("error")]
assert rows and not errors, errors[:2]
print(f"[gpu-smoke] ok: eval scored {len(rows)} samples with vLLM, no errors")
raw = [json.loads(line) for line in (out / "annotate" / "raw.jsonl").read_text().splitlines()]
errors = [r for r in raw if r.get("error")]
assert len(raw) == 8 and not errors, errors[:2]
print(f"[gpu-smoke] ok: annotate generated {len(raw)} completions with vLLM, no errors")
EOF
