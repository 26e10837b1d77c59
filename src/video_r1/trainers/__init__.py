"""Trainers: T-GRPO on TRL's ``GRPOTrainer`` and the video SFT cold start on TRL's ``SFTTrainer``.

``TGRPOTrainer`` / ``TGRPOConfig`` (``tgrpo_trainer.py``, ``tgrpo_config.py``) add video, shuffled rollouts and
the temporal and length bonuses; ``VideoSFTTrainer`` / ``VideoSFTConfig`` (``sft.py``) add a video collator.
Shared pieces: ``media_config.py`` and ``steps.py`` (config fields of both), ``common.py`` (the trainers' common
start and media decoding step), ``run_folder.py`` (an output folder holding a run needs an explicit resume or
overwrite), ``checkpoint.py`` (resume with the model's key mapping), ``lora.py`` (LoRA target defaults and
checks), ``library_contract.py`` (the TRL / transformers internals they rely on). Qwen2.5-VL internals (the
shared-vision forward, M-RoPE positions) live in :mod:`video_r1.models`, the vLLM plumbing in
:mod:`video_r1.vllm`.
"""

from video_r1.trainers.sft import VideoSFTConfig, VideoSFTTrainer
from video_r1.trainers.tgrpo_config import TGRPOConfig
from video_r1.trainers.tgrpo_trainer import TGRPOTrainer

__all__ = ["TGRPOConfig", "TGRPOTrainer", "VideoSFTConfig", "VideoSFTTrainer"]
