"""Trainers: T-GRPO on TRL's ``GRPOTrainer`` and the video SFT cold start on TRL's ``SFTTrainer``.

``VideoGRPOTrainer`` (``video_grpo_trainer.py``) is GRPO on video (media through every TRL stage, the length
bonus, the per-group rule); ``TGRPOTrainer`` (``tgrpo_trainer.py``) adds only the shuffled rollout and the
temporal contrast; both read ``TGRPOConfig`` (``tgrpo_config.py``) and hand a typed ``Rollout``
(``rollout.py``) between TRL's hooks; ``VideoSFTTrainer`` / ``VideoSFTConfig`` (``sft.py``) add a video collator.
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
from video_r1.trainers.video_grpo_trainer import VideoGRPOTrainer

__all__ = ["TGRPOConfig", "TGRPOTrainer", "VideoGRPOTrainer", "VideoSFTConfig", "VideoSFTTrainer"]
