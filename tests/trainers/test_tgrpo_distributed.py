"""Two-process T-GRPO on CPU through the real launchers: DDP (torchrun, gloo) and DeepSpeed ZeRO-3
(accelerate launch). Groups span processes: 2 completions per device, 4 generations per prompt."""

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
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("dist")
    build_tiny_checkpoint(root / "tiny")
    make_synthetic(root / "data", num_train=16, num_test=2, seed=1, progress=False)
    return root


def _grpo_args(workdir, out):
    return [
        "-m", "video_r1.cli.main", "grpo",
        "--config", str(REPO / "configs" / "grpo_tiny_cpu.yaml"),
        "--model_name_or_path", str(workdir / "tiny"),
        "--dataset_name", str(workdir / "data" / "train.json"),
        "--output_dir", str(out),
        *_overrides(),
    ]  # fmt: skip


def _overrides():
    return [
        "--max_steps", "3", "--save_steps", "3",
        "--per_device_train_batch_size", "2", "--num_generations", "4", "--shuffled_num_generations", "2",
        "--learning_rate", "1e-2",
        "--reward_funcs", "accuracy", "format", "rewards_for_tests:varied_reward",
    ]  # fmt: skip


def _run(cmd, out, **extra_env):
    # this checkout's package first (a worktree's venv may point its editable install elsewhere), then the
    # folder of rewards_for_tests
    paths = [str(Path(__file__).resolve().parents[2] / "src"), str(Path(__file__).parent)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "OMP_NUM_THREADS": "1", **extra_env}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env, cwd=out.parent)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    state = json.loads((out / "checkpoint-3" / "trainer_state.json").read_text())
    steps = [h for h in state["log_history"] if "loss" in h]
    assert [h["step"] for h in steps] == [1, 2, 3]
    assert all(math.isfinite(h["loss"]) for h in steps)
    assert any(h["loss"] != 0.0 for h in steps)  # the varied reward gives real advantages
    assert any("temporal/bonus_rate" in h for h in steps)  # a video group passed through the contrast
    return steps


def _free_port() -> str:
    """A free TCP port: back-to-back launches on the default 29500 can collide with a closing rendezvous."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


def _changed(workdir, weights):
    before = load_file(workdir / "tiny" / "model.safetensors")
    after = load_file(weights)
    return sum(not torch.equal(before[k], after[k].to(before[k].dtype)) for k in before)


def test_ddp_two_processes(workdir):
    out = workdir / "ddp"
    torchrun = [str(BIN / "torchrun"), "--nproc_per_node", "2", "--master_port", _free_port()]
    _run([*torchrun, *_grpo_args(workdir, out)], out)
    assert _changed(workdir, out / "model.safetensors") > 0


def test_deepspeed_zero3_two_processes_through_the_launcher(workdir):
    """scripts/run_grpo_video.sh with the CPU ZeRO-3 accelerate config: the GPU launcher's own code path."""
    out = workdir / "zero3"
    env = {
        "GPUS_PER_NODE": "2",
        "ACCELERATE_CONFIG": str(REPO / "configs" / "accelerate" / "zero3_cpu.yaml"),
        "CONFIG": str(REPO / "configs" / "grpo_tiny_cpu.yaml"),
        "MODEL": str(workdir / "tiny"),
        "DATA": str(workdir / "data" / "train.json"),
        "OUTPUT_DIR": str(out),
        "PYTHON": sys.executable,
        "MASTER_PORT": _free_port(),
    }
    _run(["bash", str(REPO / "scripts" / "run_grpo_video.sh"), *_overrides()], out, **env)
    assert (out / "checkpoint-3" / "global_step3").is_dir()  # a DeepSpeed (sharded) checkpoint
    assert _changed(workdir, out / "model.safetensors") > 0
