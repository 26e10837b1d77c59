"""Qwen2.5-VL: the names callers have always imported from here, now defined in three modules.

- :mod:`video_r1.models.qwen2_5_vl_positions`: placeholder tokens and the released M-RoPE positions
  (the module docstring explains the rule and why transformers 5.17's differs);
- :mod:`video_r1.models.checkpoint`: model-type checks (Qwen2.5-VL and Qwen3-VL are accepted), adapter
  folders, :func:`check_model_path`;
- :mod:`video_r1.models.family`: the model-family interface and :func:`load_model`.

New code should ask :func:`video_r1.models.family.family_for` for the checkpoint's family instead.
"""

from __future__ import annotations

from video_r1.models.checkpoint import (
    ADAPTER_CONFIG_NAME,
    LORA_TEXT_TARGET_MODULES,
    adapter_base,
    check_model_path,
    check_qwen2_5_vl_config,
    merge_command,
    processor_path,
)
from video_r1.models.family import load_model
from video_r1.models.qwen2_5_vl_positions import (
    IMAGE_KEYS,
    IMAGE_PAD,
    MODEL_TYPE,
    TOKEN_TYPE,
    VIDEO_KEYS,
    VIDEO_PAD,
    VISION_END,
    VISION_KEYS,
    VISION_PAD,
    VISION_PLACEHOLDER_TOKENS,
    VISION_START,
    collapse_pad_runs,
    install_released_mrope,
    media_position_ids,
    mm_token_type_ids,
    released_rope_index,
    round_second_per_grid_ts,
    uses_released_mrope,
    vision_placeholder_ids,
    vision_token_count,
    vision_token_ids,
)

__all__ = [
    "ADAPTER_CONFIG_NAME",
    "IMAGE_KEYS",
    "IMAGE_PAD",
    "LORA_TEXT_TARGET_MODULES",
    "MODEL_TYPE",
    "TOKEN_TYPE",
    "VIDEO_KEYS",
    "VIDEO_PAD",
    "VISION_END",
    "VISION_KEYS",
    "VISION_PAD",
    "VISION_PLACEHOLDER_TOKENS",
    "VISION_START",
    "adapter_base",
    "check_model_path",
    "check_qwen2_5_vl_config",
    "collapse_pad_runs",
    "install_released_mrope",
    "load_model",
    "media_position_ids",
    "merge_command",
    "mm_token_type_ids",
    "processor_path",
    "released_rope_index",
    "round_second_per_grid_ts",
    "uses_released_mrope",
    "vision_placeholder_ids",
    "vision_token_count",
    "vision_token_ids",
]
