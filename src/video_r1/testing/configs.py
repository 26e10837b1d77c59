"""Training configs for the tiny checkpoint on a CPU: one set of small settings for tests and benchmarks."""

from __future__ import annotations

from typing import Any

#: Settings every tiny CPU run shares (SFT and RL).
TINY_CPU_COMMON: dict[str, Any] = {
    "max_steps": 1,
    "learning_rate": 1e-2,
    "logging_steps": 1,
    "report_to": "none",
    "save_strategy": "no",
    "vision_preset": "tiny",
    "use_cpu": True,
    "bf16": False,
    "gradient_checkpointing": False,
    "seed": 0,
    "dataloader_num_workers": 0,
}

#: Added for GRPO configs: 2 prompts x 2 completions per device, one shuffled completion, 6 new tokens.
TINY_CPU_GRPO: dict[str, Any] = {
    "per_device_train_batch_size": 4,
    "num_generations": 2,
    "shuffled_num_generations": 1,
    "max_completion_length": 6,
}

#: Added for SFT configs.
TINY_CPU_SFT: dict[str, Any] = {"per_device_train_batch_size": 2}


def tiny_cpu_args(config_cls: type, output_dir: str, **overrides: Any):
    """``config_cls`` (``TGRPOConfig`` or ``VideoSFTConfig``) with the tiny CPU settings, then ``overrides``."""
    values = {**TINY_CPU_COMMON, "output_dir": str(output_dir)}
    values.update(TINY_CPU_GRPO if "num_generations" in config_cls.__dataclass_fields__ else TINY_CPU_SFT)
    values.update(overrides)
    return config_cls(**values)
