"""Shared fixtures: the tiny offline Qwen2.5-VL, Qwen3-VL and Qwen3.5 checkpoints (built once per session) and the shared media."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_VIDEO = REPO_ROOT.parent / "shared" / "media" / "video1.mp4"


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A complete tiny Qwen2.5-VL checkpoint directory, built offline once per test session."""
    from video_r1.testing.tiny import build_tiny_checkpoint

    return Path(build_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "ckpt", seed=0))


@pytest.fixture(scope="session")
def tiny_qwen3_vl_checkpoint(tmp_path_factory) -> Path:
    """A complete tiny Qwen3-VL checkpoint directory, built offline once per test session."""
    from video_r1.testing.tiny_qwen3_vl import build_tiny_qwen3_vl_checkpoint

    return Path(build_tiny_qwen3_vl_checkpoint(tmp_path_factory.mktemp("tiny3") / "ckpt", seed=0))


@pytest.fixture(scope="session")
def tiny_qwen3_5_checkpoint(tmp_path_factory) -> Path:
    """A complete tiny Qwen3.5 checkpoint directory, built offline once per test session."""
    from video_r1.testing.tiny_qwen3_5 import build_tiny_qwen3_5_checkpoint

    return Path(build_tiny_qwen3_5_checkpoint(tmp_path_factory.mktemp("tiny35") / "ckpt", seed=0))


@pytest.fixture(scope="session")
def shared_video() -> Path:
    """The real 22 s 640x360 h264 clip in ../shared/media; tests using it skip when it is absent."""
    if not SHARED_VIDEO.is_file():
        pytest.skip(f"{SHARED_VIDEO} not present (../shared is absent)")
    return SHARED_VIDEO


@pytest.fixture(scope="session")
def synthetic_data(tmp_path_factory) -> dict[str, Path]:
    """A small synthetic Video-R1-format dataset (videos + images, train/cot/test JSON), built once."""
    from video_r1.data.synthetic import make_synthetic

    return make_synthetic(
        tmp_path_factory.mktemp("synthetic"),
        num_train=16,
        num_test=8,
        seed=0,
        image_fraction=0.25,
        progress=False,
    )


@pytest.fixture
def stock_mrope(monkeypatch):
    """transformers' own Qwen2.5-VL positions for the duration of a test (the project's install is undone),
    so a test can prove that a code path installs the released rule itself."""
    from transformers.models.qwen2_5_vl import modeling_qwen2_5_vl

    from video_r1.models.qwen2_5_vl import install_released_mrope

    install_released_mrope()  # keeps transformers' method as `transformers_get_rope_index`
    cls = modeling_qwen2_5_vl.Qwen2_5_VLModel
    monkeypatch.setattr(cls, "get_rope_index", cls.transformers_get_rope_index)
    return cls


@pytest.fixture
def tiny_cpu_args(tmp_path):
    """Factory of a small CPU training config for the tiny model: ``tiny_cpu_args(TGRPOConfig, max_steps=2)``.

    Settings: :mod:`video_r1.testing.configs` (one step, fp32 on CPU, no saving; RL: 2 prompts x 2 completions
    per device, 1 shuffled completion, 6 new tokens); output in the test's ``tmp_path / "out"``.
    """
    from video_r1.testing.configs import tiny_cpu_args

    def make(config_cls, **overrides):
        overrides.setdefault("output_dir", str(tmp_path / "out"))
        return tiny_cpu_args(config_cls, **overrides)

    return make


@pytest.fixture
def tgrpo_config(tiny_cpu_args):
    """``tiny_cpu_args`` for :class:`~video_r1.trainers.TGRPOConfig`: ``tgrpo_config(max_steps=2, ...)``."""
    from video_r1.trainers import TGRPOConfig

    return lambda **overrides: tiny_cpu_args(TGRPOConfig, **overrides)
