#!/usr/bin/env bash
# GPU smoke test, for the first machine with a CUDA GPU (after `bash setup.sh --gpu`). It cannot run on a
# CPU-only machine. What CPU tests already prove (the vLLM requests equal the HF path's after vLLM's real input
# processing) is in README "vLLM: proved on CPU, left for a GPU".
#
#   bash scripts/gpu_smoke.sh                        # the vLLM paths; writes runs/gpu_smoke/, about 2 minutes
#   bash scripts/gpu_smoke.sh --no-vllm              # the HF paths only (a GPU machine without vLLM)
#   bash scripts/gpu_smoke.sh --no-vllm --bench-7b   # + T-GRPO and GRPO step times, peak memory, 7B-shaped
#   OUT=/tmp/smoke bash scripts/gpu_smoke.sh
#
# Default: a tiny bf16 checkpoint sized for vLLM's GPU attention backends (head size 64), 2 T-GRPO steps with
# vLLM colocate rollouts, one `eval --backend vllm`, one `annotate --backend vllm`; then it checks the outputs
# and prints what it checked. --no-vllm instead runs on CUDA in bf16 with HF generate: 2 T-GRPO steps, 2 SFT
# steps, 2 T-GRPO steps with LoRA (r=4), `eval --backend hf`, `annotate --backend hf`. --bench-7b then builds a
# random Qwen2.5-VL-7B-shaped checkpoint locally (the 7B's text and vision layer sizes, the tiny vocabulary:
# 7.21B parameters, bf16, 14.4 GB on disk; no download), trains it with configs/grpo_video_7b.yaml (sdpa, one
# prompt per step, 16 frames of 448x448, full fine-tuning without ZeRO on one GPU, --max_completion_length 256)
# for 4 T-GRPO steps and 4 plain GRPO steps, and prints each step's time, mean completion length and the peak
# GPU memory (76.4 GB measured on an H200: a GPU of 80 GB or more). Exit code 0 = every check passed.
set -euo pipefail
VLLM=1
BENCH=0
for arg in "$@"; do
  case "$arg" in
    --no-vllm) VLLM=0 ;;
    --bench-7b) BENCH=1 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu_smoke.sh: unknown argument $arg (--no-vllm, --bench-7b, --help)" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/gpu_smoke}
PY=${PYTHON:-.venv/bin/python}
run=("$PY" -m video_r1.cli.main)
rm -rf "$OUT" && mkdir -p "$OUT"

echo "[gpu-smoke] tiny checkpoint (text 256 wide, 4 heads of 64; vision 128 wide, 2 heads of 64) + data"
"${run[@]}" make-tiny "$OUT/tiny" --hidden_size 256 --num_attention_heads 4 --num_key_value_heads 2 \
  --intermediate_size 512 --vision_hidden_size 128 --vision_num_heads 2 --vision_intermediate_size 256
"${run[@]}" make-synthetic --output_dir "$OUT/data" --num_train 16 --num_test 8

if [ "$VLLM" = 1 ]; then
  echo "[gpu-smoke] two T-GRPO steps, rollouts on TRL's colocated vLLM engine (ordered + shuffled prompts)"
  "${run[@]}" grpo --config configs/grpo_tiny_cpu.yaml --model_name_or_path "$OUT/tiny" \
    --dataset_name "$OUT/data/train.json" --output_dir "$OUT/grpo" --use_cpu false --bf16 true \
    --use_vllm true --vllm_mode colocate --vllm_gpu_memory_utilization 0.3 --max_steps 2 --save_steps 2

  echo "[gpu-smoke] eval with the vLLM backend"
  "${run[@]}" eval --model_name_or_path "$OUT/grpo" --backend vllm --benchmark_file "synthetic=$OUT/data/test.json" \
    --max_frames 16 --max_new_tokens 32 --max_model_len 4096 --gpu_memory_utilization 0.3 --output_dir "$OUT/eval"

  echo "[gpu-smoke] CoT annotation with the vLLM backend"
  "${run[@]}" annotate --model_name_or_path "$OUT/grpo" --backend vllm --input "$OUT/data/test.json" \
    --preset tiny --max_new_tokens 32 --max_model_len 4096 --gpu_memory_utilization 0.3 --output_dir "$OUT/annotate"

  "$PY" - "$OUT" <<'PYEOF'
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
PYEOF
else
  gpu=(--use_cpu false --bf16 true --dtype bfloat16 --max_steps 2 --save_strategy no)
  echo "[gpu-smoke] two T-GRPO steps, HF-generate rollouts on CUDA"
  "${run[@]}" grpo --config configs/grpo_tiny_cpu.yaml --model_name_or_path "$OUT/tiny" \
    --dataset_name "$OUT/data/train.json" --output_dir "$OUT/grpo" "${gpu[@]}"
  echo "[gpu-smoke] two SFT steps"
  "${run[@]}" sft --config configs/sft_tiny_cpu.yaml --model_name_or_path "$OUT/tiny" \
    --dataset_name "$OUT/data/cot.json" --output_dir "$OUT/sft" "${gpu[@]}"
  echo "[gpu-smoke] two T-GRPO steps with LoRA (r=4)"
  "${run[@]}" grpo --config configs/grpo_tiny_cpu.yaml --model_name_or_path "$OUT/tiny" \
    --dataset_name "$OUT/data/train.json" --output_dir "$OUT/grpo_lora" "${gpu[@]}" --use_peft --lora_r 4 --lora_alpha 8
  echo "[gpu-smoke] eval with the HF backend"
  "${run[@]}" eval --model_name_or_path "$OUT/grpo" --backend hf --device cuda --dtype bfloat16 \
    --benchmark_file "synthetic=$OUT/data/test.json" --max_new_tokens 32 --output_dir "$OUT/eval"
  echo "[gpu-smoke] CoT annotation with the HF backend"
  "${run[@]}" annotate --model_name_or_path "$OUT/grpo" --backend hf --device cuda --dtype bfloat16 \
    --input "$OUT/data/test.json" --max_new_tokens 32 --output_dir "$OUT/annotate"

  "$PY" - "$OUT" <<'PYEOF'
