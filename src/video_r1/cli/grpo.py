"""``video-r1 grpo``: T-GRPO (``TGRPOTrainer``), or plain GRPO on video with ``--temporal false``
(``VideoGRPOTrainer``), on Video-R1-format data.

Arguments are the fields of :class:`~video_r1.cli._training.DataArguments`,
:class:`~video_r1.trainers.TGRPOConfig` (which extends TRL's ``GRPOConfig``) and
:class:`~video_r1.cli._training.ModelArguments` (TRL's ``ModelConfig``: model, dtype, attention and the
LoRA flags), read from a YAML recipe with ``--config`` and overridden on the command line, as with TRL's
own scripts::

    video-r1 grpo --config configs/grpo_video_7b.yaml --output_dir runs/grpo --max_steps 1000
    video-r1 grpo --config configs/grpo_tiny_cpu.yaml --use_peft --lora_r 16     # a LoRA adapter
    accelerate launch --config_file configs/accelerate/zero3.yaml -m video_r1.cli.main grpo --config ...
"""

from __future__ import annotations


def build_parser():
    from video_r1.cli._training import build_parser
    from video_r1.trainers import TGRPOConfig

    return build_parser("grpo", TGRPOConfig)


def main(argv: list[str] | None = None) -> int:
    from video_r1.cli._training import run_training
    from video_r1.trainers import TGRPOConfig, TGRPOTrainer, VideoGRPOTrainer

    def build_trainer(**kwargs):
        """T-GRPO when ``temporal`` is on, plain GRPO on video otherwise."""
        return (TGRPOTrainer if kwargs["args"].temporal else VideoGRPOTrainer)(**kwargs)

    return run_training("grpo", argv, TGRPOConfig, build_trainer)
