"""Two-process video SFT on CPU through scripts/run_sft_video.sh with DeepSpeed ZeRO-2 (the original's setup)."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from video_r1.data.synthetic import make_synthetic
from video_r1.testing.tiny import build_tiny_checkpoint

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

#: configs/accelerate/zero2.yaml, but on CPU (gloo) with 2 processes and accelerate's own DeepSpeed settings
#: (the GPU json's DeepSpeed AdamW would need the compiled cpu_adam op here).
ZERO2_CPU = """\
compute_environment: LOCAL_MACHINE
distributed_type: DEEPSPEED
deepspeed_config:
  zero_stage: 2
  offload_optimizer_device: none
  offload_param_device: none
  gradient_accumulation_steps: 1
  gradient_clipping: 5.0
machine_rank: 0
main_training_function: main
mixed_precision: 'no'
num_machines: 1
num_processes: 2
use_cpu: true
"""


def _free_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


def test_zero2_two_processes_through_the_launcher(tmp_path):
    build_tiny_checkpoint(tmp_path / "tiny")
    make_synthetic(tmp_path / "data", num_train=8, num_test=2, seed=1, progress=False)
    accelerate_config = tmp_path / "zero2_cpu.yaml"
    accelerate_config.write_text(ZERO2_CPU)
    out = tmp_path / "sft"
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "GPUS_PER_NODE": "2",
        "ACCELERATE_CONFIG": str(accelerate_config),
        "CONFIG": str(REPO / "configs" / "sft_tiny_cpu.yaml"),
        "MODEL": str(tmp_path / "tiny"),
        "DATA": str(tmp_path / "data" / "cot.json"),
        "OUTPUT_DIR": str(out),
        "PYTHON": sys.executable,
        "MASTER_PORT": _free_port(),
    }
    cmd = ["bash", str(REPO / "scripts" / "run_sft_video.sh"), "--max_steps", "2", "--save_steps", "2"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    state = json.loads((out / "checkpoint-2" / "trainer_state.json").read_text())
    steps = [h for h in state["log_history"] if "loss" in h]
    assert [h["step"] for h in steps] == [1, 2] and all(math.isfinite(h["loss"]) for h in steps)
    before = load_file(tmp_path / "tiny" / "model.safetensors")
    after = load_file(out / "model.safetensors")
    assert sum(not torch.equal(before[k], after[k].to(before[k].dtype)) for k in before) > 0
    assert json.loads((out / "config.json").read_text())["use_cache"] is True
    assert (out / "chat_template.jinja").is_file()
