"""Trainers: T-GRPO on TRL's GRPOTrainer (and, later, the SFT collator)."""

from video_r1.trainers.sft import VideoSFTConfig, VideoSFTTrainer
from video_r1.trainers.tgrpo_config import TGRPOConfig
from video_r1.trainers.tgrpo_trainer import TGRPOTrainer

__all__ = ["TGRPOConfig", "TGRPOTrainer", "VideoSFTConfig", "VideoSFTTrainer"]
