"""``video-r1 sft``: the SFT cold start on Video-R1-COT-165k (``process + "\\n" + solution`` targets).

Arguments are the fields of :class:`~video_r1.cli._training.DataArguments`,
:class:`~video_r1.trainers.VideoSFTConfig` (which extends TRL's ``SFTConfig``) and
:class:`~video_r1.cli._training.ModelArguments` (TRL's ``ModelConfig``: model, dtype, attention and the
LoRA flags), read from a YAML recipe with ``--config`` and overridden on the command line, as with TRL's
own scripts::

    video-r1 sft --config configs/sft_video_7b.yaml --output_dir runs/sft
    accelerate launch --config_file configs/accelerate/zero2.yaml -m video_r1.cli.main sft --config ...

Every record needs a non-empty ``process`` (checked when the records are loaded). The output directory holds
the model (with ``use_cache`` re-enabled in its config, as the original did), the processor and its chat
template, so it can be passed as ``--model_name_or_path`` to ``video-r1 grpo``. With ``--use_peft`` it holds
a LoRA adapter instead of the model: ``video-r1 eval`` loads it as it is; ``video-r1 merge-lora`` turns it
into a full checkpoint for ``video-r1 grpo`` or vLLM.
"""

from __future__ import annotations


def build_parser():
    from video_r1.cli._training import build_parser
    from video_r1.trainers import VideoSFTConfig

    return build_parser("sft", VideoSFTConfig)


def main(argv: list[str] | None = None) -> int:
    from video_r1.cli._training import run_training
    from video_r1.trainers import VideoSFTConfig, VideoSFTTrainer

    return run_training(
        "sft", argv, VideoSFTConfig, VideoSFTTrainer, require_process=True, use_cache_on_save=True
    )
