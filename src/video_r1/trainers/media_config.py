"""Data and vision fields shared by :class:`~video_r1.trainers.TGRPOConfig` and ``VideoSFTConfig``."""

from __future__ import annotations

from dataclasses import dataclass, field

from video_r1.data.vision import PRESETS, TEMPORAL_ROPE_MODES, VIDEO_BACKENDS, VisionPreset, get_preset
from video_r1.models.family import ModelFamily


@dataclass
class MediaConfigMixin:
    """How records' media are decoded and handed to the processor (same names in the SFT and RL recipes)."""

    vision_preset: str = field(
        default="train",
        metadata={
            "help": "Vision preset of video_r1.data.vision: 'train' (the original's), 'eval' or 'tiny'."
        },
    )
    max_frames: int | None = field(
        default=None, metadata={"help": "Override the preset's frame cap (the train preset uses 16)."}
    )
    video_backend: str | None = field(
        default=None, metadata={"help": "Video reader: 'decord' (preset default) or 'pyav'."}
    )
    temporal_rope: str = field(
        default="sampled_fps",
        metadata={
            "help": "'sampled_fps': pass the real sampled fps so second_per_grid_ts is the true frame "
            "spacing; 'fixed_2fps': the original's training behaviour (always 1.0 s per temporal patch)."
        },
    )
    on_bad_media: str = field(
        default="error",
        metadata={
            "help": "'error': a missing/unreadable/truncated file raises MediaError naming problem_id and "
            "path; 'skip': drop the record, log it to <output_dir>/skipped_media.jsonl, use the next one."
        },
    )

    def resolved_preset(self, family: ModelFamily | None = None) -> VisionPreset:
        """The vision preset with this config's overrides (``max_frames``, ``video_backend``) applied: the one
        object that travels from the config to the decoder. With a model ``family``
        (:func:`~video_r1.models.family.family_for`), frame and image sides are multiples of its
        ``size_factor`` (28 for Qwen2.5-VL, as before; 32 for Qwen3-VL and Qwen3.5)."""
        return get_preset(
            self.vision_preset,
            max_frames=self.max_frames,
            video_backend=self.video_backend,
            size_factor=family.size_factor if family is not None else None,
        )

    def check_media_fields(self) -> None:
        """Validate the fields above (called from the configs' ``__post_init__``)."""
        if self.vision_preset not in PRESETS:
            raise ValueError(f"vision_preset must be one of {sorted(PRESETS)}, got {self.vision_preset!r}")
        if self.max_frames is not None and self.max_frames < 2:
            raise ValueError(f"max_frames must be >= 2, got {self.max_frames}")
        if self.video_backend is not None and self.video_backend not in VIDEO_BACKENDS:
            raise ValueError(f"video_backend must be one of {VIDEO_BACKENDS}, got {self.video_backend!r}")
        if self.temporal_rope not in TEMPORAL_ROPE_MODES:
            raise ValueError(
                f"temporal_rope must be one of {TEMPORAL_ROPE_MODES}, got {self.temporal_rope!r}"
            )
        if self.on_bad_media not in ("error", "skip"):
            raise ValueError(f"on_bad_media must be 'error' or 'skip', got {self.on_bad_media!r}")
