"""``video-r1 sft``: the SFT cold start on Video-R1-COT-165k (``process + "\\n" + solution`` targets).

Arguments are the fields of :class:`SFTScriptArguments` and :class:`~video_r1.trainers.VideoSFTConfig`
(which extends TRL's ``SFTConfig``), read from a YAML recipe with ``--config`` and overridden on the
command line, as with TRL's own scripts::

    video-r1 sft --config configs/sft_video_7b.yaml --output_dir runs/sft
    accelerate launch --config_file configs/accelerate/zero2.yaml -m video_r1.cli.main sft --config ...

The output directory holds the model (with ``use_cache`` re-enabled in its config, as the original did),
the processor and its chat template, so it can be passed as ``--model_name_or_path`` to ``video-r1 grpo``.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

#: ``video-r1 sft ARGS`` hands ARGS to :func:`main` unparsed (TrlParser does the parsing).
PASSTHROUGH = True


@dataclass
class SFTScriptArguments:
    """Model and data arguments of ``video-r1 sft``."""

    model_name_or_path: str = field(
        default=None,
        metadata={
            "help": "Model to fine-tune: Qwen/Qwen2.5-VL-7B-Instruct (a local folder or a cached Hub id)."
        },
    )
    dataset_name: str = field(
        default=None,
        metadata={
            "help": "Training records with CoT: a Video-R1-COT-165k style JSON array or JSONL file (every "
            "record needs a non-empty 'process')."
        },
    )
    data_root: str | None = field(
        default=None,
        metadata={
            "help": "Folder that record paths ('./Source/...') resolve against (default: the JSON's folder)."
        },
    )
    data_types: list[str] | None = field(
        default=None,
        metadata={"help": "Keep only these data types, e.g. 'video'."},
    )
    data_sources: list[str] | None = field(
        default=None, metadata={"help": "Keep only these data sources (exact names or '/'-prefixes)."}
    )
    dtype: str | None = field(
        default=None,
        metadata={"help": "Model dtype: 'bfloat16', 'float32' or 'auto' (default: TRL's, float32)."},
    )
    attn_implementation: str | None = field(
        default=None,
        metadata={"help": "Attention kernel: 'flash_attention_2' (GPU, the original's), 'sdpa' or 'eager'."},
    )


def build_parser():
    from trl import TrlParser

    from video_r1.trainers import VideoSFTConfig

    return TrlParser((SFTScriptArguments, VideoSFTConfig), prog="video-r1 sft")


def register(subparsers: argparse._SubParsersAction) -> None:
    # Listed in `video-r1 --help`; `video-r1 sft --help` prints TrlParser's help with every field.
    subparsers.add_parser(
        "sft",
        help="SFT cold start on COT data (--config recipe.yaml plus --field value overrides; --help lists all)",
        add_help=False,
    )


def main(argv: list[str] | None = None) -> int:
    from video_r1.cli._training import apply_model_init_args, end_distributed_run
    from video_r1.data.records import load_records
    from video_r1.trainers import VideoSFTTrainer

    script_args, training_args = build_parser().parse_args_and_config(argv)
    if not script_args.model_name_or_path or not script_args.dataset_name:
        raise SystemExit("video-r1 sft: --model_name_or_path and --dataset_name are required")
    apply_model_init_args(script_args, training_args)

    dataset = load_records(
        script_args.dataset_name,
        script_args.data_root,
        data_types=script_args.data_types,
        data_sources=script_args.data_sources,
        require_process=True,
        seed=training_args.seed,
    )
    trainer = VideoSFTTrainer(model=script_args.model_name_or_path, args=training_args, train_dataset=dataset)
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    # Training runs with use_cache off (gradient checkpointing); the saved model is for generation, as the
    # original's `trainer.model.config.use_cache = True` before saving.
    trainer.model.config.use_cache = True
    trainer.save_model(training_args.output_dir)
    if trainer.accelerator.is_main_process:
        trainer.processing_class.save_pretrained(training_args.output_dir)
    end_distributed_run()
    return 0