import json, math, sys
from pathlib import Path

out = Path(sys.argv[1])
for run in ("grpo", "sft", "grpo_lora"):
    history = json.loads((out / run / "trainer_state.json").read_text())["log_history"]
    steps = [h for h in history if "loss" in h]
    assert len(steps) == 2 and all(math.isfinite(h["loss"]) for h in steps), (run, steps)
    print(f"[gpu-smoke] ok: {run}: 2 steps on CUDA, losses {[round(h['loss'], 4) for h in steps]}")
assert (out / "grpo_lora" / "adapter_model.safetensors").is_file(), "no LoRA adapter saved"
(results,) = (out / "eval").glob("synthetic_*f.jsonl")
for name, path in (("eval", results), ("annotate", out / "annotate" / "raw.jsonl")):
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    errors = [r for r in rows if r.get("error")]
    assert len(rows) == 8 and not errors, (name, errors[:2])
    print(f"[gpu-smoke] ok: {name} --backend hf generated {len(rows)} samples on CUDA, no errors")
PYEOF
fi

if [ "$BENCH" = 1 ]; then
  echo "[gpu-smoke] bench-7b: random Qwen2.5-VL-7B-shaped checkpoint (bf16, built here) + 16-frame 448x448 data"
  "${run[@]}" make-tiny --output_dir "$OUT/7b" --shape 7b --dtype bfloat16
  "${run[@]}" make-synthetic --output_dir "$OUT/data448" --num_train 16 --num_test 4 --size 448 --num_frames 16
  for arm in tgrpo grpo; do
    temporal=true
    if [ "$arm" = grpo ]; then temporal=false; fi
    echo "[gpu-smoke] bench-7b: 4 steps, --temporal $temporal"
    "$PY" - "$OUT/$arm.peak" grpo --config configs/grpo_video_7b.yaml --model_name_or_path "$OUT/7b" \
      --dataset_name "$OUT/data448/train.json" --output_dir "$OUT/bench_$arm" --attn_implementation sdpa \
      --prompts_per_step 1 --max_completion_length 256 --max_steps 4 --save_strategy no --temporal "$temporal" <<'PYEOF'
import sys

import torch

from video_r1.cli.main import main

code = main(sys.argv[2:])
with open(sys.argv[1], "w") as handle:
    handle.write(f"{torch.cuda.max_memory_allocated() / 1e9:.1f}\n")
sys.exit(code)
PYEOF
  done
  "$PY" - "$OUT" <<'PYEOF'
import json, statistics, sys
from pathlib import Path

out = Path(sys.argv[1])
for arm in ("tgrpo", "grpo"):
    history = json.loads((out / f"bench_{arm}" / "trainer_state.json").read_text())["log_history"]
    steps = [h for h in history if "step_time" in h]
    times = [round(h["step_time"], 1) for h in steps]
    lengths = [round(h.get("completions/mean_length", float("nan"))) for h in steps]
    peak = (out / f"{arm}.peak").read_text().strip()
    print(
        f"[bench-7b] {arm}: step times {times} s (steps 2-4 mean {statistics.mean(times[1:]):.1f} s), mean "
        f"completion lengths {lengths} tokens, peak GPU memory {peak} GB"
    )
PYEOF
fi
