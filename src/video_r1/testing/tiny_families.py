"""The tiny offline checkpoint builder of each model family, by ``model_type`` (``video-r1 make-tiny --model_family``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from video_r1.models.checkpoint import SUPPORTED_MODEL_TYPES, check_model_type
from video_r1.testing.tiny import build_tiny_checkpoint
from video_r1.testing.tiny_qwen3_5 import build_tiny_qwen3_5_checkpoint
from video_r1.testing.tiny_qwen3_vl import build_tiny_qwen3_vl_checkpoint

#: ``model_type`` -> ``builder(path, seed=0, **TinySize fields) -> Path``; keys = the supported families.
TINY_BUILDERS: dict[str, Callable[..., Path]] = {
    "qwen2_5_vl": build_tiny_checkpoint,
    "qwen3_vl": build_tiny_qwen3_vl_checkpoint,
    "qwen3_5": build_tiny_qwen3_5_checkpoint,
}
assert set(TINY_BUILDERS) == set(SUPPORTED_MODEL_TYPES), "a supported family has no tiny builder"


def build_tiny(model_family: str, path: str | Path, seed: int = 0, **size_overrides) -> Path:
    """Build the tiny checkpoint of ``model_family`` (a ``model_type``, e.g. ``qwen3_vl``)."""
    check_model_type(model_family, f"--model_family {model_family}")
    return TINY_BUILDERS[model_family](path, seed=seed, **size_overrides)
