"""Which model, which engine, how to sample: the settings ``video-r1 eval`` and ``video-r1 annotate`` share.

:class:`GenerationArguments` is a documented dataclass (every field has ``help``) parsed like the trainers'
configs: from a YAML file with ``--config`` plus ``--field value`` flags. The two commands subclass it with
their own defaults (evaluation decodes like the original ``eval_bench.py``, annotation like
``generate_cot_vllm.py``) and their own fields, so the flag names and checks are the same everywhere.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from video_r1 import inference
from video_r1.data.vision import TEMPORAL_ROPE_MODES, VIDEO_BACKENDS, VisionPreset, get_preset
from video_r1.inference import BACKENDS, SamplingConfig

DTYPES = ("auto", "bfloat16", "float16", "float32")
#: The file the trainers write beside every saved model (:mod:`video_r1.trainers.run_record`).
RUN_RECORD_NAME = "video_r1_run.json"


def read_run_record(model_path: str | os.PathLike[str] | None) -> dict[str, Any] | None:
    """The media settings a checkpoint was trained with (its :data:`RUN_RECORD_NAME`), or ``None`` (a Hub id,
    an older run, no file, or a file that does not parse: the caller then uses its own defaults)."""
    if not model_path:
        return None
    path = Path(os.fspath(model_path)).expanduser() / RUN_RECORD_NAME
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


@dataclass
class GenerationArguments:
    """Model, engine and sampling settings of a generation run."""

    model_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": "Checkpoint folder or Hub id (cached) to generate with.",
            "aliases": ["--model_path"],
        },
    )
    backend: str = field(
        default="vllm",
        metadata={
            "help": "vllm: the original's engine (GPU only; tensor parallel over the visible GPUs). hf: "
            "transformers generate (CPU or GPU).",
            "choices": list(BACKENDS),
        },
    )
    batch_size: int | None = field(default=None, metadata={"help": "Samples per generate call."})
    dtype: str = field(
        default="auto",
        metadata={
            "help": "Model dtype (auto: the checkpoint's, bfloat16 for Qwen2.5-VL).",
            "choices": list(DTYPES),
        },
    )
    device: str | None = field(
        default=None,
        metadata={
            "help": "hf backend only: cpu, cuda, cuda:N or auto (device_map=auto over the GPUs); default cuda "
            "when available, else cpu."
        },
    )
    temperature: float = field(default=1.0, metadata={"help": "Sampling temperature; 0 = greedy."})
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling mass, in (0, 1]."})
    max_new_tokens: int = field(default=512, metadata={"help": "Generated tokens per sample at most."})
    seed: int | None = field(
        default=None,
        metadata={"help": "Sampling seed (vLLM engine seed / per-batch torch seed); none = unseeded."},
    )
    video_backend: str = field(
        default="decord",
        metadata={
            "help": "Video decoder tried first; the other is the fallback.",
            "choices": list(VIDEO_BACKENDS),
        },
    )
    temporal_rope: str = field(
        default="sampled_fps",
        metadata={
            "help": "Temporal M-RoPE spacing given to the model: sampled_fps passes the real sampled frame rate "
            "(as the original's evaluation and annotation did); fixed_2fps = 1 s per temporal patch (the "
            "original's training).",
            "choices": list(TEMPORAL_ROPE_MODES),
        },
    )
    tensor_parallel_size: int | None = field(
        default=None, metadata={"help": "vllm backend: GPUs per model (default: every visible GPU)."}
    )
    max_model_len: int = field(default=16384, metadata={"help": "vllm backend: context length in tokens."})
    max_prompt_length: int | None = field(
        default=None,
        metadata={
            "help": "Longest prompt (text + vision tokens) a sample may have; a longer one becomes that sample's "
            "error instead of stalling the run (default: max_model_len - max_new_tokens, what vLLM can take)."
        },
    )
    gpu_memory_utilization: float = field(
        default=0.8, metadata={"help": "vllm backend: fraction of GPU memory the engine may use, in (0, 1]."}
    )
    retry_errors: bool = field(
        default=False,
        metadata={"help": "On resume, generate again the samples whose earlier attempt ended in an error."},
    )
    progress: bool = field(default=True, metadata={"help": "Show progress bars (--no_progress hides them)."})

    def __post_init__(self) -> None:
        checks = [
            (self.backend in BACKENDS, f"backend must be one of {BACKENDS}, got {self.backend!r}"),
            (self.dtype in DTYPES, f"dtype must be one of {DTYPES}, got {self.dtype!r}"),
            (self.video_backend in VIDEO_BACKENDS, f"video_backend must be one of {VIDEO_BACKENDS}"),
            (
                self.temporal_rope in TEMPORAL_ROPE_MODES,
                f"temporal_rope must be one of {TEMPORAL_ROPE_MODES}",
            ),
            (self.temperature >= 0, f"temperature must be >= 0, got {self.temperature}"),
            (0 < self.top_p <= 1, f"top_p must be in (0, 1], got {self.top_p}"),
            (self.max_new_tokens >= 1, f"max_new_tokens must be >= 1, got {self.max_new_tokens}"),
            (
                self.batch_size is None or self.batch_size >= 1,
                f"batch_size must be >= 1, got {self.batch_size}",
            ),
            (
                self.tensor_parallel_size is None or self.tensor_parallel_size >= 1,
                f"tensor_parallel_size must be >= 1, got {self.tensor_parallel_size}",
            ),
            (self.max_model_len >= 1, f"max_model_len must be >= 1, got {self.max_model_len}"),
            (
                self.max_prompt_length is None or self.max_prompt_length >= 1,
                f"max_prompt_length must be >= 1, got {self.max_prompt_length}",
            ),
            (
                0 < self.gpu_memory_utilization <= 1,
                f"gpu_memory_utilization must be in (0, 1], got {self.gpu_memory_utilization}",
            ),
            (
                self.device is None or self.backend == "hf",
                "device applies to the hf backend only (vLLM places the model itself)",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def sampling(self) -> SamplingConfig:
        return SamplingConfig(
            temperature=self.temperature, top_p=self.top_p, max_new_tokens=self.max_new_tokens, seed=self.seed
        )

    def load_backend(self, preset: VisionPreset | str, batch_size: int, **engine_kwargs: Any):
        """The :mod:`video_r1.inference` backend these settings describe, for ``preset``."""
        if self.backend == "vllm":
            engine_kwargs = {
                "tensor_parallel_size": self.tensor_parallel_size,
                "max_model_len": self.max_model_len,
                "gpu_memory_utilization": self.gpu_memory_utilization,
                **engine_kwargs,
            }
        options = inference.BackendOptions(
            preset=get_preset(preset, video_backend=self.video_backend),
            sampling=self.sampling(),
            batch_size=batch_size,
            dtype=self.dtype,
            temporal_rope=self.temporal_rope,
        )
        backend = inference.load_backend(
            self.backend, self.model_name_or_path, options, device=self.device, **engine_kwargs
        )
        backend.max_prompt_length = self.prompt_limit()
        return backend

    def recorded_vision(self, given: str | None, default: str) -> tuple[str, int | None]:
        """The vision preset to decode with, and the frame cap the checkpoint trained with (or ``None``).

        ``given`` (the user's ``--vision_preset``) wins. Otherwise the preset recorded in the checkpoint's
        :data:`RUN_RECORD_NAME` (written by :mod:`video_r1.trainers.run_record`) is used, else ``default``. Evaluation
        passes ``default="eval"``: a checkpoint trained with the ``train`` preset (the paper's recipes) is
        evaluated with ``eval``, as the paper did; one trained with ``tiny`` (the demo, the CPU recipes) is
        evaluated with ``tiny``. :attr:`vision_note` says which and why, in one line.
        """
        self.vision_note = ""
        if given:
            return given, None
        record = read_run_record(self.model_name_or_path) or {}
        recorded = record.get("vision_preset")
        if recorded not in ("train", "eval", "tiny"):
            return default, None
        where = f"{self.model_name_or_path}/{RUN_RECORD_NAME}"
        if default == "eval" and recorded == "train":
            self.vision_note = (
                f"vision preset: eval (the paper's evaluation preset; {where} records training with 'train'); "
                "--vision_preset overrides"
            )
            return "eval", None
        frames = record.get("max_frames")
        frames = int(frames) if isinstance(frames, int) and frames >= 2 else None
        self.vision_note = (
            f"vision preset: {recorded}"
            + (f", max_frames {frames}" if frames else "")
            + f" (what the checkpoint was trained with, from {where}); --vision_preset overrides"
        )
        return recorded, frames

    def prompt_limit(self) -> int:
        """``max_prompt_length``, or what fits beside ``max_new_tokens`` in ``max_model_len``."""
        if self.max_prompt_length is not None:
            return self.max_prompt_length
        return max(1, self.max_model_len - self.max_new_tokens)
